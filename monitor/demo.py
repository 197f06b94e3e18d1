"""The demo's news, served as real RSS feeds from a local HTTP server.

``examples/demo/news.yaml`` lists outlets and timed items. The server releases
each item ``at`` seconds (divided by ``speed``) after its clock starts: when the
worker reports ready (``/ready``: model loaded, partitions assigned), so a slow
start (the broker, the model) does not bunch the news up, and the detectors
fire in a believable order. Until then the feeds are valid and empty. Feeds are polled over
real HTTP, exactly like a publisher's: the poller, parser and conditional
requests under test are the production ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.yamlsource import load_yaml

if TYPE_CHECKING:
    from monitor.config import WirewatchConfig
    from streams.records import Alert

DEMO_DIR = Path(__file__).resolve().parent.parent / "examples" / "demo"
DEMO_NEWS = DEMO_DIR / "news.yaml"
DEMO_CONFIG = DEMO_DIR / "wirewatch.yaml"
FEEDS_ENV = "WIREWATCH_DEMO_FEEDS"  # the config's feed URLs start with it


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Outlet(_Model):
    id: str
    title: str
    link: str = Field(description="Home page; item links are this plus the item id.")
    language: str = Field("en", description="The feed's declared language (RSS `<language>`).")


class Item(_Model):
    at: float = Field(ge=0, description="Seconds after the first poll at which it appears.")
    outlet: str
    id: str = Field(description="Stable within the outlet; a later item with the same id is an edit.")
    title: str
    summary: str = ""
    body: tuple[str, ...] = Field(
        (), description="The article page's paragraphs; without them the page is a stub (no text to extract)."
    )


class Expected(_Model):
    detector: str
    item: str
    fulltext: bool = Field(False, description="Fires only when the worker reads the item's page.")


class DemoNews(_Model):
    outlets: tuple[Outlet, ...]
    items: tuple[Item, ...]
    expect: tuple[Expected, ...] = ()

    @model_validator(mode="after")
    def _known_outlets(self) -> DemoNews:
        names = {o.id for o in self.outlets}
        unknown = sorted({i.outlet for i in self.items} - names)
        if unknown:
            raise ValueError(f"items name unknown outlets: {unknown}")
        return self

    @classmethod
    def load(cls, path: Path = DEMO_NEWS) -> DemoNews:
        return cls.model_validate(load_yaml(path.read_text(encoding="utf-8"), str(path), {}).data)

    def expected(self, fulltext: bool = True) -> tuple[Expected, ...]:
        """The alerts the demo fires: with the pages read (the worker), or from feed text alone."""
        return tuple(e for e in self.expect if fulltext or not e.fulltext)

    @property
    def duration(self) -> float:
        return max((i.at for i in self.items), default=0.0)

    def outlet(self, item: Item) -> Outlet:
        return next(o for o in self.outlets if o.id == item.outlet)

    def link(self, item: Item, base: str | None = None) -> str:
        """The item's page: on the outlet's (fictional) site, or under ``base``, the demo server."""
        if base:
            return f"{base.rstrip('/')}/{item.outlet}/{item.id}"
        return f"{self.outlet(item).link.rstrip('/')}/{item.id}"

    def latest(self, outlet_id: str, item_id: str, at: float) -> Item | None:
        """The item's version released by ``at`` (an edit replaces the earlier), or None."""
        found = None
        for item in self.items:
            if item.outlet == outlet_id and item.id == item_id and item.at <= at:
                found = item
        return found


class DemoClock:
    """Started once; ``speed`` > 1 plays the news faster (tests)."""

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._lock = threading.Lock()
        self.started: float | None = None  # monotonic
        self.started_at: datetime | None = None  # wall clock, for publication dates

    def start(self) -> None:
        with self._lock:
            if self.started is None:
                self.started = time.monotonic()
                self.started_at = datetime.now(UTC)

    def elapsed(self) -> float:
        """News seconds since the start (0 before it)."""
        return 0.0 if self.started is None else (time.monotonic() - self.started) * self.speed

    def published(self, item: Item) -> datetime:
        assert self.started_at is not None
        return self.started_at + timedelta(seconds=item.at / self.speed)


