"""Detect stage cost with 100 configured detectors, on RUWA's 15,000 real war headlines.

Run: ``pytest tests/benchmarks/test_detect_bench.py -m benchmark -s`` (part of ``make bench``).

The 100 detectors mix every kind the way a real deployment would: 40 keyword
queries, 15 entity watches (with gazetteer places), 10 semantic (real MiniLM
vectors from the per-machine cache), 10 sequences joined on countries, 10
novelty (5 on term lists, 5 on YAKE key phrases), 5 bursts, 10 compositions.
Each article goes through what the stage does: its ``ArticleContext``, the
engine over a state store that buffers writes and flushes them as JSON every
256 articles (the changelog table's encoding), and the alert records. The
model loads before the clock starts; the gazetteer is built before it too,
and the long-lived objects are frozen out of the collector's way as the
worker does (``streams.heap``). Each article's context is built inside the
timed loop, as the stage builds it.
Target: 2,000 articles/s on one core, so detection never limits the sequencer.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.gazetteer import Gazetteer
from monitor.config import DetectorsDocument
from streams.agents.detect import alert_record
from streams.heap import settle
from streams.tableviews import BufferedView, TableView

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1800), pytest.mark.model]

TARGET = 2000.0
BATCH = 256

PLACES = [
    "Kyiv",
    "Kharkiv",
    "Odesa",
    "Mariupol",
    "Kherson",
    "Lviv",
    "Donetsk",
    "Luhansk",
    "Zaporizhzhia",
    "Dnipro",
]
TERMS = [
    "missile", "drone", "shelling", "sanctions", "grain", "gas", "nuclear", "refugees", "tanks", "NATO",
    "ceasefire", "talks", "prisoners", "energy", "blackout", "evacuation", "counteroffensive", "mobilisation",
    "referendum", "annexation",
]  # fmt: skip


def document() -> DetectorsDocument:
    entities = [
        {"id": "zelensky", "names": ["Zelenskyy", "Zelensky", "Зеленськ*"], "country": "UA"},
        {"id": "putin", "names": ["Putin", "Путін*", "Путин*"], "country": "RU"},
        {"id": "biden", "names": ["Biden"], "country": "US"},
        {"id": "scholz", "names": ["Scholz"], "country": "DE"},
        {"id": "macron", "names": ["Macron"], "country": "FR"},
        *({"id": p.lower(), "names": [p], "place": True} for p in PLACES),
    ]
    detectors: list[dict[str, Any]] = []
    for i in range(40):
        a, b, c = TERMS[i % 20], TERMS[(i * 7 + 3) % 20], PLACES[i % 10]
        query = [
            f'{a} AND ({b} OR "{c}")',
            f"{a} NEAR/5 {b}",
            f'"{a}" OR {b}* NOT {c}',
            f"({a} OR {b}) AND {c}",
        ][i % 4]
        detectors.append({"id": f"kw{i}", "kind": "keyword", "query": query, "alert": i % 2 == 0})
    for i in range(15):
        ids = [e["id"] for e in entities]
        detectors.append(
            {"id": f"ent{i}", "kind": "entity", "entities": [ids[i % len(ids)], ids[(i + 3) % len(ids)]],
             "match": "all" if i % 3 == 0 else "any", "group_by": "story"}
        )  # fmt: skip
    for i in range(10):
        detectors.append(
            {"id": f"sem{i}", "kind": "semantic", "threshold": 0.55,
             "examples": [f"{TERMS[i]} attack on {PLACES[i]}", f"talks about {TERMS[i + 10]}"]}
        )  # fmt: skip
    for i in range(10):
        detectors.append(
            {"id": f"seq{i}", "kind": "sequence", "first": f"kw{2 * i + 1}", "then": f"kw{(2 * i + 5) % 40}",
             "within": "6h", "join": "country", "group_by": "key", "cooldown": "6h"}
        )  # fmt: skip
    for i in range(10):
        novelty: dict[str, Any] = {"id": f"nov{i}", "kind": "novelty", "topic": f"kw{i * 4}", "history": "7d"}
        if i < 5:
            novelty["terms"] = TERMS[i : i + 8]
        else:
            novelty["extract"] = "yake"
        detectors.append(novelty)
    for i in range(5):
        detectors.append(
            {"id": f"burst{i}", "kind": "burst", "match": f"ent{i}", "count": "sources", "window": "1h",
             "baseline": "24h", "min_count": 4}
        )  # fmt: skip
    for i in range(10):
        kind = "all" if i % 2 == 0 else "any"
        detectors.append(
            {"id": f"comp{i}", "kind": kind, "of": [f"kw{i}", f"ent{i}", f"sem{i}"][: 2 + i % 2]}
        )
    return DetectorsDocument.model_validate({"entities": entities, "detectors": detectors})


class MemoryTable(dict[bytes, bytes]):
    """A stand-in for the changelog table's store: bytes in, bytes out, as RocksDB holds them."""

    name = "detector-state"

    @property
    def data(self) -> MemoryTable:
        return self


def test_detect_stage_with_100_detectors(record_result) -> None:  # type: ignore[no-untyped-def]
    from monitor.config import EmbedConfig
    from streams.embedder import Embedder
    from tests.embedding_cache import cached_vectors
    from tests.unit.streams.dedup.test_dedup_quality import ruwa

    articles, _ = ruwa()
    vectors = cached_vectors([a.text_for_embedding() for a in articles], label="ruwa")
    doc = document()
    assert len(doc.detectors) == 100
    Gazetteer.shared().book  # noqa: B018 — built before the clock, as a worker does at its first article
    engine = Engine(
        list(doc.detectors), {e.id: e for e in doc.entities}, "bench", Embedder(EmbedConfig()).encode
    )
    settle("building the detectors")  # as the stage does
    table = MemoryTable()
    view = BufferedView(TableView(table, str.encode, lambda v: json.dumps(v).encode(), json.loads), 20_000)
    alerts = matches = 0
    latencies = []
    started = time.perf_counter()
    for n, (a, v) in enumerate(zip(articles, vectors, strict=True)):
        t = time.perf_counter()
        ctx = ArticleContext(  # per article, as the stage builds it (and drops it)
            id=a.id, title=a.title, summary=a.summary, source=a.source, url=a.url,
            at=a.published_at.timestamp(), published_at=a.published_at.isoformat(),
            story_id=f"s{n // 3}", vector=v,
        )  # fmt: skip
        outcome = engine.evaluate(ctx, view)
        for firing in outcome.firings:
            alert_record(firing, ctx, "bench").encode()
        alerts += len(outcome.firings)
        matches += len(outcome.found)
        if n % BATCH == BATCH - 1:
            view.flush()
        latencies.append(time.perf_counter() - t)
        if n % 2000 == 1999:
            print(
                f"  {n + 1}/{len(articles)} articles, {(n + 1) / (time.perf_counter() - started):.0f}/s",
                flush=True,
            )
    view.flush()
    took = time.perf_counter() - started
    rate = len(articles) / took
    latencies.sort()
    record_result(
        "detect_100_detectors",
        articles=len(articles),
        detectors=len(doc.detectors),
        articles_per_s=round(rate),
        p50_ms=round(latencies[len(latencies) // 2] * 1000, 3),
        p99_ms=round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
        matches=matches,
        alerts=alerts,
        state_keys=len(table),
        state_bytes=sum(len(v) for v in table.values()),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    assert rate >= TARGET, f"{rate:.0f} articles/s with 100 detectors (target {TARGET:.0f})"
