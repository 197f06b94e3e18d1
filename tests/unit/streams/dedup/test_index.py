"""The windowed vector index: nearest neighbours across shards, eviction by whole shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streams.dedup.index import BACKENDS, WindowIndex

HOUR = 3600.0
DIM = 16


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_search_across_shards_equals_brute_force(backend: str) -> None:
    rng = np.random.default_rng(3)
    index = WindowIndex(DIM, window=72 * HOUR, shard_span=6 * HOUR, backend=backend)
    vectors = unit(rng.standard_normal((600, DIM)))
    for i in range(0, 600, 50):  # 12 batches, one every 5 hours (0-55 h): 6-hour shards 0..9
        index.add(list(range(i, i + 50)), vectors[i : i + 50], at=(i // 50) * 5 * HOUR)
    assert len(index) == 600
    assert index.shards == 10
    queries = unit(vectors[[3, 333, 599]] + 0.05 * rng.standard_normal((3, DIM)))
    found = index.search(queries, k=5)
    scores = queries @ vectors.T
    expected = np.argsort(-scores, axis=1)[:, :5]
    if backend == "exact":
        assert [[n.key for n in row] for row in found] == expected.tolist()
    else:  # approximate and int8-quantized: the best match, most of the rest, close scores
        for r, (row, best) in enumerate(zip(found, expected, strict=True)):
            assert row[0].key == best[0]
            assert len({n.key for n in row} & set(best.tolist())) >= 4
            for n in row:
                assert n.similarity == pytest.approx(float(scores[r, n.key]), abs=0.02)
    assert all(row[0].similarity >= row[-1].similarity for row in found)


def test_min_similarity_keeps_only_close_neighbours() -> None:
    index = WindowIndex(DIM, window=HOUR, shard_span=HOUR)
    base = unit(np.eye(DIM)[:2] + 0.0)
    index.add([7, 8], base, at=0)
    close = unit(base[:1] + 0.1 * np.eye(DIM)[2:3])
    found = index.search(close, k=5, min_similarity=0.9)
    assert [n.key for n in found[0]] == [7]
    assert found[0][0].similarity == pytest.approx(float(close[0] @ base[0]), abs=1e-6)
    assert index.search(close, k=5, min_similarity=0.999) == [[]]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_eviction_drops_whole_shards_and_bounds_the_index(backend: str) -> None:
    index = WindowIndex(DIM, window=72 * HOUR, shard_span=6 * HOUR, backend=backend)
    rng = np.random.default_rng(1)
    for hour in range(0, 100):
        index.add([hour], unit(rng.standard_normal((1, DIM))), at=hour * HOUR)
        index.evict(now=hour * HOUR)
        assert len(index) <= 72 + 6, "at most window + one shard span of vectors"
    # at hour 99 the window starts at hour 27: the shard of hours 24-29 is kept whole
    assert len(index) == 99 - 24 + 1
    assert index.evict(now=200 * HOUR) == 76
    assert len(index) == 0
    assert index.search(unit(rng.standard_normal((1, DIM))), k=3) == [[]]


def test_an_empty_index_and_an_unknown_backend() -> None:
    index = WindowIndex(DIM, window=HOUR, shard_span=HOUR)
    assert index.search(np.zeros((2, DIM), np.float32), k=3) == [[], []]
    index.add([], np.zeros((0, DIM), np.float32), at=0)
    assert len(index) == 0
    with pytest.raises(ValueError, match="unknown index backend 'faiss'"):
        WindowIndex(DIM, window=HOUR, shard_span=HOUR, backend="faiss")


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_snapshots_are_incremental_and_belong_to_one_history(backend: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    vectors = unit(rng.standard_normal((300, DIM)))
    index = WindowIndex(DIM, window=72 * HOUR, shard_span=HOUR, backend=backend)
    for i in range(3):  # three shards
        index.add(list(range(i * 100, i * 100 + 100)), vectors[i * 100 : i * 100 + 100], at=i * HOUR)
    assert index.save(tmp_path, tag="e1") == 3
    index.add([300], unit(rng.standard_normal((1, DIM))), at=2 * HOUR)  # only the newest shard changed
    assert index.save(tmp_path, tag="e1") == 1
    assert len(list(tmp_path.glob("*.shard"))) == 3  # the replaced shard file is gone

    restored = WindowIndex(DIM, window=72 * HOUR, shard_span=HOUR, backend=backend)
    assert not restored.load(tmp_path, tag="another-history")
    assert len(restored) == 0
    assert restored.load(tmp_path, tag="e1")
    assert (len(restored), restored.shards, restored.high_key) == (301, 3, 300)
    assert restored.search(vectors[[150]], k=1)[0][0].key == 150
    other_layout = WindowIndex(DIM, window=72 * HOUR, shard_span=2 * HOUR, backend=backend)
    assert not other_layout.load(tmp_path, tag="e1")
