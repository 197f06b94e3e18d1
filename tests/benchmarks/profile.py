"""Where a worker's CPU goes, by thread and by stage, at saturation.

``make bench-pipeline`` with ``WIREWATCH_BENCH_PROFILE=SECONDS`` measures a
window of the saturation phase two ways:

1. **Exact CPU per thread** (``/proc/PID/task/TID/stat``, user + system):
   the worker's event loop (``MainThread``: Faust, aiokafka, decoding, the
   sequencer, detectors, polling), its embed thread (tokenization, pooling,
   and its share of inference), the native threads (OpenVINO's inference
   workers, usearch), RocksDB's, the other Python threads, threads that ended
   in the window (the process's CPU not found on a live thread), and the
   worker's child processes (page extraction and feed parsing). Python names
   of threads come from ``py-spy dump``. The sum is the worker tree's CPU.
2. **py-spy samples** of the event-loop thread and of the child processes,
   sorted into stages (``RULES``) and scaled to the thread's exact CPU. A
   sample is a thread py-spy finds runnable, which on a loaded 2-core machine
   is also a thread waiting for a core; so samples give each stage's share of
   its thread, and the exact CPU gives the milliseconds. OpenVINO's inference
   is native: py-spy does not see it (its caller waits, idle), so the model's
   cost comes from part 1.

Each stack goes to the first stage whose rule matches a frame, scanning from
the innermost frame out: ``json.loads`` called by a record's decode called by
an agent is serialization, not the agent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# (stage, substrings of a frame "function (path:line)"), tried in order on each frame, innermost first
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
    (
        "feed parsing",
        ("feedparser", "monitor/parsing", "monitor/items", "monitor/normalize", "sgmllib", "xml/"),
    ),
    (
        "HTTP fetching",
        ("httpx/", "httpcore/", "h11/", "anyio/", "monitor/fetch", "monitor/fulltext", "ssl.py"),
    ),
    ("polling", ("monitor/polling", "monitor/seen", "streams/agents/poll")),
    ("metrics", ("prometheus_client", "monitor/metrics")),
    ("logging", ("logging/",)),
    ("Kafka client (aiokafka)", ("aiokafka/", "kafka/")),
    ("compression", ("cramjam", "lz4", "zstd")),
    ("Faust, mode (stream runtime)", ("faust/", "mode/")),
    ("our agents (glue)", ("streams/",)),
    ("process pools (hand-off)", ("monitor/procpool", "concurrent/futures", "multiprocessing/")),
    ("asyncio: socket I/O, scheduling", ("asyncio/", "selectors.py", "uvloop")),
)
OTHER = "other"
PROCESS = re.compile(r'process (\d+):"')  # the root frame --subprocesses adds
THREAD = re.compile(r"thread \((\d+|0x[0-9A-Fa-f]+)\)(?:: (.*))?")  # the one --threads adds
EVENT_LOOP = "MainThread"


def bucket_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for bucket, needles in RULES:
            if any(n in frame for n in needles):
                return bucket
    return OTHER


def breakdown(raw: str, worker_pid: int | None = None) -> dict[str, Counter[str]]:
    """Samples per stage from py-spy's raw (collapsed) output, ``frame;frame;... count`` per line.

    Keyed by where they ran: ``event loop`` (the worker's main thread), ``child processes``
    (any other process), ``other threads`` (the worker's other Python threads); without
    process and thread frames every sample counts as the event loop's.
    """
    out: dict[str, Counter[str]] = {}
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        where, frames = "event loop", []
        for frame in stack.split(";"):
            if process := PROCESS.match(frame):
                if worker_pid is not None and int(process.group(1)) != worker_pid:
                    where = "child processes"
            elif thread := THREAD.match(frame):
                if where != "child processes" and (thread.group(2) or EVENT_LOOP) != EVENT_LOOP:
                    where = "other threads"
            else:
                frames.append(frame)
        out.setdefault(where, Counter())[bucket_of(frames)] += int(count)
    return out


def _stat_cpu(path: Path) -> tuple[str, float]:
    """(comm, user + system CPU seconds) from a ``stat`` file of /proc."""
    text = path.read_text()
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return comm, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """tid → (comm, CPU seconds) of every live thread of a process."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = _stat_cpu(task / "stat")
        except (OSError, ValueError):
            continue
    return out


def process_cpu(pid: int) -> float:
    """CPU seconds of a process, its ended threads included, not its children."""
    return _stat_cpu(Path(f"/proc/{pid}/stat"))[1]


def py_spy() -> str:
    return shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def python_thread_names(pid: int, attempts: int = 5) -> dict[int, str]:
    """tid → Python thread name, from ``py-spy dump`` (native threads are not listed).

    A dump of a busy process without pausing it fails now and then (it read a
    frame being changed): tried again until the main thread is in it.
    """
    for _ in range(attempts):
        done = subprocess.run(
            [py_spy(), "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True, timeout=60
        )
        names = re.findall(r'^Thread (\d+) \([^)]*\): "([^"]*)"', done.stdout, flags=re.MULTILINE)
        if any(int(tid) == pid for tid, _ in names):
            return {int(tid): name for tid, name in names}
    raise RuntimeError(f"py-spy dump read no threads of {pid}: {done.stderr[-500:]}")


def thread_group(tid: int, pid: int, comm: str, names: dict[int, str]) -> str:
    if tid == pid:
        return "worker: event loop (MainThread)"
    name = names.get(tid)
    if name is None:
        if comm.startswith("rocksdb"):
            return "worker: RocksDB background threads"
        return "worker: native threads (OpenVINO inference, usearch)"
    if name.startswith("embed"):
        return "worker: embed thread (tokenize, pool, inference share)"
    return "worker: other Python threads"


class Profiler:
    """Exact CPU per thread and ``py-spy record`` of a worker's tree over a fixed window."""

    RATE = 67  # samples per second per thread: py-spy's own cost stays below 1% of a core

    def __init__(self, pid: int, seconds: float, output: Path) -> None:
        from tests.benchmarks.pipeline import tree_usage

        self.pid, self.output, self.seconds = pid, output, seconds
        output.parent.mkdir(parents=True, exist_ok=True)
        self._names = python_thread_names(pid)
        self._threads, self._process = thread_cpu(pid), process_cpu(pid)
        self._tree = tree_usage(pid)[0]
        command = [py_spy(), "record", "--pid", str(pid), "--duration", str(int(seconds))]
        command += ["--rate", str(self.RATE), "--format", "raw", "--output", str(output)]
        command += ["--subprocesses", "--threads", "--nonblocking"]
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def result(self, articles: int) -> dict[str, object]:
        """Waits for py-spy; CPU ms per article by thread group and, within threads, by stage."""
        from tests.benchmarks.pipeline import tree_usage

        per = 1000 / max(articles, 1)
        threads, process, tree = thread_cpu(self.pid), process_cpu(self.pid), tree_usage(self.pid)[0]
        groups: Counter[str] = Counter()
        for tid, (comm, cpu) in threads.items():
            before = self._threads.get(tid, (comm, 0.0))[1]
            groups[thread_group(tid, self.pid, comm, self._names)] += cpu - before
        live = sum(groups.values())
        groups["worker: threads that ended in the window"] = (process - self._process) - live
        groups["child processes: page extraction, feed parsing"] = (tree - self._tree) - (
            process - self._process
        )
        _, stderr = self._proc.communicate(timeout=self.seconds + 120)
        if self._proc.returncode != 0 or not self.output.exists():
            raise RuntimeError(f"py-spy failed ({self._proc.returncode}): {stderr[-1000:]}")
        samples = breakdown(self.output.read_text(encoding="utf-8", errors="replace"), self.pid)
        cpu_ms = {g: round(s * per, 2) for g, s in groups.most_common()}
        return {
            "cpu_ms_per_article": cpu_ms,
            "event_loop_by_stage": scaled(
                samples.get("event loop"), cpu_ms["worker: event loop (MainThread)"]
            ),
            "child_processes_by_stage": scaled(
                samples.get("child processes"), cpu_ms["child processes: page extraction, feed parsing"]
            ),
        }


def scaled(samples: Counter[str] | None, total_ms: float) -> dict[str, float]:
    """Each stage's share of a thread's samples, times the thread's CPU ms per article."""
    if not samples:
        return {}
    count = sum(samples.values())
    return {stage: round(n / count * total_ms, 2) for stage, n in samples.most_common()}
