"""What the full text adds to detection: the shipped detectors on labeled reports, feed text vs page.

Run: ``WIREWATCH_GUARDIAN_NATO=…/guard-articles-nato.csv pytest tests/benchmarks/test_fulltext_detection.py
-m benchmark -s``
(the CSV of inhaltone/132DOW @ d3b3904: 250 Guardian articles, Feb–Jul 2022, headline and body; not in
this repository, its text is the Guardian's). The labels are ours, made by reading every article
(``fulltext_labels_guardian.yaml``): does it report a strike, a prisoner exchange, a ceasefire development.

Each article is evaluated alone (a fresh state, its own story) three ways: the headline only (what
BBC's and YouTube's feeds carry), the headline and its lead paragraph (a feed with a teaser; the CSV
has lost paragraph breaks, its text before the first double space stands in), and the headline,
lead and whole page (what the full-text step gives). Detectors: `strike` and `prisoner-exchange`
(alerting), and the `ceasefire` building block (the topic `new-ceasefire-term` watches). Live blogs
and roundups, which mention everything, are reported apart.
"""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.store import MemoryStore
from monitor.demo import DEMO_DIR
from monitor.loading import load_detectors

pytestmark = pytest.mark.benchmark

LABELS = Path(__file__).parent / "fulltext_labels_guardian.yaml"
CSV_ENV = "WIREWATCH_GUARDIAN_NATO"
DETECTORS = {"strike": "strike", "prisoner_exchange": "prisoner-exchange", "ceasefire": "ceasefire"}
VARIANTS = ("headline", "headline+lead", "full text")


def _texts(row: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    text = row["Text"].strip()
    lead = text.split("  ", 1)[0].strip()
    return {
        "headline": (row["Heading"], "", ""),
        "headline+lead": (row["Heading"], lead, ""),
        # the extractor gives a paragraph per line; the CSV's paragraph breaks are double spaces
        "full text": (row["Heading"], lead, "\n".join(p.strip() for p in text.split("  ") if p.strip())),
    }


def test_what_the_page_adds_to_the_shipped_detectors(record_result) -> None:  # type: ignore[no-untyped-def]
    source = os.environ.get(CSV_ENV)
    if not source or not Path(source).is_file():
        pytest.skip(f"set {CSV_ENV} to 132DOW's guard-articles-nato.csv")
    labels = {entry["url"]: entry for entry in yaml.safe_load(LABELS.read_text(encoding="utf-8"))}
    with open(source, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["Text"].strip() and r["Article Url"] in labels]
    assert len(rows) == len(labels)
    document = load_detectors(DEMO_DIR.parent / "detectors.yaml")
    engine = Engine(
        list(document.detectors), {e.id: e for e in document.entities}, document.content_version()
    )
    now = datetime(2022, 6, 1, tzinfo=UTC).timestamp()
    found: dict[str, dict[str, set[str]]] = {v: {} for v in VARIANTS}
    for row in rows:
        for variant, (title, summary, content) in _texts(row).items():
            article = ArticleContext(
                id=row["Article Url"],
                title=title,
                summary=summary,
                content=content,
                at=now,
                story_id=row["Article Url"],
                language="en",
            )
            outcome = engine.evaluate(article, MemoryStore())
            found[variant][row["Article Url"]] = set(outcome.found)
    figures: dict[str, Any] = {
        "articles": len(rows),
        "liveblogs": sum(1 for r in rows if labels[r["Article Url"]]["liveblog"]),
    }
    for group in ("reports", "liveblogs"):
        urls = [
            r["Article Url"] for r in rows if labels[r["Article Url"]]["liveblog"] == (group == "liveblogs")
        ]
        for label, detector in DETECTORS.items():
            truth = {u for u in urls if labels[u][label]["label"]}
            per: dict[str, Any] = {"labeled": len(truth)}
            for variant in VARIANTS:
                hits = {u for u in urls if detector in found[variant][u]}
                tp, fp = len(hits & truth), len(hits - truth)
                per[variant] = {
                    "caught": tp,
                    "false": fp,
                    "recall": round(tp / len(truth), 3) if truth else None,
                    "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                }
            before = {u for u in urls if detector in found["headline+lead"][u]} & truth
            after = {u for u in urls if detector in found["full text"][u]} & truth
            per["caught_only_with_the_page"] = len(after - before)
            figures[f"{group}:{label}"] = per
            print(group, label, per)
    record_result("fulltext_detection", **figures)
    # the page must add reports the feed's text misses (what the step is for)
    gained = sum(figures[f"reports:{label}"]["caught_only_with_the_page"] for label in DETECTORS)
    assert gained > 0, figures
