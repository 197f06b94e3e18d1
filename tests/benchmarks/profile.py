"""Where a worker's CPU goes, by stage: py-spy samples of its process tree, sorted into buckets.

``make bench-pipeline`` with ``WIREWATCH_BENCH_PROFILE=SECONDS`` records the
worker (and its extraction and parsing processes) with py-spy for that many
seconds of the saturation phase and reports CPU milliseconds per article in
each bucket below. A sample is a thread on a CPU (py-spy leaves idle threads
out), so samples / rate is CPU seconds; OpenVINO's own inference threads are
native and invisible to py-spy: the model's cost is the ceiling's, measured
apart (``ceiling``), and the Python thread that waits for them shows as
``model``.

Each stack goes to the first bucket whose rule matches a frame, scanning from
the innermost frame out: ``json.loads`` called by a record's decode called by
an agent is serialization, not the agent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

# (bucket, substrings of a frame "function (path:line)"), tried in order on each frame, innermost first
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model: OpenVINO inference", ("openvino/", "_pyopenvino")),
    ("model: tokenization", ("tokenizers/", "encode_batch (")),
    ("model: pooling, normalizing", ("openvino_encoder.py",)),
    ("records: JSON encode/decode", ("json/", "pydantic", "records.py", "codecs.py", "orjson")),
    ("vector index (usearch)", ("usearch/", "streams/dedup/index")),
    ("RocksDB state", ("rocksdict", "streams/dedup/tables", "stores/")),
    ("sequencer: dedup, stories", ("streams/dedup/",)),
    ("detectors", ("detectors/",)),
    ("page extraction", ("trafilatura", "monitor/extract", "lxml", "justext", "readability")),
    ("feed parsing", ("feedparser", "monitor/parsing", "monitor/normalize", "sgmllib", "xml/")),
    ("HTTP fetching", ("httpx/", "httpcore/", "h11/", "monitor/fetch", "monitor/fulltext", "ssl.py")),
    ("polling", ("monitor/polling", "monitor/seen")),
    ("metrics", ("prometheus_client",)),
    ("logging", ("logging/",)),
    ("Kafka client (aiokafka)", ("aiokafka/", "kafka/")),
    ("compression", ("cramjam", "lz4", "zstd")),
    ("Faust, mode (stream runtime)", ("faust/", "mode/")),
    ("our agents (glue)", ("streams/",)),
    ("process pools", ("monitor/procpool", "concurrent/futures", "multiprocessing/")),
    ("asyncio event loop", ("asyncio/", "selectors.py", "uvloop")),
)
OTHER = "other"
ROOTS = re.compile(r'process \d+:"|thread \(0x')  # the frames --subprocesses and --threads add on top


def bucket_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for bucket, needles in RULES:
            if any(n in frame for n in needles):
                return bucket
    return OTHER


def breakdown(raw: str) -> Counter[str]:
    """Samples per bucket from py-spy's raw (collapsed) output: ``frame;frame;... count`` per line."""
    samples: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not ROOTS.match(f)]
        samples[bucket_of(frames)] += int(count)
    return samples


class Profiler:
    """``py-spy record`` of a process and its children, for a fixed time, in the background."""

    RATE = 67  # samples per second per thread: py-spy's own cost stays below 1% of a core

    def __init__(self, pid: int, seconds: float, output: Path) -> None:
        binary = shutil.which("py-spy") or str(Path(__import__("sys").executable).parent / "py-spy")
        self.output = output
        self.seconds = seconds
        output.parent.mkdir(parents=True, exist_ok=True)
        command = [binary, "record", "--pid", str(pid), "--duration", str(int(seconds))]
        command += ["--rate", str(self.RATE), "--format", "raw", "--output", str(output)]
        command += ["--subprocesses", "--nonblocking"]
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def result(self, articles: int) -> dict[str, float]:
        """Waits for py-spy; CPU ms per article in each bucket, over ``articles`` done meanwhile."""
        _, stderr = self._proc.communicate(timeout=self.seconds + 120)
        if self._proc.returncode != 0 or not self.output.exists():
            raise RuntimeError(f"py-spy failed ({self._proc.returncode}): {stderr[-1000:]}")
        samples = breakdown(self.output.read_text(encoding="utf-8", errors="replace"))
        per_article = {b: n / self.RATE / max(articles, 1) * 1000 for b, n in samples.most_common()}
        return {b: round(ms, 2) for b, ms in per_article.items()}