def render_feed(news: DemoNews, outlet: Outlet, clock: DemoClock, base: str | None = None) -> bytes:
    """The outlet's RSS 2.0 as of now: released items, latest edit of each, newest first.

    Item links point at ``base`` (the demo server's pages) when given."""
    now = clock.elapsed()
    latest: dict[str, Item] = {}
    for item in news.items if clock.started is not None else ():
        if item.outlet == outlet.id and item.at <= now:
            latest[item.id] = item  # listed in time order: a later edit replaces the earlier
    entries = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(news.link(i, base))}</link>"
        f'<guid isPermaLink="true">{escape(news.link(i, base))}</guid>'
        f"<description>{escape(i.summary)}</description>"
        f"<pubDate>{format_datetime(clock.published(i))}</pubDate></item>"
        for i in sorted(latest.values(), key=lambda i: -i.at)
    )
    channel = (
        f"<channel><title>{escape(outlet.title)}</title><link>{escape(outlet.link)}</link>"
        f"<description>Wirewatch demo news</description><language>{escape(outlet.language)}</language>"
        f"{entries}</channel>"
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">{channel}</rss>'.encode()


# what surrounds a story on a news site: the extractor must keep none of it (the comment would
# fire the `strike` detector if it leaked into an article)
_NAV = ("World", "Ukraine", "Business", "Sport", "Culture", "Opinion", "Podcasts")
_RELATED = (
    "Ten photos that defined the week",
    "Opinion: what the markets are telling us",
    "Weather: a cold front moves in from the north",
)
_COMMENTS = (
    ("Olena_K", "Stay safe, everyone. Another sleepless night of explosions here."),
    ("mark1987", "I will believe it when I see it."),
)
ROBOTS_TXT = b"User-agent: *\nDisallow: /search\nDisallow: /private/\n"


def render_page(news: DemoNews, item: Item, published: datetime) -> bytes:
    """The item's article page: the story amid navigation, ads, related links and comments."""
    outlet = news.outlet(item)
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item.body)
    nav = "".join(f'<li><a href="/{outlet.id}/section/{n.lower()}">{n}</a></li>' for n in _NAV)
    related = "".join(
        f'<li><a href="/{outlet.id}/more/{i}">{escape(t)}</a></li>' for i, t in enumerate(_RELATED)
    )
    comments = "".join(
        f'<li class="comment"><span class="author">{escape(a)}</span><p>{escape(t)}</p></li>'
        for a, t in _COMMENTS
    )
    html = f"""<!DOCTYPE html>
<html lang="{escape(outlet.language)}"><head><meta charset="utf-8">
<title>{escape(item.title)} | {escape(outlet.title)}</title>
<meta name="description" content="{escape(item.summary)}">
<meta property="og:title" content="{escape(item.title)}">
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<header><a class="logo" href="/{outlet.id}/">{escape(outlet.title)}</a><nav><ul>{nav}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
<div class="ad ad-leaderboard">Advertisement · Save 40% on your first year of premium coffee</div>
<main><article>
<h1>{escape(item.title)}</h1>
<p class="byline">By Staff Reporter ·
<time datetime="{published.isoformat()}">{format_datetime(published)}</time></p>
<p class="standfirst">{escape(item.summary)}</p>
<div class="article-body">{paragraphs}</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
<div class="ad ad-mpu">Advertisement · Holidays in the sun from 199</div>
<section class="comments"><h2>Comments (2)</h2><ul>{comments}</ul>
<form><textarea name="comment">Join the conversation</textarea></form></section>
</main>
<footer><p>© 2025 {escape(outlet.title)} · <a href="/about">About us</a> · <a href="/privacy">Privacy</a>
· <a href="/newsletter">Sign up for our newsletter</a></p></footer>
</body></html>"""
    return html.encode("utf-8")


