"""Precision of the shipped detectors on RUWA's real war headlines, against labels made by reading.

Run: ``pytest tests/benchmarks/test_detector_precision.py -m benchmark -s`` (part of ``make bench``).

The labels and how they were made are in ``ruwa_detector_labels.yaml``. The
run prints, per detector, how many alerts RUWA gives and the precision on every
labeled alert among them (at least the sample of 25); an alert of the sample that the labels do not know (the
detectors changed) is listed so it can be read and labeled, and the test
fails until it is. Bounds: the measured figures.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.store import MemoryStore
from monitor.loading import load_detectors
from tests.unit.streams.dedup.test_dedup_quality import ruwa

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
LABELS = Path(__file__).with_name("ruwa_detector_labels.yaml")
# Each bound is the figure measured on every alert read so far (session 14):
# - prisoner-exchange: 0.67 on the 43 alerts read before keywords matched inflections (unchanged);
#   21 more read when the sample moved were 11 true, so on all 64 read it is 0.62;
# - air-raid-after-call: `then: strike` since session 14 (146 alerts, was 14 with the air-raid
#   block); 0.42 on 31 read: the misses are calls that were not leaders' calls, and statements;
# - strike: 0.70 on 79 read (0.72 on the first 25); day-long counts are not a strike report.
# - prisoner-exchange, session 31: `same_event: [prisoners]` holds a report whose count an alert
#   already gave; the 10 it held were repeats of real exchanges (6 of them read: all true), so on the
#   same reading per-alert precision falls 0.62 -> 0.59 with no false alert added; the 15 alerts the
#   sample moved to were 7 true: 0.56 on all 73 read.
MEASURED = {"prisoner-exchange": 0.56, "air-raid-after-call": 0.42, "znpp-watch": 0.98, "strike": 0.70}
SAMPLE = 25


def test_shipped_detectors_precision_on_ruwa(record_result) -> None:  # type: ignore[no-untyped-def]
    document = load_detectors(REPO / "examples" / "detectors.yaml")
    engine = Engine(
        list(document.detectors), {e.id: e for e in document.entities}, document.content_version()
    )
    store = MemoryStore()
    fired: dict[str, list[tuple[str, str]]] = {}
    articles, _ = ruwa()
    for a in articles:
        ctx = ArticleContext(
            id=a.id, title=a.title, summary=a.summary, source=a.source,
            at=a.published_at.timestamp(), published_at=a.published_at.isoformat(), story_id=a.id,
        )  # fmt: skip
        for firing in engine.evaluate(ctx, store).firings:
            fired.setdefault(firing.spec.id, []).append((a.id, a.title))
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    unlabeled = []
    figures = {}
    for detector_id, alerts in sorted(fired.items()):
        sample = random.Random(7).sample(alerts, min(SAMPLE, len(alerts)))  # per detector: order-free
        known = labels.get(detector_id, {})
        unlabeled += [(detector_id, aid, title) for aid, title in sample if aid not in known]
        # every labeled alert the detectors still give, not only this sample: labels made for
        # earlier versions of a detector keep counting, so a change is judged on more reading
        judged = [known[aid] for aid, _ in alerts if aid in known]
        precision = sum(judged) / len(judged) if judged else 0.0
        figures[detector_id] = {
            "alerts": len(alerts),
            "sampled": len(judged),
            "precision": round(precision, 2),
        }
        print(f"  {detector_id}: {len(alerts)} alerts, precision {precision:.2f} on {len(judged)} read")
    record_result("detector_precision_ruwa", headlines=len(articles), **figures)
    assert not unlabeled, "read and label these alerts in ruwa_detector_labels.yaml:\n" + "\n".join(
        f"  {d}: {aid}: {title}" for d, aid, title in unlabeled
    )
    for detector_id, floor in MEASURED.items():
        assert figures[detector_id]["precision"] >= floor - 0.01, (detector_id, figures[detector_id])
