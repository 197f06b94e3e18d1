"""From a feedparser entry to an ``Article``: ids, canonical URL, plain text, UTC dates.

Pure functions; they run inside the parser processes. The article id is
stable across polls, feeds and workers: it comes from the canonical URL (so
tracking parameters and fragments do not make a new article), else from the
feed's GUID, else from a hash of feed, title and date.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from monitor.language import detected_fields
from monitor.urls import canonical_url
from streams.records import Article

MAX_TITLE = 1_000
MAX_SUMMARY = 5_000
MAX_CONTENT = 50_000
MAX_TAGS = 20

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str, limit: int = MAX_CONTENT) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, white space tidied."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        text = markup
    else:
        parser = _TextExtractor()
        try:
            parser.feed(markup)
            parser.close()
            text = "".join(parser.parts)
        except Exception:  # malformed markup: fall back to crude stripping
            text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text).strip()
    return text[:limit]


def to_utc(parsed: Any) -> datetime | None:
    """feedparser's UTC ``struct_time`` → aware datetime (None if absent or impossible)."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def normalize_language(value: str | None) -> str | None:
    """``en-GB`` / ``en_gb`` → ``en-gb``; junk → None."""
    if not value:
        return None
    lang = value.strip().replace("_", "-").lower()
    return lang if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", lang) else None


def article_id(canonical: str | None, guid: str | None, feed_id: str, title: str, date: str) -> str:
    """Stable id: ``u-`` from the canonical URL, ``g-`` from the GUID, ``h-`` from a content hash."""
    if canonical:
        return "u-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
    if guid:
        return "g-" + hashlib.sha256(f"{feed_id}\x1f{guid}".encode()).hexdigest()[:32]
    return "h-" + hashlib.sha256(f"{feed_id}\x1f{title}\x1f{date}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FeedContext:
    """What normalization needs to know about the feed (plain data: crosses process boundaries)."""

    feed_id: str
    url: str
    title: str = ""
    language: str | None = None
    tags: tuple[str, ...] = ()
    future_tolerance: float = 600.0
    languages: tuple[str, ...] = ()  # expected languages: detection prefers them (monitor.language)


def _is_web_url(value: str | None) -> bool:
    if not value:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def entry_link(entry: Mapping[str, Any]) -> str | None:
    """The entry's web page: ``link``, else the alternate link, else a permalink GUID."""
    link = entry.get("link")
    if _is_web_url(link):
        return str(link).strip()
    for item in entry.get("links") or []:
        if item.get("rel", "alternate") == "alternate" and _is_web_url(item.get("href")):
            return str(item["href"]).strip()
    guid = entry.get("id")
    if entry.get("guidislink") and _is_web_url(guid):
        return str(guid).strip()
    return None


def normalize_entry(
    entry: Mapping[str, Any], feed: FeedContext, source: str, feed_language: str | None, fetched_at: datetime
) -> Article | None:
    """One entry as an Article; None when it has neither a title, a text nor a link."""
    title = html_to_text(str(entry.get("title") or ""), MAX_TITLE).replace("\n", " ")
    summary = html_to_text(str(entry.get("summary") or ""), MAX_SUMMARY)
    contents = entry.get("content") or []
    content = html_to_text(str(contents[0].get("value") or ""), MAX_CONTENT) if contents else ""
    if content == summary:
        content = ""
    link = entry_link(entry)
    if not (title or summary or content or link):
        return None
    canonical = canonical_url(link) if link else None
    guid = str(entry.get("id") or "").strip() or None

    published = to_utc(entry.get("published_parsed")) or to_utc(entry.get("updated_parsed"))
    date_text = str(entry.get("published") or entry.get("updated") or "")
    if published is None or published > fetched_at + timedelta(seconds=feed.future_tolerance):
        published = fetched_at  # missing or far-future dates: the time we saw it

    authors = tuple(str(a.get("name")).strip() for a in entry.get("authors") or [] if a.get("name")) or (
        (str(entry["author"]).strip(),) if entry.get("author") else ()
    )
    categories = tuple(str(t.get("term")).strip() for t in entry.get("tags") or [] if t.get("term"))
    tags = tuple(dict.fromkeys((*feed.tags, *categories)))[:MAX_TAGS]
    language = (
        normalize_language(entry.get("language"))
        or normalize_language(_detail_language(entry))
        or feed_language
        or normalize_language(feed.language)
    )
    return Article(
        id=article_id(canonical, guid, feed.feed_id, title, date_text),
        feed_id=feed.feed_id,
        source=source,
        url=link or feed.url,
        canonical_url=canonical or "",
        title=title,
        summary=summary,
        content=content,
        authors=authors[:10],
        published_at=published,
        fetched_at=fetched_at,
        language=language,
        **detected_fields(f"{title}\n{summary or content}", feed.languages, language),
        tags=tags,
    )


def _detail_language(entry: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key) or {}
        if detail.get("language"):
            return str(detail["language"])
    return None
