"""The dedup stage at a full window, on the real broker: throughput, memory, and restart time.

Run: ``pytest tests/benchmarks/test_dedup_bench.py -m benchmark -s`` (part of ``make bench``).
Knobs: ``WIREWATCH_BENCH_DEDUP_WINDOW`` (articles in the window, 300000),
``WIREWATCH_BENCH_DEDUP_TAIL`` (articles measured at the full window, 20000),
``WIREWATCH_BENCH_DEDUP_RESTARTS`` (``0`` skips the restart drills),
``WIREWATCH_BENCH_PRODUCER`` (JSON ``kafka.producer`` overrides, e.g.
``{"linger": 0, "compression": "none", "max_batch_bytes": 16384}`` for aiokafka's own defaults).

The window's enriched articles are produced straight onto the enriched topic
(vectors: real MiniLM vectors of news texts, padded with jittered copies; see
``corpus.py``), spread over 72 hours of publication time, followed by a tail
measured with the window full. A dedup-only worker (rocksdb tables, HNSW index)
sequences them all. Then the stage is restarted three ways, each timed from
process start until it has sequenced 1,000 new articles: after a clean stop
(snapshot and tables on disk), after ``kill -9`` (snapshot up to a minute
old, tables on disk), and on a fresh data directory (another machine: tables
from the changelogs, index rebuilt from the window table).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import string
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer

from monitor.config import WirewatchConfig
from streams.admin import ensure_topics
from streams.connection import aiokafka_options
from streams.records import Article, EnrichedArticle
from streams.topics import Topics
from tests.benchmarks.corpus import jittered, real_vectors

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(5400)]

WINDOW = int(os.environ.get("WIREWATCH_BENCH_DEDUP_WINDOW", "300000"))
TAIL = int(os.environ.get("WIREWATCH_BENCH_DEDUP_TAIL", "20000"))
RESTARTS = os.environ.get("WIREWATCH_BENCH_DEDUP_RESTARTS", "1") != "0"
PRODUCER = json.loads(os.environ.get("WIREWATCH_BENCH_PRODUCER", "{}"))
T0 = datetime(2025, 3, 15, tzinfo=UTC)
SPAN = 72 * 3600.0


def letters(n: int) -> str:
    """A unique word without digits (digits would read as conflicting numbers)."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = string.ascii_lowercase[r] + out
    return out


def records(
    texts: list[str], vectors: np.ndarray, start: int, count: int, total: int
) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(start, start + count):
        text = texts[i % len(texts)]
        at = T0 + timedelta(seconds=SPAN * i / total)
        article = Article(
            id=f"bench-{i}",
            feed_id=f"feed-{i % 500}",
            source=f"Outlet {letters(i % 500)}",
            url=f"https://example.org/{i}",
            canonical_url=f"https://example.org/{i}",
            title=f"Report {letters(i)}",
            summary=text[:400],
            published_at=at,
            fetched_at=at,
        )
        enriched = EnrichedArticle.of(article, vectors[i], "all-MiniLM-L6-v2", at)
        out.append((article.id.encode(), enriched.encode()))
    return out


async def produce_enriched(
    config: WirewatchConfig, texts: list[str], vectors: np.ndarray, start: int, count: int
) -> None:
    topic = Topics(config.kafka.topic_prefix).articles_enriched
    producer = AIOKafkaProducer(
        **aiokafka_options(config.kafka), acks="all", linger_ms=20, max_batch_size=512_000
    )
    await producer.start()
    try:
        step = 5000
        for chunk in range(start, start + count, step):
            batch = records(texts, vectors, chunk, min(step, start + count - chunk), len(vectors))
            futures = [await producer.send(topic, value, key=key) for key, value in batch]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


