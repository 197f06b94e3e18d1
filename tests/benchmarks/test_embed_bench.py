"""Embed stage throughput against the raw model on the same texts, same batch size, same run.

Run: ``pytest tests/benchmarks/test_embed_bench.py -m benchmark -s`` (part of ``make bench``).
Knob: ``WIREWATCH_BENCH_EMBED_ARTICLES`` (2000).

First the ceiling: the model alone (``Embedder.encode``, the default backend) on the
articles' texts in this process, in batches of ``embed.batch_size``. Then the stage: the same articles
on the raw topic of the real broker, an embed-only worker (the same batch
size), its rate taken from the Kafka timestamps of the first and last enriched
records (the model load before the first batch is not counted; the first
batch is excluded on both sides). The two never run at the same time; the
broker runs throughout, as it would in production.
"""

from __future__ import annotations

import asyncio
import csv
import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import EmbedConfig
from streams.admin import ensure_topics
from streams.records import Article, EnrichedArticle
from streams.topics import Topics
from tests.feed_server import SHARED
from tests.kafka_helpers import produce, read_all

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(3600)]

ARTICLES = int(os.environ.get("WIREWATCH_BENCH_EMBED_ARTICLES", "2000"))
BATCH = 32


def ag_news_articles(n: int) -> list[Article]:
    with (SHARED / "corpus" / "ag-news-test.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1 : n + 1]
    t0 = datetime(2025, 3, 18, tzinfo=UTC)
    return [
        Article(
            id=f"ag-{i}",
            feed_id="ag",
            source="AG News",
            url=f"https://ag.example/{i}",
            canonical_url=f"https://ag.example/{i}",
            title=title,
            summary=description.replace("\\", " "),
            published_at=t0 + timedelta(seconds=i),
            fetched_at=t0 + timedelta(seconds=i),
        )
        for i, (_label, title, description) in enumerate(rows)
    ]


def test_embed_stage_against_raw_encode(wirewatch_config, worker_factory, record_result) -> None:  # type: ignore[no-untyped-def]
    from streams.embedder import Embedder

    articles = ag_news_articles(ARTICLES)
    texts = [a.text_for_embedding() for a in articles]
    embedder = Embedder(EmbedConfig(batch_size=BATCH))
    embedder.encode(texts[:BATCH])  # warm up
    started = time.perf_counter()
    for i in range(BATCH, len(texts), BATCH):  # the first batch is skipped, as on the stage side
        embedder.encode(texts[i : i + BATCH])
    raw_rate = (len(texts) - BATCH) / (time.perf_counter() - started)
    del embedder

    config = wirewatch_config(worker={"stages": ["embed"]}, pipeline={"embed": {"batch_size": BATCH}})
    asyncio.run(ensure_topics(config.kafka))
    topics = Topics(config.kafka.topic_prefix)
    asyncio.run(produce(config, topics.articles_raw, [(a.id.encode(), a.encode()) for a in articles]))
    worker = worker_factory(config)
    deadline = time.monotonic() + 1800
    records: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        records = asyncio.run(read_all(config, topics.articles_enriched, timeout=120))
        if len({EnrichedArticle.decode(r.value).article.id for r in records}) >= len(articles):
            break
        time.sleep(5)
    worker.stop()
    stamps = sorted(r.timestamp for r in records)
    # the first batch's records carry its encode time: rate over the rest
    stage_rate = (len(stamps) - BATCH) / ((stamps[-1] - stamps[BATCH - 1]) / 1000)
    ratio = stage_rate / raw_rate
    record_result(
        "embed_stage_vs_raw",
        articles=len(articles),
        batch_size=BATCH,
        raw_encode_per_s=round(raw_rate, 1),
        stage_per_s=round(stage_rate, 1),
        ratio=round(ratio, 3),
    )
    assert ratio >= 0.85, f"the embed stage reaches {ratio:.0%} of the raw encode rate (target 85%)"


OPENVINO_SPEEDUP_MIN = 1.0  # faster than torch on the same machine (1.03-1.15x on AMD EPYC, AVX2)
OPENVINO_COSINE_MIN = 0.999
OPENVINO_DECISION_AGREEMENT_MIN = 0.99


def test_openvino_backend_against_torch(record_result) -> None:  # type: ignore[no-untyped-def]
    """The `openvino` backend side by side with `torch`: speed, vector agreement, dedup decisions.

    Speed: the same 2,000 AG News texts, batch 32, one backend after the other
    in this process. Decisions: the first 4,000 RUWA headlines sequenced with
    each backend's vectors (the torch ones from the per-machine cache).
    """
    from streams.embedder import Embedder
    from tests.embedding_cache import cached_vectors
    from tests.unit.test_dedup_quality import run, ruwa

    texts = [a.text_for_embedding() for a in ag_news_articles(ARTICLES)]
    rates, vectors = {}, {}
    for backend in ("torch", "openvino"):
        embedder = Embedder(EmbedConfig(batch_size=BATCH, backend=backend))
        embedder.encode(texts[:BATCH])  # warm up
        started = time.perf_counter()
        vectors[backend] = embedder.encode(texts[BATCH:])
        rates[backend] = (len(texts) - BATCH) / (time.perf_counter() - started)
        print(f"\n  {backend}: {rates[backend]:.1f} articles/s")
    cosines = (vectors["torch"] * vectors["openvino"]).sum(axis=1)

    articles, _ = ruwa()
    articles = articles[:4000]
    headlines = [a.text_for_embedding() for a in articles]
    torch_vectors = cached_vectors([a.text_for_embedding() for a in ruwa()[0]], label="ruwa")[:4000]
    openvino_vectors = Embedder(EmbedConfig(batch_size=64, backend="openvino")).encode(headlines)
    decided = [
        [(o.decision.kind, o.decision.duplicate_of, o.decision.story_id) for o in run(articles, v)]
        for v in (torch_vectors, openvino_vectors)
    ]
    agreement = sum(a == b for a, b in zip(*decided, strict=True)) / len(articles)
    ruwa_cosines = (torch_vectors * openvino_vectors).sum(axis=1)
    speedup = rates["openvino"] / rates["torch"]
    record_result(
        "embed_openvino_vs_torch",
        articles=len(texts),
        batch_size=BATCH,
        torch_per_s=round(rates["torch"], 1),
        openvino_per_s=round(rates["openvino"], 1),
        speedup=round(speedup, 2),
        cosine_min=round(float(min(cosines.min(), ruwa_cosines.min())), 6),
        cosine_mean=round(float(cosines.mean()), 6),
        ruwa_decision_agreement=round(agreement, 4),
    )
    assert speedup >= OPENVINO_SPEEDUP_MIN
    assert min(cosines.min(), ruwa_cosines.min()) >= OPENVINO_COSINE_MIN
    assert agreement >= OPENVINO_DECISION_AGREEMENT_MIN
