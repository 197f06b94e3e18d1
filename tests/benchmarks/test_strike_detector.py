"""The ``strike`` detector on headlines we labeled by reading them: recall and false-positive rate.

``strike_labels.yaml`` says how the 460 headlines were drawn and labeled, and
splits them: the detector was written on the ``tune`` half only; the figures
that count are the ``held`` half's. The shipped ``air-raid`` building block is
measured beside it, the baseline it replaces for strikes.

    pytest tests/benchmarks/test_strike_detector.py -m benchmark -s
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.store import MemoryStore
from monitor.loading import load_detectors

pytestmark = pytest.mark.benchmark

HERE = Path(__file__).parent
REPO = HERE.parents[1]
RECALL_MIN = 0.85  # the bar for real reports of strikes
FALSE_POSITIVE_MAX = 0.05


def rates(document: Path, detector_id: str, split: str) -> tuple[float, float, int, int]:
    """(recall, false-positive rate, positives, negatives) of one detector on one split."""
    doc = load_detectors(document)
    engine = Engine(list(doc.detectors), {e.id: e for e in doc.entities}, "bench", None)
    entries: list[dict[str, Any]] = yaml.safe_load((HERE / "strike_labels.yaml").read_text())
    found = {True: 0, False: 0}
    total = {True: 0, False: 0}
    for n, entry in enumerate(e for e in entries if e["split"] == split):
        # each headline alone, a day apart: no sequence or cooldown couples them
        article = ArticleContext(id=f"h{n}", title=entry["title"], at=1e9 + n * 86400.0, story_id=f"h{n}")
        total[entry["strike"]] += 1
        found[entry["strike"]] += detector_id in engine.evaluate(article, MemoryStore()).found
    return found[True] / total[True], found[False] / total[False], total[True], total[False]


def test_strike_detector_on_the_held_half(record_result) -> None:  # type: ignore[no-untyped-def]
    figures: dict[str, Any] = {}
    for name, document, detector_id in (
        ("strike", REPO / "examples" / "detectors.yaml", "strike"),
        ("air_raid_block", REPO / "examples" / "detectors.yaml", "air-raid"),
    ):
        for split in ("tune", "held"):
            recall, false_positives, positives, negatives = rates(document, detector_id, split)
            figures[f"{name}_{split}_recall"] = round(recall, 3)
            figures[f"{name}_{split}_false_positive_rate"] = round(false_positives, 3)
            figures[f"{split}_positives"], figures[f"{split}_negatives"] = positives, negatives
    record_result("strike_detector", **figures)
    assert figures["strike_held_recall"] >= RECALL_MIN, figures
    assert figures["strike_held_false_positive_rate"] <= FALSE_POSITIVE_MAX, figures