def sequenced_count(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return -1.0
    match = re.search(r'^wirewatch_articles_total\{stage="dedup"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def run(self) -> None:
        while not self.stop:
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
                self.peak = max(self.peak, int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024)  # type: ignore[union-attr]
            except (OSError, AttributeError):
                return
            time.sleep(0.5)


def wait_for(port: int, target: float, timeout: float, progress: str = "") -> list[tuple[float, float]]:
    """Poll the stage's counter until it reaches ``target``; returns (time, count) samples."""
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = sequenced_count(port)
        samples.append((time.monotonic(), count))
        if progress and len(samples) % 10 == 0:
            print(f"\r  {progress}: {count:.0f}/{target:.0f}", end="", flush=True)
        if count >= target:
            if progress:
                print()
            return samples
        time.sleep(1.0)
    raise AssertionError(
        f"the dedup stage reached {samples[-1][1] if samples else 0} of {target} in {timeout}s"
    )


def test_dedup_stage_at_full_window(wirewatch_config, worker_factory, record_result) -> None:  # type: ignore[no-untyped-def]
    texts, real = real_vectors()
    total = WINDOW + TAIL + 3000
    vectors = np.vstack([real, jittered(real, max(0, total - len(real)))])[:total]
    config = wirewatch_config(
        worker={"stages": ["dedup"], "session_timeout": "30s", "rebalance_timeout": "30s"},
        pipeline={"dedup": {"store": "rocksdb"}},
        kafka={"producer": PRODUCER},
    )
    asyncio.run(ensure_topics(config.kafka))
    started = time.monotonic()
    asyncio.run(produce_enriched(config, texts, vectors, 0, WINDOW + TAIL))
    produce_seconds = time.monotonic() - started
    print(f"\n  produced {WINDOW + TAIL} enriched articles in {produce_seconds:.0f}s")

    worker = worker_factory(config)
    assert worker.proc is not None
    rss = PeakRss(worker.proc.pid)
    rss.start()
    port = config.metrics.port
    fill = wait_for(port, WINDOW, timeout=3600, progress="filling the window")
    tail = wait_for(port, WINDOW + TAIL, timeout=1800)
    rss.stop = True
    fill_rate = WINDOW / (fill[-1][0] - fill[0][0])
    tail_rate = TAIL / (tail[-1][0] - tail[0][0])
    figures: dict[str, object] = {
        "window": WINDOW,
        "tail": TAIL,
        "producer": config.kafka.producer.model_dump(),
        "fill_articles_per_s": round(fill_rate),
        "full_window_articles_per_s": round(tail_rate),
        "peak_rss_mb": round(rss.peak / 2**20),
    }
    print(f"  fill {fill_rate:.0f}/s, at full window {tail_rate:.0f}/s, peak RSS {rss.peak / 2**20:.0f} MB")

    done = WINDOW + TAIL
    restarts = [
        ("clean_stop", signal.SIGTERM, False),
        ("kill_9", signal.SIGKILL, False),
        ("fresh_machine", signal.SIGTERM, True),
    ]
    for name, sig, fresh in restarts if RESTARTS else []:
        worker.kill(sig) if sig == signal.SIGKILL else worker.stop()
        if fresh:
            config = config.model_copy(
                update={
                    "worker": config.worker.model_copy(
                        update={"data_dir": config.worker.data_dir.with_name("fresh")}
                    )
                }
            )
        asyncio.run(produce_enriched(config, texts, vectors, done, 1000))
        restart_at = time.monotonic()
        worker = worker_factory(config, ready_timeout=1800)  # a fresh machine reads every changelog
        wait_for(port, 1000, timeout=1800)  # the counter restarts with the process
        seconds = time.monotonic() - restart_at
        ready = re.findall(r"dedup: index ready in ([\d.]+)s \(([^)]*)\)", worker.log())
        figures[f"restart_{name}_s"] = round(seconds, 1)
        figures[f"restart_{name}_index"] = f"{ready[-1][0]}s ({ready[-1][1]})" if ready else "?"
        index_note = figures[f"restart_{name}_index"]
        print(f"  restart after {name}: {seconds:.1f}s to sequence 1,000 new articles; index: {index_note}")
        done += 1000
    worker.stop()
    record_result(f"dedup_stage_{WINDOW}", **figures)  # type: ignore[arg-type]
