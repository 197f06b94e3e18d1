"""A windowed vector index in time-bucketed shards: eviction drops whole shards.

The dedup stage asks one question per article: which earlier articles of the
window are most similar to this one? Vectors arrive in time order (the
sequencer is ordered), so each shard covers a span of time and the window
slides by dropping the oldest shard whole — no per-vector deletion, which
graph indexes handle poorly. Shard backends are registered by name
(``BACKENDS``); ``exact`` is a brute-force float32 scan, the reference every
other backend is measured against.

Keys are integers the caller assigns (the sequencer's article number); the
index stores nothing else about an article.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Neighbor:
    key: int
    similarity: float
    bucket: int = 0  # the time bucket of the shard it was found in (see ``WindowIndex.oldest_kept``)


class Shard(Protocol):
    """The vectors of one time span."""

    def add(self, keys: npt.NDArray[np.int64], vectors: Vectors, threads: int = 1) -> None: ...

    def search(
        self, queries: Vectors, k: int, threads: int = 1
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """(keys, similarities), each (len(queries), k'), best first; k' ≤ k; ``threads`` for a batch."""
        ...

    def __len__(self) -> int: ...

    def nbytes(self) -> int: ...

    def save(self, path: Path) -> None:
        """Write the shard to ``path`` (a snapshot for fast restarts)."""
        ...

    def load(self, path: Path) -> None:
        """Replace the contents with a snapshot written by ``save``."""
        ...


class ExactShard:
    """Brute force: a growing float32 matrix, one matrix product per query batch."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vectors = np.empty((0, dim), dtype=np.float32)
        self._keys = np.empty(0, dtype=np.int64)
        self._size = 0

    def add(self, keys: npt.NDArray[np.int64], vectors: Vectors, threads: int = 1) -> None:
        needed = self._size + len(keys)
        if needed > len(self._keys):  # grow by doubling: amortized O(1) per vector
            capacity = max(needed, 2 * len(self._keys), 1024)
            grown = np.empty((capacity, self.dim), dtype=np.float32)
            grown[: self._size] = self._vectors[: self._size]
            self._vectors = grown
            self._keys = np.resize(self._keys, capacity)
        self._vectors[self._size : needed] = vectors
        self._keys[self._size : needed] = keys
        self._size = needed

    def search(
        self, queries: Vectors, k: int, threads: int = 1
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        if self._size == 0:
            return np.empty((len(queries), 0), np.int64), np.empty((len(queries), 0), np.float32)
        scores = queries @ self._vectors[: self._size].T
        k = min(k, self._size)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1)
        top = np.take_along_axis(top, order, axis=1)
        return self._keys[top], np.take_along_axis(top_scores, order, axis=1)

    def __len__(self) -> int:
        return self._size

    def nbytes(self) -> int:
        return int(self._vectors.nbytes + self._keys.nbytes)

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, keys=self._keys[: self._size], vectors=self._vectors[: self._size])

    def load(self, path: Path) -> None:
        with np.load(path) as data:
            self._keys = np.array(data["keys"], dtype=np.int64)
            self._vectors = np.array(data["vectors"], dtype=np.float32)
        self._size = len(self._keys)


def usearch_index() -> Any:
    """usearch's ``Index`` class, imported on first use (only workers that run dedup need it).

    usearch's extension carries its own copy of the C++ standard library; see
    ``streams.embedder.prepare_backend`` for what that means for OpenVINO.
    """
    from usearch.index import Index

    return Index


