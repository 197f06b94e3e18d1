"""Parsing feed bodies with feedparser, in separate processes with a time limit.

A huge or pathological feed (deep nesting, entity tricks, megabytes of
markup) must never block the event loop, the consumer's heartbeats or the
other feeds. ``ParserPool`` runs ``parse_feed`` in worker processes with a
time limit (``monitor.procpool``).

feedparser only ever gets bytes (wrapped in a stream: a ``bytes`` argument
that looks like a path would be opened as a file) and the HTTP response
headers; it never fetches anything itself.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from monitor.errors import ParseCrashed, ParseTimeout
from monitor.items import KnownItems, scope_key, split_items
from monitor.normalize import FeedContext, html_to_text, normalize_entry, normalize_language
from monitor.procpool import TimedProcessPool
from streams.records import Article

log = logging.getLogger(__name__)

ParseKind = Literal["feed", "html", "empty", "not-a-feed"]


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
    # Per item of the body, in order, when ``parse_feed`` was told the known items (``monitor.items``):
    # the item's key and the index of its article in ``articles``, or None for a known item that was not
    # read. Items that gave no article are left out. Empty when the body was read without being cut.
    items: tuple[tuple[bytes, int | None], ...] = ()
    scope: bytes = b""  # what besides their bytes decided the items' articles (``monitor.items``)

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


# Bump when normalization changes what an unchanged item's article is, so that every item is read again.
NORMALIZATION_REVISION = 1


def parse_feed(
    body: bytes,
    headers: dict[str, str],
    feed: FeedContext,
    fetched_at: datetime,
    known: KnownItems | None = None,
) -> ParseResult:
    """Parse and normalize one body. Pure: safe to run in any process.

    With ``known`` (a poll's case) the body is cut into its items and the known ones are not read
    (``monitor.items``); ``ParseResult.items`` then says which article came from which item. Without it
    (feed checks, archives) the body is read whole, as it is whenever it cannot be cut.
    """
    if not body.strip():
        return ParseResult(kind="empty")
    lowered = {k.lower(): v for k, v in headers.items()}
    split = split_items(body) if known is not None else None
    if known is None or split is None:
        return _read(body, lowered, feed, fetched_at, "").result
    keys = split.keys(body)
    skip = {i for i, key in enumerate(keys) if key in known.keys}
    read = _read(split.without(body, skip) if skip else body, lowered, feed, fetched_at, split.ancestors)
    if skip and not (read.result.scope == known.scope and read.cut_into(len(keys) - len(skip))):
        skip = set()  # read in another scope, or the cut went wrong: read the whole body
        read = _read(body, lowered, feed, fetched_at, split.ancestors)
    if not read.cut_into(len(keys) - len(skip)):
        return read.result
    entries = iter(read.entries)
    items: list[tuple[bytes, int | None]] = []
    for index, key in enumerate(keys):
        article = None if index in skip else next(entries)
        if index in skip or article is not None:
            items.append((key, article))
    return replace(read.result, items=tuple(items))


@dataclass(frozen=True)
class _Read:
    result: ParseResult
    entries: list[int | None]  # per feedparser entry: the index of its article, or None

    def cut_into(self, items: int) -> bool:
        """Whether feedparser found one entry per item it was given: else items and articles can't pair."""
        return self.result.kind == "feed" and len(self.entries) == items


def _read(
    body: bytes, lowered: dict[str, str], feed: FeedContext, fetched_at: datetime, ancestors: str
) -> _Read:
    """feedparser and normalization on one body (the whole feed, or the feed without its known items)."""
    parsed = run_feedparser(body, lowered, feed.url)
    bozo = repr(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    entries = parsed.get("entries") or []
    meta = parsed.get("feed") or {}
    version = parsed.get("version") or ""
    if not entries and not version and not meta.get("title"):
        kind: ParseKind = "html" if _looks_like_html(body, lowered.get("content-type", "")) else "not-a-feed"
        return _Read(ParseResult(kind=kind, bozo=bozo), [])
    feed_title = html_to_text(str(meta.get("title") or ""), 300).replace("\n", " ")
    source = feed.title or feed_title or feed.feed_id
    feed_language = normalize_language(meta.get("language")) or normalize_language(
        lowered.get("content-language")
    )
    articles: list[Article] = []
    skips: list[str] = []
    paired: list[int | None] = []
    for number, entry in enumerate(entries, 1):
        paired.append(None)
        try:
            article = normalize_entry(entry, feed, source, feed_language, fetched_at)
        except Exception as exc:  # one odd entry must not cost the others
            log.debug("entry skipped: %r", exc)
            skips.append(f"entry {number}: could not be read ({type(exc).__name__}: {exc})")
            continue
        if article is None:
            skips.append(f"entry {number}: no title, text or link")
        else:
            paired[-1] = len(articles)
            articles.append(article)
    scope = scope_key(
        ancestors,
        [lowered.get(name) for name in ("content-type", "content-location", "content-language")],
        feed,
        source,
        feed_language,
        NORMALIZATION_REVISION,
    )
    result = ParseResult(
        kind="feed",
        feed_title=feed_title,
        version=version,
        articles=articles,
        skipped=len(skips),
        bozo=bozo,
        skips=tuple(skips),
        scope=scope,
    )
    return _Read(result, paired)


_WARM_FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Warm</title>'
    b"<item><title>Warm</title><link>http://warm.invalid/1</link>"
    b"<description>&lt;p&gt;A paragraph&lt;/p&gt;</description></item></channel></rss>"
)


def warm_parsing() -> None:
    """One small parse: a new process's first one is slow (``monitor.prewarm``)."""
    run_feedparser(_WARM_FEED, {"content-type": "application/rss+xml"}, "http://warm.invalid/feed")


class ParserPool(TimedProcessPool):
    """Feed parsing in worker processes with a per-parse time limit (``monitor.procpool``)."""

    def __init__(self, workers: int = 1, timeout: float = 20.0) -> None:
        super().__init__(workers, timeout, ParseTimeout, ParseCrashed, what="parsing", warm=warm_parsing)

    async def parse(
        self,
        body: bytes,
        headers: dict[str, str],
        feed: FeedContext,
        fetched_at: datetime,
        known: KnownItems | None = None,
    ) -> ParseResult:
        """Parse in a worker process; raises only ParseTimeout or ParseCrashed (or our own cancellation)."""
        return await self.run(parse_feed, body, headers, feed, fetched_at, known)
