"""Vectors of test and benchmark corpora, computed once per machine and kept on disk.

Encoding the real corpora (tens of thousands of texts) takes minutes on the CI
machine; the vectors only change when the texts or what computes them do, so
they are cached under ``$WIREWATCH_HOME/embeddings`` keyed by a hash of the
texts and of ``streams.embedder.vectors_key`` (model, engine and version,
precision, instruction set and caps). They are computed here with the bundled
model, never downloaded.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from monitor.config import DEFAULT_MODEL, EmbedConfig
from streams.embedder import vectors_key

CACHE = Path(os.environ.get("WIREWATCH_HOME", Path.home() / ".cache" / "wirewatch")) / "embeddings"
# the model the quality tests read by default: the shipped one, or another to compare its figures
# (`WIREWATCH_QUALITY_MODEL=multilingual-e5-small pytest -m quality`; the bounds are MiniLM's)
QUALITY_MODEL = os.environ.get("WIREWATCH_QUALITY_MODEL", DEFAULT_MODEL)


def cached_vectors(
    texts: list[str], model: str = QUALITY_MODEL, label: str = "texts", precision: str = "f32"
) -> npt.NDArray[np.float32]:
    """L2-normalized vectors of ``texts`` (in order), from the cache or encoded now with progress.

    ``precision``: ``embed.precision`` of the OpenVINO backend (the int8 benchmark compares two).
    """
    # engines, arithmetic and instruction sets each change the last bits: a cache filled on one
    # machine (or under `make test-isa`'s caps) never stands in for another's vectors
    config = EmbedConfig(model=model, precision=precision)  # type: ignore[arg-type]
    key = vectors_key(config)
    digest = hashlib.sha256(("\x1e".join([key, *texts])).encode("utf-8")).hexdigest()[:20]
    path = CACHE / f"{label}-{digest}.npy"
    if path.exists():
        return np.load(path)
    from streams.embedder import Embedder

    print(f"  vectors of {label}: none cached for {key}", file=sys.stderr)
    unique = list(dict.fromkeys(texts))
    embedder = Embedder(config.model_copy(update={"batch_size": 64}))
    chunks: list[npt.NDArray[np.float32]] = []
    started = time.monotonic()
    for i in range(0, len(unique), 1024):
        chunks.append(embedder.encode(unique[i : i + 1024]))
        done = i + len(chunks[-1])
        rate = done / max(time.monotonic() - started, 1e-9)
        print(f"\r  encoding {label}: {done}/{len(unique)} ({rate:.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    by_text = dict(zip(unique, np.vstack(chunks), strict=True))
    vectors = np.stack([by_text[t] for t in texts]).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".tmp.npy")
    np.save(staging, vectors)
    os.replace(staging, path)
    return vectors
