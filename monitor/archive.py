"""Archived news for ``wirewatch replay`` and ``wirewatch backtest``, as the poller would have published it.

Three shapes, each read with the production parser and diff:

* a JSONL file: one ``Article`` record per line (what the articles topics hold,
  e.g. a ``kcat`` dump), a record wrapping one (enriched, sequenced), or a loose
  object with a ``title`` (and optionally ``url``, ``summary``, ``source``,
  ``published_at`` or ``published``); ``read_article_lines`` reads them, for
  ``wirewatch detectors test`` too, and a line without a time is reported,
  never given an invented one;
* a saved feed (``.xml``, ``.rss``, ``.atom``): its entries, as a first poll;
* a folder of saved polls of one feed, in file-name order (the folder's name is
  the feed id): an entry is published when first seen and again, as an update,
  when its content changed, exactly as ``monitor.polling.diff_entries`` does.
  A poll's time comes from a leading ``YYYYMMDDTHHMMSS±HHMM`` in its name, else
  from the file's modification time.

Articles come back in publication order, the order replay sends them in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.config import PollingConfig
from monitor.errors import ArchiveError, RecordDecodeError
from monitor.language import detected_fields
from monitor.normalize import FeedContext, article_id, normalize_language
from monitor.parsing import parse_feed
from monitor.polling import diff_entries
from monitor.urls import canonical_url
from streams.records import Article, FeedState

FEED_SUFFIXES = (".xml", ".rss", ".atom")
POLL_TIME = re.compile(r"^(\d{8}T\d{6}[+-]\d{4})")


def load_archive(
    path: Path, settings: PollingConfig | None = None, feed_id: str | None = None
) -> list[Article]:
    """Every article in ``path``, in publication order."""
    settings = settings or PollingConfig()
    if path.is_dir():
        articles = list(_polls(path, settings, feed_id or _feed_id(path.name)))
    elif path.suffix.lower() == ".jsonl":
        articles = list(_jsonl(path, feed_id or _feed_id(path.stem), settings.languages))
    elif path.suffix.lower() in FEED_SUFFIXES:
        at = _poll_time(path)
        state = FeedState(feed_id=feed_id or _feed_id(path.stem))
        articles, _ = _poll(path, settings, state, at)
    else:
        raise ArchiveError(
            f"{path}: not a folder of polls, a .jsonl file or a feed ({', '.join(FEED_SUFFIXES)})"
        )
    return sorted(articles, key=lambda a: (a.published_at, a.id, a.revision))


def _polls(folder: Path, settings: PollingConfig, feed_id: str) -> Iterator[Article]:
    state = FeedState(feed_id=feed_id)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FEED_SUFFIXES)
    if not files:
        raise ArchiveError(f"{folder}: no feed files ({', '.join(FEED_SUFFIXES)}) in this folder")
    for file in files:
        published, state = _poll(file, settings, state, _poll_time(file))
        yield from published


def _poll(
    path: Path, settings: PollingConfig, state: FeedState, at: datetime
) -> tuple[list[Article], FeedState]:
    context = FeedContext(
        feed_id=state.feed_id,
        url=path.resolve().as_uri(),
        future_tolerance=settings.future_tolerance,
        languages=settings.languages,
    )
    parsed = parse_feed(path.read_bytes(), {"content-type": "application/xml"}, context, at)
    if parsed.kind != "feed":
        return [], state  # an empty or broken poll: the poller would skip it too
    published, state, *_ = diff_entries(parsed.articles, state, at.timestamp(), settings.seen_entries)
    return published, state


@dataclass
class ArticleLines:
    """The articles of a JSONL file in file order, and the lines that gave no time of their own."""

    articles: list[Article]
    undated: list[int] = field(default_factory=list)  # line numbers

    def undated_message(self, path: Path) -> str | None:
        """The warning for the undated lines, or None when every line had its time."""
        if not self.undated:
            return None
        shown = ", ".join(map(str, self.undated[:8])) + (" …" if len(self.undated) > 8 else "")
        if len(self.undated) == len(self.articles):
            then = "they all take one time, so `within`, history and burst windows see them at one instant"
        else:
            then = "each takes the time of the dated line before it (or after it), no time is made up"
        return (
            f"{path}: {len(self.undated)} of {len(self.articles)} lines have no `published_at` or "
            f"`published` (lines {shown}): {then}"
        )


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(number, value) of each non-blank line of a JSONL file; a line that is not JSON names its number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ArchiveError(f"{path}:{number}: not JSON ({exc.msg})") from None


def read_article_lines(
    path: Path, feed_id: str, *, strict: bool = False, languages: tuple[str, ...] | None = None
) -> ArticleLines:
    """Every article of a JSONL file, whatever shape a line has: an ``Article`` record, a record
    that wraps one (``{"article": …}``: enriched or sequenced), or a loose object with a
    ``title`` (and ``url``, ``summary``, ``source``, ``published_at`` or ``published``).

    A line without a time never gets an invented clock (spacing dateless lines apart once
    packed a corpus into minutes and joined unrelated reports in a sequence): it takes the
    time of the dated line before it, else after it; with ``strict`` it is an error.
    A loose line's language is detected as the poller would (``languages``: the
    expected ones, by default ``polling.languages``' default).
    """
    expected = PollingConfig().languages if languages is None else languages
    read: list[tuple[int, Article, bool]] = []
    for number, data in json_lines(path):
        try:
            article, dated = _article_of(data, feed_id, expected)
        except (RecordDecodeError, ValidationError, KeyError, TypeError, ValueError) as exc:
            raise ArchiveError(f"{path}:{number}: not an article ({exc})") from None
        if not dated and strict:
            raise ArchiveError(f"{path}:{number}: no `published_at` or `published` (strict)")
        read.append((number, article, dated))
    return ArticleLines(_fill_times(read), [number for number, _, dated in read if not dated])


def _article_of(data: Any, feed_id: str, languages: tuple[str, ...]) -> tuple[Article, bool]:
    """(the article of one JSON line, whether the line gave its time)."""
    if not isinstance(data, dict):
        raise TypeError("a line must be a JSON object")
    if isinstance(data.get("article"), dict):  # an enriched or sequenced record
        return _article_of(data["article"], feed_id, languages)
    if "schema_version" in data:
        return Article.decode(json.dumps(data)), True
    return _loose(data, feed_id, languages)


def _fill_times(read: list[tuple[int, Article, bool]]) -> list[Article]:
    """Undated articles take the time of the dated one before them (the first ones: after them)."""
    dated = [a.published_at for _, a, has_time in read if has_time]
    if not dated:
        return [a for _, a, _ in read]  # one time for all, set when they were read
    articles, last = [], dated[0]
    for _, article, has_time in read:
        if has_time:
            last = article.published_at
            articles.append(article)
        else:
            articles.append(article.model_copy(update={"published_at": last, "fetched_at": last}))
    return articles


def _jsonl(path: Path, feed_id: str, languages: tuple[str, ...]) -> Iterator[Article]:
    yield from read_article_lines(path, feed_id, languages=languages).articles


_READ_AT = datetime.now(UTC)  # the one time of a file without any: fixed per process, not per line


def _loose(data: dict[str, Any], feed_id: str, languages: tuple[str, ...]) -> tuple[Article, bool]:
    """An article from ``title``; optional ``id``, ``url``, ``summary``, ``content``, ``source``,
    ``language`` (declared), a time."""
    title = str(data["title"])
    summary, content = str(data.get("summary") or ""), str(data.get("content") or "")
    declared = normalize_language(str(data.get("language") or ""))
    url = str(data.get("url") or "")
    published_text = str(data.get("published_at") or data.get("published") or "")
    published = datetime.fromisoformat(published_text) if published_text else _READ_AT
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    canonical = canonical_url(url) if url else ""
    article = Article(
        id=str(data.get("id") or article_id(canonical, None, feed_id, title, published_text)),
        feed_id=str(data.get("feed_id") or feed_id),
        source=str(data.get("source") or feed_id),
        url=url,
        canonical_url=canonical or "",
        title=title,
        summary=summary,
        content=content,
        published_at=published,
        fetched_at=published,
        language=declared,
        **detected_fields(f"{title}\n{summary or content}", languages, declared),
    )
    return article, bool(published_text)


def _poll_time(path: Path) -> datetime:
    match = POLL_TIME.match(path.name)
    if match:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%z").astimezone(UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _feed_id(name: str) -> str:
    """A valid feed id from a file or folder name."""
    cleaned = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-._")
    return (cleaned or "archive")[:64]
