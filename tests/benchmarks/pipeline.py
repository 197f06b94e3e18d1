"""The end-to-end benchmark's parts: real news released on a schedule over HTTP, and what it measured.

``ReleaseServer`` is the outlets: each serves RSS of its latest released items
(a window, as real feeds do), items appearing at the times a phase gives them
— an open loop, whatever the pipeline's progress, so latency counted from an
item's release has no coordinated omission. ``ProcessSampler`` follows a
worker's process tree (its parser processes too) for CPU seconds and peak RSS.
"""

from __future__ import annotations

import bisect
import csv
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from tests.feed_server import SHARED

OUTLETS = ("ag", "bbc", "ruwa")


@dataclass(frozen=True)
class Story:
    outlet: str
    n: int
    title: str
    summary: str

    @property
    def link(self) -> str:
        return f"http://bench.example/{self.outlet}/{self.n}"


def corpus() -> list[Story]:
    """AG News (test), BBC 2005 and RUWA headlines, interleaved outlet by outlet (~25,000 reports)."""
    root = SHARED / "corpus"
    by_outlet: dict[str, list[tuple[str, str]]] = {}
    with (root / "ag-news-test.csv").open(newline="", encoding="utf-8") as f:
        by_outlet["ag"] = [(r[1], r[2].replace("\\", " ")) for r in list(csv.reader(f))[1:]]
    with (root / "bbc-news-2005.csv").open(newline="", encoding="utf-8") as f:
        by_outlet["bbc"] = [(r["title"], r["text"][:600]) for r in csv.DictReader(f)]
    with (root / "ruwa-ukraine-war-headlines.csv").open(newline="", encoding="utf-8") as f:
        by_outlet["ruwa"] = [(r["title"], r["desc"]) for r in csv.DictReader(f) if r["title"].strip()]
    stories: list[Story] = []
    cursors = dict.fromkeys(OUTLETS, 0)
    total = sum(len(v) for v in by_outlet.values())
    while len(stories) < total:  # proportional interleave: each outlet spread over the whole run
        outlet = min(OUTLETS, key=lambda o: (cursors[o] + 1) / (len(by_outlet[o]) + 1))
        if cursors[outlet] >= len(by_outlet[outlet]):
            continue
        title, summary = by_outlet[outlet][cursors[outlet]]
        stories.append(Story(outlet, cursors[outlet], title.strip(), summary.strip()))
        cursors[outlet] += 1
    return stories


@dataclass
class _Outlet:
    times: list[float] = field(default_factory=list)  # monotonic release times, ascending
    stories: list[Story] = field(default_factory=list)


class ReleaseServer:
    """RSS outlets on loopback whose items appear on a schedule; ``released[link]`` = wall time."""

    def __init__(self, window: int = 100) -> None:
        self.window = window
        self.outlets = {o: _Outlet() for o in OUTLETS}
        self.released: dict[str, float] = {}  # link → wall-clock release time
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, outlet: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{outlet}.xml"

    def schedule(self, stories: list[Story], rate: float, lead: float = 1.0) -> float:
        """Release ``stories`` at ``rate`` per second from ``lead`` seconds on; returns the last time."""
        start_mono, start_wall = time.monotonic() + lead, time.time() + lead
        with self._lock:
            for i, story in enumerate(stories):
                outlet = self.outlets[story.outlet]
                outlet.times.append(start_mono + i / rate)
                outlet.stories.append(story)
                self.released[story.link] = start_wall + i / rate
        return start_mono + len(stories) / rate

    def render(self, outlet_id: str) -> bytes:
        outlet = self.outlets[outlet_id]
        with self._lock:
            end = bisect.bisect_right(outlet.times, time.monotonic())
            items = outlet.stories[max(0, end - self.window) : end]
        entries = "".join(
            f"<item><title>{escape(s.title)}</title><link>{escape(s.link)}</link>"
            f'<guid isPermaLink="true">{escape(s.link)}</guid>'
            f"<description>{escape(s.summary)}</description>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(self.released[s.link], UTC))}</pubDate></item>"
            for s in reversed(items)
        )
        channel = f"<channel><title>{outlet_id}</title><link>http://bench.example/</link>{entries}</channel>"
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">{channel}</rss>'.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outlet = self.path.strip("/").removesuffix(".xml")
                body = server.render(outlet) if outlet in server.outlets else b"no such outlet"
                self.send_response(200 if outlet in server.outlets else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> ReleaseServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def tree_usage(root: int) -> tuple[float, int]:
    """CPU seconds (user + system, reaped children included) and RSS bytes of a process tree."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    cpu, rss = 0.0, 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
        rss += int(fields[21]) * page
    return cpu, rss


class ProcessSampler(threading.Thread):
    """Peak RSS of a process tree, sampled twice a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self.peak = max(self.peak, tree_usage(self.pid)[1])


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "count": len(values),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "p99": round(float(p99), 3),
        "max": round(max(values), 3),
    }
