"""The end-to-end benchmark's parts: real news released on a schedule over HTTP, and what it measured.

``ReleaseServer`` is the outlets: each serves RSS of its latest released items
(a window, as real feeds do), items appearing at the times a phase gives them
— an open loop, whatever the pipeline's progress, so latency counted from an
item's release has no coordinated omission. With ``pages=True`` each item's
link is its article page on the same server (and a ``/robots.txt``), so the
full-text step fetches and extracts a page per article. ``ProcessSampler``
follows a worker's process tree (its parser processes too) for CPU seconds and
peak memory (proportional set size, and summed RSS).
"""

from __future__ import annotations

import bisect
import csv
import os
import sys
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
    body: tuple[str, ...] = ()  # the article page's paragraphs (BBC's whole text; the others have none)


def corpus() -> list[Story]:
    """AG News (test), BBC 2005 and RUWA headlines, interleaved outlet by outlet (~25,000 reports)."""
    root = SHARED / "corpus"
    by_outlet: dict[str, list[tuple[str, str, str]]] = {}  # title, feed text, page text
    with (root / "ag-news-test.csv").open(newline="", encoding="utf-8") as f:
        by_outlet["ag"] = [(r[1], r[2].replace("\\", " "), "") for r in list(csv.reader(f))[1:]]
    with (root / "bbc-news-2005.csv").open(newline="", encoding="utf-8") as f:
        by_outlet["bbc"] = [(r["title"], r["text"][:600], r["text"]) for r in csv.DictReader(f)]
    with (root / "ruwa-ukraine-war-headlines.csv").open(newline="", encoding="utf-8") as f:
        by_outlet["ruwa"] = [(r["title"], r["desc"], "") for r in csv.DictReader(f) if r["title"].strip()]
    stories: list[Story] = []
    cursors = dict.fromkeys(OUTLETS, 0)
    total = sum(len(v) for v in by_outlet.values())
    while len(stories) < total:  # proportional interleave: each outlet spread over the whole run
        outlet = min(OUTLETS, key=lambda o: (cursors[o] + 1) / (len(by_outlet[o]) + 1))
        if cursors[outlet] >= len(by_outlet[outlet]):
            continue
        title, summary, text = by_outlet[outlet][cursors[outlet]]
        body = tuple(p.strip() for p in text.split("\n") if p.strip())
        stories.append(Story(outlet, cursors[outlet], title.strip(), summary.strip(), body))
        cursors[outlet] += 1
    return stories


@dataclass
class _Outlet:
    times: list[float] = field(default_factory=list)  # monotonic release times, ascending
    stories: list[Story] = field(default_factory=list)


# What surrounds a story on a real news page, so a page costs what a real one does to parse and
# extract: the Fundus set's 80 pages are 370 KB at the median, most of it inline state and styles.
_SECTIONS = ("World", "UK", "Business", "Politics", "Technology", "Science", "Health", "Sport", "Culture")
_NAV = "".join(
    f'<li class="nav-section"><a href="/{s.lower()}">{s}</a><ul class="nav-sub">'
    + "".join(f'<li><a href="/{s.lower()}/{i}">{s} topic {i}</a></li>' for i in range(12))
    + "</ul></li>"
    for s in _SECTIONS
)
_STYLE = "".join(
    f".c{i}{{margin:{i % 7}px {i % 5}px;padding:{i % 3}px;color:#{i * 2654435761 % 0xFFFFFF:06x};"
    f"font:{12 + i % 6}px/1.{i % 9} sans-serif}}\n"
    for i in range(1500)
)
_STATE = "".join(
    f'{{"id":"teaser-{i}","href":"/world/{i}","headline":"Teaser headline number {i} for the front page",'
    f'"image":{{"src":"/img/{i}.jpg","width":976,"height":549,"alt":"A photograph"}},"tags":["a","b"]}},'
    for i in range(700)
)
_RELATED = "".join(
    f'<li><a href="/related/{i}"><img src="/img/r{i}.jpg" alt=""><h3>Related headline {i}: what it means</h3>'
    f"<p>A short teaser for another story, shown beside every article.</p></a></li>"
    for i in range(12)
)
_FOOTER = "".join(f'<li><a href="/footer/{i}">Footer link {i}</a></li>' for i in range(40))
_COMMENTS = "".join(
    f'<li class="comment"><span class="author">reader{i}</span><p>Comment {i}: I could not agree less '
    "with this, and the strikes will go on whatever anyone says.</p></li>"
    for i in range(8)
)