class HnswShard:
    """An HNSW graph (usearch) over int8-quantized vectors: logarithmic search, 4× less memory.

    Measured on this project's 2-core machine at 300k random 384-d vectors:
    1,700 searches/s on one thread against 246/s for the exact float32 scan.
    Recall on real embeddings is measured by the index benchmark.
    """

    def __init__(
        self, dim: int, connectivity: int = 16, expansion_add: int = 64, expansion_search: int = 64
    ) -> None:
        Index = usearch_index()  # noqa: N806
        self._index = Index(
            ndim=dim,
            metric="cos",
            dtype="i8",
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )

    def add(self, keys: npt.NDArray[np.int64], vectors: Vectors, threads: int = 1) -> None:
        self._index.add(keys.astype(np.uint64), vectors, threads=threads)

    def search(
        self, queries: Vectors, k: int, threads: int = 1
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        if len(self._index) == 0:
            return np.empty((len(queries), 0), np.int64), np.empty((len(queries), 0), np.float32)
        matches: Any = self._index.search(queries, min(k, len(self._index)), threads=threads)
        keys = np.atleast_2d(np.asarray(matches.keys)).astype(np.int64)
        similarities = 1.0 - np.atleast_2d(np.asarray(matches.distances, dtype=np.float32))
        # one query gives ``Matches`` (no counts), several give ``BatchMatches``
        counts = np.atleast_1d(np.asarray(getattr(matches, "counts", keys.shape[1])))
        missing = np.arange(keys.shape[1])[None, :] >= counts[:, None]  # a row may have fewer hits
        similarities[missing] = -np.inf  # below any threshold: callers drop them
        return keys, similarities

    def __len__(self) -> int:
        return len(self._index)

    def nbytes(self) -> int:
        return int(self._index.memory_usage)

    def save(self, path: Path) -> None:
        self._index.save(str(path))

    def load(self, path: Path) -> None:
        self._index.load(str(path))


BACKENDS: dict[str, Callable[[int], Shard]] = {"exact": ExactShard, "hnsw": HnswShard}


class WindowIndex:
    """The vectors of the last ``window`` seconds, in shards of ``shard_span`` seconds.

    ``add`` takes vectors in non-decreasing time order (the sequencer's order);
    a shard is dropped once its whole span is older than the window, so the
    index holds at most ``window + shard_span`` seconds of vectors.
    """

    def __init__(self, dim: int, window: float, shard_span: float, backend: str = "exact") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown index backend {backend!r}; known: {', '.join(sorted(BACKENDS))}")
        if shard_span <= 0 or window <= 0:
            raise ValueError("window and shard_span must be positive")
        self.dim, self.window, self.shard_span = dim, window, shard_span
        self.backend = backend
        self._new_shard = BACKENDS[backend]
        self._shards: dict[int, Shard] = {}  # bucket number → shard, oldest first
        self.high_key = -1  # the largest key added: keys come in increasing order (sequence numbers)
        self._dirty: set[int] = set()  # buckets changed since the last snapshot

    def _bucket(self, at: float) -> int:
        return math.floor(at / self.shard_span)

    def add(self, keys: list[int], vectors: Vectors, at: float, threads: int = 1) -> None:
        """Add vectors stamped with time ``at`` (epoch seconds), on ``threads`` cores."""
        if not keys:
            return
        bucket = self._bucket(at)
        shard = self._shards.get(bucket)
        if shard is None:
            shard = self._shards[bucket] = self._new_shard(self.dim)
        shard.add(np.asarray(keys, dtype=np.int64), np.ascontiguousarray(vectors, dtype=np.float32), threads)
        self.high_key = max(self.high_key, max(keys))
        self._dirty.add(bucket)

    def oldest_kept(self, now: float) -> int:
        """The oldest time bucket ``evict(now)`` keeps."""
        return self._bucket(now - self.window)

    def bucket_of(self, at: float) -> int:
        return self._bucket(at)

    def evict(self, now: float) -> int:
        """Drop the shards wholly older than the window; returns how many vectors went."""
        oldest_kept = self.oldest_kept(now)
        dropped = 0
        for bucket in [b for b in self._shards if b < oldest_kept]:
            dropped += len(self._shards.pop(bucket))
            self._dirty.discard(bucket)
        return dropped

    def search(
        self,
        queries: Vectors,
        k: int,
        min_similarity: float = -1.0,
        threads: int = 1,
        per_shard: bool = False,
    ) -> list[list[Neighbor]]:
        """Per query, up to ``k`` neighbours at or above ``min_similarity``, best first.

        ``per_shard``: up to ``k`` from every shard (for callers that drop shards
        from the answer later and still want the best ``k`` of the rest).

        ``threads`` > 1 spreads a batch of queries over cores (the graph search
        runs outside the GIL): on 2 cores a batch costs 40% of one-by-one queries.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        found: list[list[Neighbor]] = [[] for _ in range(len(queries))]
        for bucket, shard in self._shards.items():
            keys, sims = shard.search(queries, k, threads)
            passing = sims >= min_similarity
            for row, (row_keys, row_sims) in enumerate(zip(keys.tolist(), sims.tolist(), strict=True)):
                if passing[row].all():
                    found[row].extend(map(Neighbor, row_keys, row_sims, itertools.repeat(bucket)))
                else:
                    found[row].extend(
                        Neighbor(key, sim, bucket)
                        for key, sim in zip(row_keys, row_sims, strict=True)
                        if sim >= min_similarity
                    )
        limit = None if per_shard else k
        return [sorted(row, key=lambda n: -n.similarity)[:limit] for row in found]

    def __len__(self) -> int:
        return sum(len(shard) for shard in self._shards.values())

    @property
    def shards(self) -> int:
        return len(self._shards)

    def nbytes(self) -> int:
        return sum(shard.nbytes() for shard in self._shards.values())

    # -- snapshots: a restart loads these and adds only the entries after ``high_key`` --

    def save(self, directory: Path, tag: str = "") -> int:
        """Write the shards changed since the last save and a manifest; returns shards written.

        Only the newest shard takes vectors (time order), so a save usually
        writes one shard. The manifest is replaced atomically; files it no
        longer names are removed afterwards. ``tag`` names the history the
        snapshot belongs to (the sequencer's epoch): ``load`` refuses others.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        manifest_path = directory / "manifest.json"
        files: dict[str, str] = {}
        try:
            previous = json.loads(manifest_path.read_text())
            if previous.get("tag") == tag:
                files = {str(b): f for b, f in previous.get("files", {}).items()}
        except (OSError, ValueError):
            pass
        written = 0
        for bucket, shard in self._shards.items():
            if str(bucket) in files and bucket not in self._dirty:
                continue
            name = f"{bucket}.{self.high_key}.shard"
            shard.save(directory / name)
            files[str(bucket)] = name
            written += 1
        files = {b: f for b, f in files.items() if int(b) in self._shards}
        manifest = {
            "tag": tag,
            "backend": self.backend,
            "dim": self.dim,
            "shard_span": self.shard_span,
            "high_key": self.high_key,
            "files": files,
        }
        staging = directory / "manifest.json.tmp"
        staging.write_text(json.dumps(manifest))
        os.replace(staging, manifest_path)
        self._dirty.clear()
        keep = set(files.values()) | {"manifest.json"}
        for path in directory.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
        return written

    def load(self, directory: Path, tag: str = "") -> bool:
        """Load a snapshot of the same history and layout; False (and unchanged) if none fits."""
        directory = Path(directory)
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, ValueError):
            return False
        layout = (
            manifest.get("tag"),
            manifest.get("backend"),
            manifest.get("dim"),
            manifest.get("shard_span"),
        )
        if layout != (tag, self.backend, self.dim, self.shard_span):
            return False
        shards: dict[int, Shard] = {}
        try:
            for bucket, name in manifest["files"].items():
                shard = self._new_shard(self.dim)
                shard.load(directory / name)
                shards[int(bucket)] = shard
        except (OSError, ValueError, RuntimeError, KeyError):
            return False
        self._shards = dict(sorted(shards.items()))
        self._dirty = set()
        self.high_key = int(manifest["high_key"])
        return True


class Batch:
    """A batch in flight: neighbours searched up front, and the batch's own vectors, added at its end.

    The index is searched once for the whole batch before any of it is added, so
    an article's neighbours are those found in the index plus the earlier
    articles of its own batch, compared exactly (``streams.dedup.sequencer``). The
    batch's vectors go into the index together when it ends (the sequencer's ``end_batch``).
    """

    def __init__(self, found: dict[int, list[Neighbor]], dim: int, capacity: int) -> None:
        self.found = found  # seq → neighbours in the index as it was before the batch
        self.keys: list[int] = []
        self.buckets: list[int] = []
        self.times: list[float] = []
        self._vectors = np.empty((max(capacity, 1), dim), dtype=np.float32)

    def add(self, key: int, vector: npt.NDArray[np.float32], bucket: int, at: float) -> None:
        if len(self.keys) == len(self._vectors):
            self._vectors = np.vstack([self._vectors, np.empty_like(self._vectors)])
        self._vectors[len(self.keys)] = vector
        self.keys.append(key)
        self.buckets.append(bucket)
        self.times.append(at)

    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        return self._vectors[: len(self.keys)]
