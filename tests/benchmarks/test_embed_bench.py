"""Embed stage throughput against the raw model on the same texts, same batch size, same run.

Run: ``pytest tests/benchmarks/test_embed_bench.py -m benchmark -s`` (part of ``make bench``).
Knob: ``WIREWATCH_BENCH_EMBED_ARTICLES`` (2000). Each ``embed.precision``, f32 and int8, in turn.

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
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import EmbedConfig
from monitor.machine import vector_isa
from streams.admin import ensure_topics
from streams.records import Article, EnrichedArticle
from streams.topics import Topics
from tests.feed_server import SHARED
from tests.kafka_fixtures import REPO_ROOT
from tests.kafka_helpers import produce, read_all

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(3600), pytest.mark.model]

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


@pytest.mark.parametrize("precision", ["f32", "int8"])
def test_embed_stage_against_raw_encode(
    wirewatch_config, worker_factory, record_result, precision: str
) -> None:  # type: ignore[no-untyped-def]
    from streams.embedder import Embedder

    articles = ag_news_articles(ARTICLES)
    texts = [a.text_for_embedding() for a in articles]
    embedder = Embedder(EmbedConfig(batch_size=BATCH, precision=precision))  # type: ignore[arg-type]
    embedder.encode(texts[:BATCH])  # warm up
    started = time.perf_counter()
    for i in range(BATCH, len(texts), BATCH):  # the first batch is skipped, as on the stage side
        embedder.encode(texts[i : i + BATCH])
    raw_rate = (len(texts) - BATCH) / (time.perf_counter() - started)
    del embedder

    config = wirewatch_config(
        worker={"stages": ["embed"]}, pipeline={"embed": {"batch_size": BATCH, "precision": precision}}
    )
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
        "embed_stage_vs_raw" + ("" if precision == "f32" else f"_{precision}"),
        articles=len(articles),
        batch_size=BATCH,
        raw_encode_per_s=round(raw_rate, 1),
        stage_per_s=round(stage_rate, 1),
        ratio=round(ratio, 3),
    )
    assert ratio >= 0.85, f"the embed stage reaches {ratio:.0%} of the raw encode rate (target 85%)"


def openvino_speedup_min() -> float:
    """The least speedup of openvino over torch this CPU should show, each backend in its own process, f32.

    Without AVX-512, torch's CPU kernels lag: 2.2-2.4x measured on a 2-core AMD EPYC
    (AVX2), so 1.5 catches a regression such as torch's threads competing again
    (1.03-1.15x). With AVX-512 torch's oneDNN kernels use it too: 0.92-1.12x on a
    2-core Intel Xeon in two runs, and openvino's gain there is memory, not speed;
    0.8 still catches an openvino path gone wrong.
    """
    return 0.8 if "avx512f" in vector_isa() else 1.5


OPENVINO_PEAK_RSS_MAX = 0.5  # of torch's peak (440 vs 1,404 MB measured)
OPENVINO_COSINE_MIN = 0.999
OPENVINO_DECISION_AGREEMENT_MIN = 0.99


def probe(
    backend: str,
    texts: list[str],
    workdir: Path,
    batch: int = BATCH,
    precision: str = "f32",
    streams: int | None = None,
) -> tuple[dict[str, float], Any]:
    """``tests.benchmarks.embed_probe`` in a fresh interpreter: its figures and the vectors."""
    import numpy as np

    stem = f"{backend}-{precision}-{len(texts)}-{streams}"
    source, vectors = workdir / f"{stem}.json", workdir / f"{stem}.npy"
    source.write_text(json.dumps(texts))
    command = [sys.executable, "-m", "tests.benchmarks.embed_probe", backend, str(source), str(vectors)]
    command += ["--batch", str(batch), "--precision", precision]
    command += ["--streams", str(streams)] if streams else []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"\n  {backend} {precision}{f', {streams} streams' if streams else ''}, {len(texts)} texts: "
        + ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
    )
    return figures, np.load(vectors)


def test_openvino_backend_against_torch(record_result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The `openvino` backend side by side with `torch`: speed, memory, vector agreement, dedup decisions.

    Each backend runs in a fresh process of its own (``embed_probe``): the
    same 2,000 AG News texts, batch 32, the first batch a warm-up. Decisions:
    the first 4,000 RUWA headlines sequenced with each backend's vectors.
    """
    from tests.unit.streams.dedup.test_dedup_quality import run, ruwa

    texts = [a.text_for_embedding() for a in ag_news_articles(ARTICLES)]
    figures, vectors = {}, {}
    for backend in ("torch", "openvino"):
        figures[backend], vectors[backend] = probe(backend, texts, tmp_path)
    cosines = (vectors["torch"] * vectors["openvino"]).sum(axis=1)

    articles = ruwa()[0][:4000]
    headlines = [a.text_for_embedding() for a in articles]
    ruwa_vectors = {b: probe(b, headlines, tmp_path, batch=64)[1] for b in ("torch", "openvino")}
    decided = [
        [(o.decision.kind, o.decision.duplicate_of, o.decision.story_id) for o in run(articles, v)]
        for v in ruwa_vectors.values()
    ]
    agreement = sum(a == b for a, b in zip(*decided, strict=True)) / len(articles)
    ruwa_cosines = (ruwa_vectors["torch"] * ruwa_vectors["openvino"]).sum(axis=1)
    speedup = figures["openvino"]["per_s"] / figures["torch"]["per_s"]
    peak_ratio = figures["openvino"]["peak_rss_mb"] / figures["torch"]["peak_rss_mb"]
    record_result(
        "embed_openvino_vs_torch",
        articles=len(texts),
        batch_size=BATCH,
        torch_per_s=round(figures["torch"]["per_s"], 1),
        openvino_per_s=round(figures["openvino"]["per_s"], 1),
        speedup=round(speedup, 2),
        torch_peak_rss_mb=round(figures["torch"]["peak_rss_mb"]),
        openvino_peak_rss_mb=round(figures["openvino"]["peak_rss_mb"]),
        cosine_min=round(float(min(cosines.min(), ruwa_cosines.min())), 6),
        cosine_mean=round(float(cosines.mean()), 6),
        ruwa_decision_agreement=round(agreement, 4),
    )
    assert speedup >= openvino_speedup_min(), f"openvino at {speedup:.2f}x torch's rate"
    assert peak_ratio <= OPENVINO_PEAK_RSS_MAX
    assert min(cosines.min(), ruwa_cosines.min()) >= OPENVINO_COSINE_MIN
    assert agreement >= OPENVINO_DECISION_AGREEMENT_MIN