def render_page(story: Story, published: datetime) -> bytes:
    """The story's page: its text (BBC's whole article, the others' teaser) in a real page's weight."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story.body)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(story.title)} | {story.outlet}</title>
<meta name="description" content="{escape(story.summary, {'"': "&quot;"})}">
<style>{_STYLE}</style>
<script>window.__STATE__=[{_STATE}{{}}];</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<header><a class="logo" href="/">{story.outlet}</a><nav><ul>{_NAV}</ul></nav></header>
<div class="ad ad-leaderboard">Advertisement</div>
<main><article>
<h1>{escape(story.title)}</h1>
<p class="byline">By Staff Reporter ·
<time datetime="{published.isoformat()}">{format_datetime(published)}</time></p>
<p class="standfirst">{escape(story.summary)}</p>
<div class="article-body">{paragraphs}</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{_RELATED}</ul></aside>
<section class="comments"><h2>Comments</h2><ul>{_COMMENTS}</ul></section>
</main>
<footer><ul>{_FOOTER}</ul></footer>
</body></html>""".encode()


ROBOTS = b"User-agent: *\nDisallow: /private/\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (the worker's HTTP pool closing a kept-alive connection) is expected
        here; anything else is printed as the standard server prints it."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ReleaseServer:
    """RSS outlets on loopback whose items appear on a schedule; ``released[link]`` = wall time.

    With ``pages``, an item's link is its article page here (``/<outlet>/<n>``, 404 until
    released), and the server has a robots.txt; without, links point at an unresolvable
    host, so the full-text step gives up on them at once. A page's link holds the server's
    port, and so does the article's id: runs that compare alert ids share a ``port``.
    """

    def __init__(self, window: int = 100, pages: bool = False, port: int = 0) -> None:
        self.window = window
        self.pages = pages
        self.outlets = {o: _Outlet() for o in OUTLETS}
        self.released: dict[str, float] = {}  # link → wall-clock release time
        self.pages_served = 0
        self._stories: dict[str, Story] = {}  # page path → story
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", port), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, outlet: str) -> str:
        return f"{self.base}/{outlet}.xml"

    def link(self, story: Story) -> str:
        return f"{self.base if self.pages else 'http://bench.example'}/{story.outlet}/{story.n}"

    def schedule(self, stories: list[Story], rate: float, lead: float = 1.0) -> float:
        """Release ``stories`` at ``rate`` per second from ``lead`` seconds on; returns the last time."""
        start_mono, start_wall = time.monotonic() + lead, time.time() + lead
        with self._lock:
            for i, story in enumerate(stories):
                outlet = self.outlets[story.outlet]
                outlet.times.append(start_mono + i / rate)
                outlet.stories.append(story)
                self.released[self.link(story)] = start_wall + i / rate
                self._stories[f"/{story.outlet}/{story.n}"] = story
        return start_mono + len(stories) / rate

    def render(self, outlet_id: str) -> bytes:
        outlet = self.outlets[outlet_id]
        with self._lock:
            end = bisect.bisect_right(outlet.times, time.monotonic())
            items = outlet.stories[max(0, end - self.window) : end]
        links = [self.link(s) for s in reversed(items)]
        entries = "".join(
            f"<item><title>{escape(s.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="true">{escape(link)}</guid>'
            f"<description>{escape(s.summary)}</description>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(self.released[link], UTC))}</pubDate></item>"
            for s, link in zip(reversed(items), links, strict=True)
        )
        channel = f"<channel><title>{outlet_id}</title><link>http://bench.example/</link>{entries}</channel>"
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">{channel}</rss>'.encode()

    def page(self, path: str) -> bytes | None:
        """The released story's page at ``path``, or None (unknown, or not released yet)."""
        with self._lock:
            story = self._stories.get(path)
            released = self.released.get(self.link(story)) if story else None
            if story is None or released is None or released > time.time():
                return None
            self.pages_served += 1
        return render_page(story, datetime.fromtimestamp(released, UTC))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                outlet = path.strip("/").removesuffix(".xml")
                if path.endswith(".xml") and outlet in server.outlets:
                    self._send(200, "application/rss+xml", server.render(outlet))
                elif server.pages and path == "/robots.txt":
                    self._send(200, "text/plain", ROBOTS)
                elif server.pages and (page := server.page(path)) is not None:
                    self._send(200, "text/html; charset=utf-8", page)
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
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


def tree_pss(root: int) -> int:
    """Proportional set size of a process tree: each page shared between its processes (the
    forkserver's preloaded code in every process forked from it) counted once, split among them.
    Summed RSS counts such a page once per process."""
    pss = 0
    for pid in process_tree(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        kib = next((line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")), "0")
        pss += int(kib) * 1024
    return pss


class ProcessSampler(threading.Thread):
    """Peak memory of a process tree, sampled twice a second: summed RSS and PSS."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.peak_pss = pid, 0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self.peak = max(self.peak, tree_usage(self.pid)[1])
            self.peak_pss = max(self.peak_pss, tree_pss(self.pid))


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
