"""Foundation figures: embedded broker start/stop, record (de)serialization throughput.

Run: ``make bench`` (or ``pytest tests/benchmarks -m benchmark -s``).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from monitor.broker import LocalBroker
from streams.records import Article, EnrichedArticle

pytestmark = pytest.mark.benchmark


def test_broker_start_and_stop(tmp_path: Path, record_result) -> None:  # type: ignore[no-untyped-def]
    cold, warm, stop = [], [], []
    for run in range(3):
        broker = LocalBroker(tmp_path / f"k{run}", port=0, controller_port=0)
        t0 = time.perf_counter()
        broker.start()  # format + start + first metadata answer
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        broker.stop()
        stop.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        broker.start()  # existing data directory
        warm.append(time.perf_counter() - t0)
        broker.stop()
    record_result(
        "broker_start",
        cold_start_s_median=round(statistics.median(cold), 2),
        warm_start_s_median=round(statistics.median(warm), 2),
        stop_s_median=round(statistics.median(stop), 2),
    )
    assert max(cold) < 90


def test_record_codec_throughput(record_result) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    article = Article(
        id="x",
        feed_id="f",
        source="s",
        url="https://x.org/a",
        canonical_url="https://x.org/a",
        title="Trump and Putin agree to halt strikes on energy infrastructure",
        summary="The White House framed the agreement as a first step. " * 4,
        published_at=now,
        fetched_at=now,
    )
    packed, dim = EnrichedArticle.pack_vector(np.ones(384, dtype=np.float32) / np.sqrt(384))
    enriched = EnrichedArticle(
        article=article, embedding=packed, dim=dim, model_id="m", content_hash="h", embedded_at=now
    )
    n = 20_000
    data = enriched.encode()
    t0 = time.perf_counter()
    for _ in range(n):
        enriched.encode()
    encode_rate = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        EnrichedArticle.decode(data).vector()
    decode_rate = n / (time.perf_counter() - t0)
    record_result(
        "record_codec",
        enriched_bytes=len(data),
        encode_per_s=int(encode_rate),
        decode_with_vector_per_s=int(decode_rate),
    )
    assert decode_rate > 0
