"""The full-text step: fetch a new article's page politely, extract its text, bounded in time.

It runs inside the poll stage, between a feed's diff and the articles'
publication (``streams.agents.poll``): the poller already knows which items
are new or edited, each article is published the moment its page is done,
and the feed's state follows its articles as before. Why not a stage of its
own: it would need its own table of what was fetched, one more topic hop on
every article's way to an alert, and it would let a feed's state be written
before its articles' texts exist.

Per article (``FullText.wants``): the feed's ``fulltext`` key, else its
site's rule, else the automatic rule (feed text under
``auto_below_words`` words); never for items older than ``max_age``.
Per page (``FullText.fill``): robots.txt (``monitor.robots``), the feeds'
polite ``Fetcher`` (same per-host slots and spacing; pages have their own
global slots), extraction in a process with a time limit
(``monitor.extract``). The whole wait is bounded by ``budget`` from the
moment the feed was fetched; past it the article goes on with the feed's
text and ``fulltext.status: budget``. Nothing here raises for a bad page.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.config import FullTextConfig
from monitor.errors import ExtractCrashed, ExtractTimeout
from monitor.extract import Extraction, extract_page, warm_extraction
from monitor.fetch import Fetcher
from monitor.outcomes import Outcome, PageOutcome
from monitor.procpool import TimedProcessPool
from monitor.robots import RobotsCache
from streams.records import Article, FeedSpec, PageText

log = logging.getLogger(__name__)


def word_count(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class PageResult:
    """An article after its page: with the page's text, or as the feed gave it; its ``fulltext`` says how."""

    article: Article
    detail: str = ""  # why, for the log
    extract_seconds: float | None = None  # unrounded, for the metric

    @property
    def page(self) -> PageText:
        assert self.article.fulltext is not None
        return self.article.fulltext

    @property
    def outcome(self) -> PageOutcome:
        return PageOutcome(self.page.status)

    @property
    def seconds(self) -> float:
        """The article's wait."""
        return self.page.seconds

    @property
    def bytes(self) -> int:
        return self.page.bytes

    @property
    def chars(self) -> int:
        return self.page.chars

    @property
    def extracted(self) -> bool:
        return self.outcome == PageOutcome.EXTRACTED


@dataclass
class _Progress:
    """How far one page got (kept when the budget cuts it short)."""

    url: str
    outcome: PageOutcome = PageOutcome.BUDGET
    detail: str = ""
    bytes: int = 0
    extract_seconds: float | None = None
    extraction: Extraction | None = None

    def finish(self, outcome: PageOutcome, detail: str) -> None:
        self.outcome, self.detail = outcome, detail


class ExtractorPool(TimedProcessPool):
    """Page extraction in worker processes with a per-page time limit."""

    def __init__(self, workers: int = 1, timeout: float = 10.0) -> None:
        super().__init__(
            workers, timeout, ExtractTimeout, ExtractCrashed, what="extracting the page", warm=warm_extraction
        )


class FullText:
    """Decides which articles get their page and fetches it; one per worker."""

    def __init__(
        self,
        settings: FullTextConfig,
        fetcher: Fetcher,
        user_agent: str,
        extractor: ExtractorPool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.robots = RobotsCache(fetcher, user_agent, clock=clock) if settings.robots else None
        self.extractor = extractor or ExtractorPool(settings.extract_workers, settings.extract_timeout)
        self._clock = clock

    def wants(self, article: Article, spec: FeedSpec, now: datetime) -> bool:
        """Should this article wait for its page?"""
        s = self.settings
        if not s.enabled or article.published_at < now - timedelta(seconds=s.max_age):
            return False
        if spec.fulltext is not None:
            return spec.fulltext
        rule = s.site_rule(urlsplit(article.url).hostname or "")
        if rule is not None and rule.fulltext is not None:
            return rule.fulltext
        feed_words = max(word_count(article.summary), word_count(article.content))
        return feed_words < s.auto_below_words

    async def fill(self, article: Article, deadline: float) -> PageResult:
        """The article with its page's text, or unchanged with the reason; by ``deadline`` (the clock's)."""
        started = self._clock()
        page = _Progress(url=article.url)
        try:
            async with asyncio.timeout(max(0.0, deadline - started)):
                await self._page(article, page)
        except TimeoutError:
            page.outcome = PageOutcome.BUDGET
            page.detail = f"no text within the {self.settings.budget:g}s budget"
        extraction = page.extraction
        meta = PageText(
            status=page.outcome,
            extractor=extraction.extractor if extraction else None,
            chars=extraction.chars if extraction else 0,
            bytes=page.bytes,
            url=page.url,
            seconds=round(self._clock() - started, 3),
        )
        update: dict[str, object] = {"fulltext": meta}
        if extraction is not None and page.outcome == PageOutcome.EXTRACTED:
            update["content"] = extraction.text
        return PageResult(article.model_copy(update=update), page.detail, page.extract_seconds)

    async def _page(self, article: Article, page: _Progress) -> None:
        url = article.url
        if urlsplit(url).scheme not in ("http", "https"):
            page.finish(PageOutcome.BAD_URL, f"no web link to fetch ({url!r})")
            return
        if self.robots is not None:
            verdict = await self.robots.check(url)
            if verdict.unreachable:
                page.finish(PageOutcome.ROBOTS_UNREACHABLE, "robots.txt could not be read")
                return
            if not verdict.allowed:
                page.finish(PageOutcome.ROBOTS_DENIED, "robots.txt disallows it")
                return
        fetched = await self.fetcher.fetch(url, page=True, max_bytes=self.settings.max_bytes)
        page.url = fetched.url
        if fetched.outcome != Outcome.OK:
            page.finish(PageOutcome.of_fetch(fetched.outcome, fetched.status), fetched.error or "")
            return
        page.bytes = len(fetched.body)
        rule = self.settings.site_rule(urlsplit(url).hostname or "")
        try:
            extract = functools.partial(
                extract_page,
                selector=rule.selector if rule else None,
                remove=rule.remove if rule else (),
                min_chars=self.settings.min_chars,
                max_chars=self.settings.max_chars,
                fallback=self.settings.fallback,
            )
            extraction = await self.extractor.run(
                extract, fetched.body, fetched.url, fetched.headers.get("content-type", "")
            )
        except ExtractTimeout as exc:
            page.finish(PageOutcome.EXTRACT_TIMEOUT, str(exc))
            return
        except ExtractCrashed as exc:
            page.finish(PageOutcome.EXTRACT_ERROR, str(exc))
            return
        page.extract_seconds = extraction.seconds
        page.extraction = extraction
        page.finish(extraction.status, extraction.detail)

    def close(self) -> None:
        self.extractor.close()
