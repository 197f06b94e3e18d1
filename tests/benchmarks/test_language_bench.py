"""Language identification on real news: accuracy per language and the cost per text.

Sets: NTREX-128's 1,997 aligned sentences and 123 headlines in en, uk and ru
(``WIREWATCH_NTREX_DIR``, see ``tests/benchmarks/ntrex.py``), and 2,000 random
RUWA titles (``../shared``), which are English but some Censor.NET titles mix
in Ukrainian. The detector is the shipped one, with the default expected
languages. Run: ``pytest tests/benchmarks/test_language_bench.py -m benchmark -s``.
"""

from __future__ import annotations

import csv
import random
import resource
import time
from collections import Counter
from typing import Any

import pytest

from monitor.config import PollingConfig
from monitor.language import detect_language
from tests.benchmarks.ntrex import load_ntrex
from tests.feed_server import SHARED

pytestmark = pytest.mark.benchmark


def score(items: list[tuple[str, str]]) -> dict[str, Any]:
    expected = PollingConfig().languages
    detect_language("warm up", expected)
    errors: Counter[tuple[str, str]] = Counter()
    started = time.perf_counter()
    for language, text in items:
        guess = detect_language(text, expected)
        found = guess.code if guess else "none"
        if found != language:
            errors[(language, found)] += 1
    elapsed = time.perf_counter() - started
    per_language = {
        lang: round(1 - sum(n for (want, _), n in errors.items() if want == lang) / total, 4)
        for lang, total in Counter(lang for lang, _ in items).items()
    }
    return {
        "texts": len(items),
        "accuracy": round(1 - sum(errors.values()) / len(items), 4),
        "per_language": per_language,
        "us_per_text": round(elapsed / len(items) * 1e6, 1),
        "errors": {f"{want}->{got}": n for (want, got), n in errors.most_common(6)},
    }


def ruwa_titles(count: int = 2000) -> list[tuple[str, str]]:
    with (SHARED / "corpus" / "ruwa-ukraine-war-headlines.csv").open(newline="", encoding="utf-8") as f:
        titles = [row["title"] for row in csv.DictReader(f) if row["title"].strip()]
    return [("en", t) for t in random.Random(7).sample(titles, count)]


def test_language_id_on_real_news(record_result) -> None:  # type: ignore[no-untyped-def]
    ruwa = score(ruwa_titles())
    ntrex = load_ntrex()
    lines = score([(lang, text) for lang, texts in ntrex.lines.items() for text in texts])
    heads = score([(lang, ntrex.lines[lang][i]) for lang in ntrex.lines for i in ntrex.headlines])
    record_result(
        "language_id",
        ntrex_lines=lines,
        ntrex_headlines=heads,
        ruwa_titles=ruwa,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    )
    assert lines["accuracy"] > 0.95  # a sanity floor: the measured figure is printed and saved
