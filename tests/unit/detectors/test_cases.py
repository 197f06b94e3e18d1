"""Data-driven detector cases: each YAML file in ``detector_cases/`` states its detectors, its
articles (in arrival order) and the alerts it expects — exactly those, in that order, so
every article not listed is a negative that must stay quiet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from detectors.base import ArticleContext
from detectors.durations import parse_duration
from detectors.engine import Engine
from detectors.store import MemoryStore
from monitor.config import DetectorsDocument

CASES = sorted((Path(__file__).parent / "detector_cases").glob("*.yaml"))
T0 = 1_742_284_800.0  # 2025-03-18 08:00 UTC


def article(raw: dict[str, Any]) -> ArticleContext:
    return ArticleContext(
        id=raw["id"],
        revision=raw.get("revision", 0),
        title=raw.get("title", ""),
        summary=raw.get("summary", ""),
        content=raw.get("content", ""),
        source=raw.get("source", "test"),
        at=T0 + parse_duration(raw.get("at", "0s")),
        decision=raw.get("decision", "first"),
        duplicate_of=raw.get("duplicate_of"),
        story_id=raw.get("story", f"story-{raw['id']}"),
        language=raw.get("language"),
    )


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a subset of ``actual`` (dicts by key, everything else equal)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    return bool(actual == expected)


def run(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    document = DetectorsDocument.model_validate({k: raw[k] for k in ("entities", "detectors") if k in raw})
    engine = Engine(list(document.detectors), {e.id: e for e in document.entities})
    store = MemoryStore()
    fired = []
    for item in raw["articles"]:
        ctx = article(item)
        outcome = engine.evaluate(ctx, store)
        assert not outcome.errors, outcome.errors
        for firing in outcome.firings:
            fired.append(
                {
                    "detector": firing.spec.id,
                    "article": ctx.id,
                    "related": [r["id"] for r in firing.finding.related],
                    "evidence": firing.finding.evidence,
                    "alert_id": firing.alert_id,
                }
            )
    return fired, raw["expect"]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    fired, expected = run(path)
    assert [(f["detector"], f["article"]) for f in fired] == [(e["detector"], e["article"]) for e in expected]
    for got, want in zip(fired, expected, strict=True):
        if "related" in want:
            assert got["related"] == want["related"]
        assert contains(got["evidence"], want.get("evidence", {})), (want, got["evidence"])


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_alert_ids_are_the_same_on_a_rerun(path: Path) -> None:
    first, _ = run(path)
    second, _ = run(path)
    assert [f["alert_id"] for f in first] == [f["alert_id"] for f in second]
    assert len({f["alert_id"] for f in first}) == len(first)


def test_there_are_cases_for_every_kind() -> None:
    kinds = {d["kind"] for p in CASES for d in yaml.safe_load(p.read_text(encoding="utf-8"))["detectors"]}
    assert kinds >= {"keyword", "entity", "sequence", "novelty", "burst", "all"}
