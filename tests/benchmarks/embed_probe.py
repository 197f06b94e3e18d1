"""One backend's encode rate and memory, measured in a process of its own.

Two backends in one process measure each other: torch's threads and
libraries stay loaded while OpenVINO runs. ``test_embed_bench`` runs this once
per backend:

    python -m tests.benchmarks.embed_probe BACKEND TEXTS.json VECTORS.npy --batch 32
        [--precision int8] [--streams N]

It encodes the first batch to warm up (not timed), then the rest, and prints
one JSON line: ``per_s`` over the timed texts, ``rss_mb`` after encoding and
``peak_rss_mb`` (the process's high-water mark). The vectors of every text
are saved to ``VECTORS.npy``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from monitor.config import EmbedConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend")
    parser.add_argument("texts", type=Path)
    parser.add_argument("vectors", type=Path)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--precision", default="f32")
    parser.add_argument("--streams", type=int, default=None, help="embed.streams (default: the config's)")
    args = parser.parse_args()

    from streams.embedder import Embedder, resident_bytes  # after parsing: --help needs no model

    texts: list[str] = json.loads(args.texts.read_text())
    config = EmbedConfig(
        batch_size=args.batch, backend=args.backend, precision=args.precision, streams=args.streams
    )
    embedder = Embedder(config)
    warm = embedder.encode(texts[: args.batch])
    started = time.perf_counter()
    rest = embedder.encode(texts[args.batch :])
    elapsed = time.perf_counter() - started
    np.save(args.vectors, np.concatenate([warm, rest]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    rss_mb = (resident_bytes() or 0) / 2**20
    print(json.dumps({"per_s": (len(texts) - args.batch) / elapsed, "rss_mb": rss_mb, "peak_rss_mb": peak}))


if __name__ == "__main__":
    main()