class DemoFeedServer:
    """``/<outlet>.xml`` for every outlet and ``/<outlet>/<item>`` for its released items' pages
    (and a ``/robots.txt``), on loopback, in a background thread."""

    def __init__(self, news: DemoNews | None = None, speed: float = 1.0, port: int = 0) -> None:
        self.news = news or DemoNews.load()
        self.clock = DemoClock(speed)
        self.polls = 0
        self.pages = 0
        outlets = {f"/{o.id}.xml": o for o in self.news.outlets}
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                outlet = outlets.get(path)
                if outlet is None:
                    self._page(path)
                    return
                server.polls += 1
                body = render_feed(server.news, outlet, server.clock, server.url)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def _page(self, path: str) -> None:
                if path == "/robots.txt":
                    self._send(ROBOTS_TXT, "text/plain; charset=utf-8")
                    return
                outlet_id, _, item_id = path.strip("/").partition("/")
                item = server.news.latest(outlet_id, item_id, server.clock.elapsed())
                if item is None or server.clock.started is None:
                    self.send_error(404, "no such demo page")
                    return
                server.pages += 1
                self._send(
                    render_page(server.news, item, server.clock.published(item)), "text/html; charset=utf-8"
                )

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the worker's metrics and logs tell the story

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-feeds", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def link(self, item: Item) -> str:
        """The item's link as this server's feeds give it."""
        return self.news.link(item, self.url)

    @property
    def finished(self) -> bool:
        """Every item has been released."""
        return self.clock.elapsed() >= self.news.duration

    def start(self) -> DemoFeedServer:
        self._thread.start()
        return self

    def start_news_when_ready(self, ready_url: str, timeout: float = 600.0) -> threading.Thread:
        """Start the news clock once ``ready_url`` (a worker's ``/ready``) answers 200."""

        def wait() -> None:
            if wait_until_ready(ready_url, threading.Event(), timeout):
                self.clock.start()

        thread = threading.Thread(target=wait, name="demo-news-clock", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> DemoFeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until_ready(ready_url: str, stop: threading.Event, timeout: float = 600.0) -> bool:
    """True once ``ready_url`` answers 200; False if ``stop`` is set or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass  # the worker's web server is not up yet
        stop.wait(0.5)
    return False


class DemoWatch:
    """The demo's terminal: starts the news when the worker is ready, prints alerts as they fire.

    Runs in a thread beside the worker (which owns the main thread and its
    signals): it waits for ``/ready``, starts the news clock, then reads the
    alerts topic as any subscriber would (``streams.subscribe``) and scrapes the
    worker's ``/metrics`` for the closing summary.
    """

    def __init__(self, config: WirewatchConfig, feeds: DemoFeedServer, show: Callable[[Alert], None]) -> None:
        self.config = config
        self.feeds = feeds
        self.show = show
        self.alerts: list[Alert] = []
        self.samples: dict[str, float] = {}  # the last scrape: "name{labels}" → value
        self._base = f"http://{config.metrics.host}:{config.metrics.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-watch", daemon=True)

    def start(self) -> DemoWatch:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def summary(self) -> str:
        s = self.samples
        articles = s.get('wirewatch_articles_total{stage="dedup"}', 0)
        exact = s.get('wirewatch_duplicates_total{kind="exact"}', 0)
        near = s.get('wirewatch_duplicates_total{kind="near"}', 0)
        stories = s.get("wirewatch_stories_opened_total", 0)
        return (
            f"{articles:.0f} articles, {exact + near:.0f} duplicates ({exact:.0f} exact, {near:.0f} near), "
            f"{stories:.0f} stories, {len(self.alerts)} alerts"
        )

    def _run(self) -> None:
        if not wait_until_ready(f"{self._base}/ready", self._stop):
            return
        self.feeds.clock.start()
        asyncio.run(self._watch())

    async def _watch(self) -> None:
        from streams.records import Alert
        from streams.subscribe import tail_alerts
        from streams.topics import Topics

        topic = Topics(self.config.kafka.topic_prefix).alerts
        since = datetime.now(UTC) - timedelta(minutes=1)  # anything made while this thread started

        async def tail() -> None:
            async for item in tail_alerts(self.config.kafka, topic, since=since):
                if isinstance(item, Alert):
                    self.alerts.append(item)
                    self.show(item)

        task = asyncio.create_task(tail())
        try:
            while not self._stop.is_set() and not task.done():
                self._scrape()
                await asyncio.sleep(1.0)
        finally:
            self._scrape()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _scrape(self) -> None:
        try:
            text = httpx.get(f"{self._base}/metrics", timeout=2.0).text
        except httpx.HTTPError:
            return
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        self.samples = samples
