"""Parsing feed bodies with feedparser, in separate processes with a time limit.

A huge or pathological feed (deep nesting, entity tricks, megabytes of
markup) must never block the event loop, the consumer's heartbeats or the
other feeds. ``ParserPool`` runs ``parse_feed`` in worker processes (started
with ``forkserver``: the worker process has threads, so plain ``fork`` is
unsafe), each with an address-space limit, and kills and replaces the pool
when a parse overruns its time.

feedparser only ever gets bytes (wrapped in a stream: a ``bytes`` argument
that looks like a path would be opened as a file) and the HTTP response
headers; it never fetches anything itself.
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import resource
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from monitor.errors import ParseCrashed, ParseTimeout
from monitor.normalize import FeedContext, html_to_text, normalize_entry, normalize_language
from streams.records import Article

log = logging.getLogger(__name__)

ParseKind = Literal["feed", "html", "empty", "not-a-feed"]
CHILD_MEMORY_LIMIT = 1536 * 1024 * 1024


@dataclass(frozen=True)
class ParseResult:
    """What a body turned out to be, and its entries as articles."""

    kind: ParseKind
    feed_title: str = ""
    version: str = ""
    articles: list[Article] = field(default_factory=list)
    skipped: int = 0
    bozo: str | None = None
    skips: tuple[str, ...] = ()  # why each skipped entry was skipped ("entry 3: ...")

    @property
    def reason(self) -> str:
        """A sentence for logs when the body is not a usable feed."""
        return {
            "feed": "",
            "html": "the server sent an HTML page, not a feed (is the URL the site's home page?)",
            "empty": "the response body is empty",
            "not-a-feed": f"not a feed: {self.bozo or 'no feed or entries found'}",
        }[self.kind]


def _looks_like_html(body: bytes, content_type: str) -> bool:
    head = body[:1024].lstrip().lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.startswith((b"<!doctype html", b"<html")) or (
        "html" in content_type and b"<rss" not in head and b"<feed" not in head
    )


def run_feedparser(body: bytes, headers: dict[str, str], url: str) -> Any:
    """feedparser on bytes only, with the response headers and the URL as base for relative links."""
    import feedparser

    lowered = {k.lower(): v for k, v in headers.items()}
    # the base for relative links: Content-Location resolved against the URL, if it is a web URL
    base = urljoin(url, lowered.get("content-location", "")) if url else lowered.get("content-location", "")
    if base and urlsplit(base).scheme not in ("http", "https"):
        base = url
    lowered["content-location"] = base
    return feedparser.parse(
        io.BytesIO(body), response_headers=lowered, sanitize_html=True, resolve_relative_uris=True
    )


def parse_feed(body: bytes, headers: dict[str, str], feed: FeedContext, fetched_at: datetime) -> ParseResult:
    """Parse and normalize one body. Pure: safe to run in any process."""
    if not body.strip():
        return ParseResult(kind="empty")
    lowered = {k.lower(): v for k, v in headers.items()}
    parsed = run_feedparser(body, lowered, feed.url)
    bozo = repr(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    entries = parsed.get("entries") or []
    meta = parsed.get("feed") or {}
    version = parsed.get("version") or ""
    if not entries and not version and not meta.get("title"):
        kind: ParseKind = "html" if _looks_like_html(body, lowered.get("content-type", "")) else "not-a-feed"
        return ParseResult(kind=kind, bozo=bozo)
    feed_title = html_to_text(str(meta.get("title") or ""), 300).replace("\n", " ")
    source = feed.title or feed_title or feed.feed_id
    feed_language = normalize_language(meta.get("language")) or normalize_language(
        lowered.get("content-language")
    )
    articles: list[Article] = []
    skips: list[str] = []
    for number, entry in enumerate(entries, 1):
        try:
            article = normalize_entry(entry, feed, source, feed_language, fetched_at)
        except Exception as exc:  # one odd entry must not cost the others
            log.debug("entry skipped: %r", exc)
            skips.append(f"entry {number}: could not be read ({type(exc).__name__}: {exc})")
            continue
        if article is None:
            skips.append(f"entry {number}: no title, text or link")
        else:
            articles.append(article)
    return ParseResult(
        kind="feed",
        feed_title=feed_title,
        version=version,
        articles=articles,
        skipped=len(skips),
        bozo=bozo,
        skips=tuple(skips),
    )


def _limit_child_memory() -> None:  # pragma: no cover - runs in the parser process
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT))
    # a terminal's Ctrl-C reaches the whole process group: the worker shuts its parsers down
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ParserPool:
    """Feed parsing in worker processes with a per-parse time limit."""

    def __init__(self, workers: int = 1, timeout: float = 20.0) -> None:
        self.workers = workers
        self.timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        # at most one parse per process is submitted: the time limit then counts parsing
        # only (not waiting in the pool's queue), and a reset cancels no queued work
        self._slots = asyncio.Semaphore(workers)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_limit_child_memory,
                max_tasks_per_child=500,
            )
        return self._executor

    def _reset(self) -> None:
        """Kill the worker processes (a parse overran) and start afresh on next use."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def parse(
        self, body: bytes, headers: dict[str, str], feed: FeedContext, fetched_at: datetime
    ) -> ParseResult:
        """Parse in a worker process; raises only ParseTimeout or ParseCrashed (or our own cancellation)."""
        async with self._slots:
            return await self._parse(body, headers, feed, fetched_at)

    async def _parse(
        self, body: bytes, headers: dict[str, str], feed: FeedContext, fetched_at: datetime
    ) -> ParseResult:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            executor = self._pool()
            future = loop.run_in_executor(executor, parse_feed, body, headers, feed, fetched_at)
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                if self._executor is executor:
                    self._reset()
                raise ParseTimeout(f"parsing took longer than {self.timeout:g}s") from None
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we are being cancelled (the feed moved away): not the parser's fault
                # the pool was reset under this parse (another one overran): try once more
                if attempt == 2:
                    raise ParseCrashed("the parser pool was reset twice during this parse") from None
            except BrokenProcessPool:
                # another parse on the same pool overran or the process died: try once more
                if self._executor is executor:
                    self._reset()
                if attempt == 2:
                    raise ParseCrashed("the parser process died on this feed") from None
            except Exception as exc:  # MemoryError under the child's limit, RecursionError, pickling…
                raise ParseCrashed(f"the parser failed: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
