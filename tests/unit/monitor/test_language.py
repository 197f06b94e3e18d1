"""Language identification from an article's own text (``monitor.language``), and where it lands.

The cases in ``language_cases/headlines.yaml`` state their own expectation, as
feedparser's fixtures do: Ukrainian and Russian versions of the same headline,
English titles that fool fastText alone, a clearly foreign report, no letters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import PollingConfig
from monitor.feedcheck import check_body, language_cell
from monitor.language import detect_language
from tests.factories import article

CASES_FILE = Path(__file__).parent / "language_cases" / "headlines.yaml"
CASES = yaml.safe_load(CASES_FILE.read_text("utf-8"))["cases"]
DEFAULT_EXPECTED = PollingConfig().languages


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_each_headline_is_read_as_its_language(case: dict[str, Any]) -> None:
    guess = detect_language(case["text"], case.get("expected", DEFAULT_EXPECTED), case.get("declared"))
    if case["expect"] is None:
        assert guess is None
    else:
        assert guess is not None
        assert guess.code == case["expect"]
        assert 0.0 < guess.probability <= 1.0


def test_the_default_expected_languages_are_the_war_reporting_ones() -> None:
    assert set(DEFAULT_EXPECTED) == {"en", "uk", "ru"}


UKRAINIAN_FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>Київський вісник</title><language>ru</language>
<item><title>У Києві оголошено повітряну тривогу після розмови Трампа і Путіна</title>
<link>https://visnyk.example/tryvoha</link><pubDate>Tue, 18 Mar 2025 19:05:00 GMT</pubDate>
<description>Тривога тривала понад годину, вибухів не чули.</description></item>
<item><title>Air raid alert in Kyiv after the call</title><link>https://visnyk.example/en/alert</link>
<pubDate>Tue, 18 Mar 2025 19:06:00 GMT</pubDate></item>
</channel></rss>""".encode()


def test_a_feed_declaring_the_wrong_language_keeps_it_beside_the_detected_one() -> None:
    report = check_body(
        UKRAINIAN_FEED, {"content-type": "application/rss+xml"}, "https://visnyk.example/rss", PollingConfig()
    )
    ukrainian, english = (p.article for p in report.published)
    assert (ukrainian.language, ukrainian.detected_language, ukrainian.lang) == ("ru", "uk", "uk")
    assert (english.language, english.detected_language) == ("ru", "en")
    assert ukrainian.language_probability is not None
    assert ukrainian.language_probability > 0.5
    notes = report.published[0].notes
    assert "declared language ru, the text reads as uk" in notes
    assert language_cell(ukrainian).startswith("uk 0.")
    assert language_cell(ukrainian).endswith("(declared ru)")


def test_an_article_from_before_detection_falls_back_to_the_declared_base_language() -> None:
    old = article(language="en-GB")
    assert old.detected_language is None
    assert old.lang == "en"
    assert article().lang is None
