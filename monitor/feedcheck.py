"""``wirewatch feeds check``: one feed through the poller's own fetch, parse and diff, explained.

Before adding a feed, a user wants to know what Wirewatch will make of it:
whether the URL serves a feed at all, which entries become articles (with
their ids, dates and canonical URLs), and why any entry is skipped. The
same code the workers run answers that (``monitor.fetch``,
``monitor.parsing.parse_feed``, ``monitor.polling.diff_entries``), only
without Kafka and with the parse in this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import PollingConfig
from monitor.fetch import Fetcher, FetchResult, make_client
from monitor.normalize import FeedContext
from monitor.outcomes import Outcome
from monitor.parsing import ParseResult, parse_feed
from monitor.polling import diff_entries
from streams.records import Article, FeedState, base_language

CHECK_FEED_ID = "check"


@dataclass
class Published:
    """An article the poller would publish, and what it had to fill in or clean up."""

    article: Article
    notes: list[str] = field(default_factory=list)


@dataclass
class FeedCheck:
    source: str
    fetch: FetchResult | None = None  # None for a file
    parse: ParseResult | None = None
    published: list[Published] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problem: str = ""  # why nothing would be published at all

    @property
    def usable(self) -> bool:
        return not self.problem


def check_body(
    body: bytes,
    headers: dict[str, str],
    url: str,
    settings: PollingConfig,
    feed_id: str = CHECK_FEED_ID,
    fetched_at: datetime | None = None,
) -> FeedCheck:
    """What the poller would publish from this body on a first poll (ids as for feed ``feed_id``)."""
    fetched_at = fetched_at or datetime.now(UTC)
    report = FeedCheck(source=url)
    if len(body) > settings.max_bytes:
        report.problem = f"{len(body)} bytes: larger than polling.max_bytes ({settings.max_bytes})"
        return report
    context = FeedContext(
        feed_id=feed_id, url=url, future_tolerance=settings.future_tolerance, languages=settings.languages
    )
    parsed = parse_feed(body, headers, context, fetched_at)
    report.parse = parsed
    if parsed.kind != "feed":
        report.problem = parsed.reason
        return report
    empty = FeedState(feed_id=feed_id)
    publish, _, _, _, _ = diff_entries(parsed.articles, empty, fetched_at.timestamp(), settings.seen_entries)
    report.skipped = list(parsed.skips)
    repeated = len(parsed.articles) - len(publish)
    if repeated:
        report.skipped.append(f"{repeated} entries repeat an earlier entry's link or id (published once)")
    report.published = [Published(a, notes(a, url, fetched_at)) for a in publish]
    return report


async def check_url(url: str, settings: PollingConfig, feed_id: str = CHECK_FEED_ID) -> FeedCheck:
    """Fetch ``url`` as a poller would (limits, timeouts, redirects), then ``check_body``."""
    async with make_client(settings) as client:
        fetched = await Fetcher(client, settings).fetch(url)
    if fetched.outcome != Outcome.OK:
        return FeedCheck(source=url, fetch=fetched, problem=fetched.error or fetched.outcome)
    report = check_body(fetched.body, fetched.headers, url, settings, feed_id)
    report.fetch = fetched
    return report


def check_file(path: Path, settings: PollingConfig, feed_id: str = CHECK_FEED_ID) -> FeedCheck:
    """A saved feed: parsed as if served as XML from ``file://`` (links stay as written)."""
    body = path.read_bytes()
    return check_body(body, {"content-type": "application/xml"}, path.resolve().as_uri(), settings, feed_id)


def notes(article: Article, feed_url: str, fetched_at: datetime) -> list[str]:
    """What normalization had to decide for this entry."""
    out = []
    if article.published_at == fetched_at:
        out.append("no usable date (missing or too far in the future): the fetch time stands in")
    if article.url == feed_url:
        out.append("no link: the feed's URL stands in")
    elif article.canonical_url and article.canonical_url != article.url:
        out.append(f"canonical URL {article.canonical_url}")
    if not article.title:
        out.append("no title")
    if not (article.summary or article.content):
        out.append("no text")
    declared = base_language(article.language)
    if declared and article.detected_language and article.detected_language != declared:
        out.append(f"declared language {article.language}, the text reads as {article.detected_language}")
    return out


def language_cell(article: Article) -> str:
    """``uk 0.99`` (detected, with its probability), and the declared language when there is one."""
    detected = (
        f"{article.detected_language} {article.language_probability:.2f}"
        if article.detected_language and article.language_probability is not None
        else "–"
    )
    return f"{detected} (declared {article.language})" if article.language else detected
