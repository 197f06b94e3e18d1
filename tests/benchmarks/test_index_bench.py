"""The dedup window index on real embeddings: recall, search and add rates, memory, at news scale.

Run: ``pytest tests/benchmarks/test_index_bench.py -m benchmark -s`` (part of ``make bench``).
Knob: ``WIREWATCH_BENCH_WINDOWS`` (comma-separated window sizes, default ``300000,900000``).

Recall is measured on ~50k real MiniLM vectors of news texts (see ``corpus.py``):
held-out articles and reworded copies of indexed ones (a real vector plus
noise, cosine ≈ 0.95 — the near-duplicate case the sequencer exists for),
against the exact float32 scan. Rates and memory are measured at window sizes
the corpus cannot fill, so the window is padded with jittered real vectors.
The timestamps spread the window over 72 h in 24 h shards, as the sequencer
does with its defaults; searches are single queries with k = 8, as the
sequencer issues them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from streams.dedup.index import WindowIndex
from tests.benchmarks.corpus import jittered, real_vectors

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(3600)]

HOUR = 3600.0
WINDOW = 72 * HOUR
SHARD = 24 * HOUR
K = 8
WINDOWS = [int(w) for w in os.environ.get("WIREWATCH_BENCH_WINDOWS", "300000,900000").split(",")]


def current_rss() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) * 1024


def fill(index: WindowIndex, vectors: np.ndarray, batch: int = 1000) -> float:
    """Add in time order over 72 h; returns vectors added per second."""
    started = time.perf_counter()
    n = len(vectors)
    for start in range(0, n, batch):
        at = (start / n) * WINDOW
        index.add(list(range(start, min(start + batch, n))), vectors[start : start + batch], at=at)
    return n / (time.perf_counter() - started)


def search_rate(index: WindowIndex, queries: np.ndarray) -> float:
    started = time.perf_counter()
    for q in queries:
        index.search(q[None, :], K, min_similarity=0.5)
    return len(queries) / (time.perf_counter() - started)


def test_hnsw_recall_on_real_news_embeddings(record_result) -> None:  # type: ignore[no-untyped-def]
    _texts, vectors = real_vectors()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(vectors))
    held_out, indexed = order[:500], order[500:]
    base = vectors[indexed]
    sources = rng.integers(0, len(base), 500)
    noise = rng.standard_normal((500, base.shape[1])).astype(np.float32) * (0.33 / np.sqrt(base.shape[1]))
    reworded = base[sources] + noise
    reworded /= np.linalg.norm(reworded, axis=1, keepdims=True)
    results = {}
    for backend in ("exact", "hnsw"):
        index = WindowIndex(base.shape[1], WINDOW, SHARD, backend=backend)
        fill(index, base)
        results[backend] = {
            "held_out": index.search(vectors[held_out], K, min_similarity=0.5),
            "reworded": index.search(reworded, K, min_similarity=0.5),
        }

    def recall(kind: str) -> tuple[float, float]:
        top1 = hits = total = 0
        for exact_row, approx_row in zip(results["exact"][kind], results["hnsw"][kind], strict=True):
            if not exact_row:
                continue
            top1 += bool(approx_row) and approx_row[0].key == exact_row[0].key
            truth = {n.key for n in exact_row}
            hits += len(truth & {n.key for n in approx_row})
            total += len(truth)
        rows = sum(1 for row in results["exact"][kind] if row)
        return top1 / max(rows, 1), hits / max(total, 1)

    reworded_top1, reworded_at_k = recall("reworded")
    held_top1, held_at_k = recall("held_out")
    found_source = np.mean(
        [
            bool(row) and base_key == row[0].key
            for row, base_key in zip(results["hnsw"]["reworded"], sources, strict=True)
        ]
    )
    record_result(
        "index_recall_real",
        corpus_vectors=len(vectors),
        indexed=len(base),
        reworded_top1_recall=round(reworded_top1, 4),
        reworded_recall_at_8=round(reworded_at_k, 4),
        reworded_source_found_first=round(float(found_source), 4),
        held_out_top1_recall=round(held_top1, 4),
        held_out_recall_at_8=round(held_at_k, 4),
    )
    assert reworded_top1 >= 0.95, "near-duplicate candidates must be found"


@pytest.mark.parametrize("size", WINDOWS)
def test_window_rates_and_memory(size: int, record_result) -> None:  # type: ignore[no-untyped-def]
    _texts, vectors = real_vectors()
    window = np.vstack([vectors, jittered(vectors, max(0, size - len(vectors)))])[:size]
    rng = np.random.default_rng(2)
    queries = window[rng.integers(0, size, 2000)] + rng.standard_normal((2000, window.shape[1])).astype(
        np.float32
    ) * (0.33 / np.sqrt(window.shape[1]))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    figures: dict[str, object] = {"window": size, "shards": 0}
    for backend in ("hnsw", "exact"):
        if backend == "exact" and size > 300_000:
            continue  # the exact scan is already far too slow at 300k
        rss_before = current_rss()
        index = WindowIndex(window.shape[1], WINDOW, SHARD, backend=backend)
        figures[f"{backend}_adds_per_s"] = round(fill(index, window))
        figures["shards"] = index.shards
        figures[f"{backend}_searches_per_s"] = round(
            search_rate(index, queries[: 500 if backend == "exact" else 2000])
        )
        figures[f"{backend}_index_mb"] = round(index.nbytes() / 2**20, 1)
        figures[f"{backend}_mb_per_100k"] = round(index.nbytes() / 2**20 / (size / 100_000), 1)
        figures[f"{backend}_rss_growth_mb"] = round((current_rss() - rss_before) / 2**20, 1)
        del index
    record_result(f"index_window_{size}", **figures)  # type: ignore[arg-type]
