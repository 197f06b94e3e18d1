"""The shipped int8 calibration texts are the rule's draw from the corpora, and real news."""

from __future__ import annotations

from streams.calibration import PER_CORPUS, calibration_texts, draw
from tests.feed_server import SHARED


def test_the_shipped_texts_are_the_draw_from_the_corpora() -> None:
    assert (SHARED / "corpus").exists(), f"the corpora are missing at {SHARED} (set WIREWATCH_SHARED)"
    assert calibration_texts() == draw(SHARED)


def test_the_texts_are_titled_news_of_many_lengths() -> None:
    texts = calibration_texts()
    assert len(texts) == 2 * PER_CORPUS
    assert len(set(texts)) >= len(texts) - 2  # BBC 2005 holds a few identical articles
    assert all("\n" in t and t.split("\n", 1)[0].strip() for t in texts), "a title, then the lead"
    words = sorted(len(t.split()) for t in texts)
    assert words[0] >= 5
    assert words[-1] > 2 * words[len(words) // 10], "short wire items and a page's lead alike"