# A process that takes a core half the time, in 10 ms periods: the rest of a worker (its event loop,
# the poller's parsers) or a broker on the same machine, as the encode meets them in production.
BUSY_LOOP = """
import time
while True:
    until = time.perf_counter() + 0.005
    while time.perf_counter() < until:
        pass
    time.sleep(0.005)
"""


@pytest.mark.parametrize("precision", ["f32", "int8"])
def test_streams_beside_a_busy_process(record_result, tmp_path: Path, precision: str) -> None:  # type: ignore[no-untyped-def]
    """Why ``embed.streams`` defaults to one per core: one request on every thread against a
    stream per core, alone and beside a process busy half of one core.

    One request's threads meet at every layer, so a thread that loses its core
    for a moment stalls the others; streams share nothing within a batch. The
    target: beside the busy process, the default streams encode at least as fast
    as one request (each measured in a fresh process, 2,000 AG News texts, batch 32).
    """
    from streams.openvino_encoder import default_streams

    texts = [a.text_for_embedding() for a in ag_news_articles(ARTICLES)]
    streams = default_streams(EmbedConfig().threads)  # the config's default
    rates: dict[str, float] = {}
    for busy in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
        try:
            for n in (1, streams):
                figures, _ = probe("openvino", texts, tmp_path, precision=precision, streams=n)
                rates[f"{'busy' if busy else 'alone'}_{n}_streams_per_s"] = round(figures["per_s"], 1)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    record_result(f"embed_streams_{precision}", texts=len(texts), streams=streams, **rates)
    if streams > 1:
        assert rates[f"busy_{streams}_streams_per_s"] >= rates["busy_1_streams_per_s"], rates
