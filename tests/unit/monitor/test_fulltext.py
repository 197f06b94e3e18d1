"""The full-text step against a real loopback HTTP server: pages, robots.txt and hostile sites.

Whatever a site does (a 50 MB page, a stall, endless redirects, an image, a
login wall, a robots.txt that forbids us or cannot be read), the article comes
back by its deadline, with the feed's text kept and the reason named; a slow
site never holds up another site's article.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import FullTextConfig, PollingConfig, SiteRule
from monitor.fetch import Fetcher, make_client
from monitor.fulltext import FullText
from monitor.outcomes import PageOutcome
from monitor.robots import RobotsCache
from streams.records import Article, FeedSpec
from tests.factories import article as make_article
from tests.feed_server import FeedServer

POLLING = PollingConfig(connect_timeout=2, read_timeout=2, total_timeout=4, per_host_spacing=0)
PAGE = (Path(__file__).parent / "page_cases" / "article-amid-boilerplate.html").read_bytes()
NOW = datetime.now(UTC)
FEED = FeedSpec(id="wire", url="https://wire.example/rss")
TEASER = "Moscow said the swap is set for Wednesday."


def article(url: str, summary: str = TEASER, published_at: datetime = NOW) -> Article:
    return make_article(url, "Russia and Ukraine to swap prisoners", summary, url=url, at=published_at)


@pytest.fixture
async def fulltext() -> AsyncIterator[FullText]:
    client = make_client(POLLING)
    step = FullText(FullTextConfig(budget=3.0), Fetcher(client, POLLING), POLLING.user_agent)
    yield step
    step.close()
    await client.aclose()


def deadline(seconds: float = 3.0) -> float:
    return time.monotonic() + seconds


async def test_a_page_fills_the_article_with_its_story_and_says_how(fulltext: FullText) -> None:
    server = FeedServer().start()
    try:
        url = server.set("/world/pows", PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
        page = await fulltext.fill(article(url), deadline())
    finally:
        server.stop()
    assert page.outcome == PageOutcome.EXTRACTED
    assert "exchange 175 prisoners of war" in page.article.content
    assert "sleepless night" not in page.article.content  # the comments stay out
    meta = page.article.fulltext
    assert meta is not None
    assert meta.status == "extracted"
    assert meta.extractor is not None
    assert meta.extractor.startswith("trafilatura")
    assert meta.bytes == len(PAGE)
    assert meta.chars == len(page.article.content)
    assert meta.url == url
    assert page.article.summary == TEASER  # the feed's teaser stays
    assert page.article.extracted
    assert "exchange 175 prisoners" in page.article.text_for_embedding()
    # the page was asked for as a browser would, and robots.txt first
    assert server.hits("/robots.txt") == 1
    headers = next(h for _, p, h in server.requests if p == "/world/pows")
    assert headers["Accept"].startswith("text/html")


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("huge-50mb", PageOutcome.TOO_LARGE),
        ("redirect-loop", PageOutcome.REDIRECTS),
        ("500", PageOutcome.HTTP_5XX),
        ("404", PageOutcome.HTTP_4XX),
        ("429", PageOutcome.THROTTLED),
        ("binary", PageOutcome.NOT_HTML),
        ("login-wall", PageOutcome.PAYWALLED),
        ("html", PageOutcome.NO_TEXT),
        ("stall", PageOutcome.BUDGET),
        ("never-ends", PageOutcome.BUDGET),
    ],
)
async def test_a_hostile_page_leaves_the_article_as_the_feed_gave_it_by_the_deadline(
    fulltext: FullText, feed_server: FeedServer, kind: str, outcome: PageOutcome
) -> None:
    url = feed_server.hostile(f"/pages/{kind}", kind)
    before = article(url)
    started = time.monotonic()
    page = await fulltext.fill(before, deadline(2.0))
    took = time.monotonic() - started
    assert page.outcome == outcome, page.detail
    assert took < 2.0 + 1.0, took  # the budget, and a little for the event loop
    assert page.article.content == before.content
    assert page.article.summary == before.summary
    assert page.article.fulltext is not None
    assert page.article.fulltext.status == outcome
    assert not page.article.extracted
    assert page.detail


async def test_robots_txt_is_honoured_and_asked_once_per_host(fulltext: FullText) -> None:
    server = FeedServer().start()
    try:
        robots = (
            b"User-agent: *\nDisallow: /\n\n"  # not for us: our own group below is the one we obey
            b"User-agent: Wirewatch\nDisallow: /private/\nAllow: /private/open$\nDisallow: /*.pdf$\n"
        )
        server.set("/robots.txt", robots, headers={"Content-Type": "text/plain"})
        html = {"Content-Type": "text/html"}
        urls = [server.set(f"/news/{i}", PAGE, headers=html) for i in range(4)]
        private = server.set("/private/story", PAGE, headers=html)
        opened = server.set("/private/open", PAGE, headers=html)
        pdf = server.set("/files/report.pdf", PAGE, headers=html)
        pages = await asyncio.gather(
            *(fulltext.fill(article(u), deadline()) for u in [*urls, private, opened, pdf])
        )
    finally:
        server.stop()
    outcomes = [p.outcome for p in pages]
    assert outcomes == [PageOutcome.EXTRACTED] * 4 + [
        PageOutcome.ROBOTS_DENIED,
        PageOutcome.EXTRACTED,  # RFC 9309: the longest (most specific) rule wins
        PageOutcome.ROBOTS_DENIED,  # a wildcard rule
    ]
    assert server.hits("/robots.txt") == 1  # seven pages, one robots.txt
    assert server.hits("/private/story") == 0
    assert server.hits("/files/report.pdf") == 0


async def test_robots_txt_missing_allows_and_unreachable_forbids(fulltext: FullText) -> None:
    missing, broken = FeedServer().start(), FeedServer("127.0.0.2").start()
    try:
        html = {"Content-Type": "text/html"}
        ok = await fulltext.fill(article(missing.set("/a", PAGE, headers=html)), deadline())
        broken.set("/robots.txt", b"oops", status=503, headers={"Content-Type": "text/plain"})
        stay_out = await fulltext.fill(article(broken.set("/a", PAGE, headers=html)), deadline())
        again = await fulltext.fill(article(broken.url("/a")), deadline())
    finally:
        missing.stop()
        broken.stop()
    assert ok.outcome == PageOutcome.EXTRACTED  # 404: no rules (RFC 9309 "unavailable")
    assert stay_out.outcome == PageOutcome.ROBOTS_UNREACHABLE  # 5xx: assume everything is disallowed
    assert again.outcome == PageOutcome.ROBOTS_UNREACHABLE
    assert broken.hits("/a") == 0
    assert broken.hits("/robots.txt") == 1  # remembered for a while, not asked per page


async def test_a_crawl_delay_spaces_that_host_s_pages() -> None:
    server = FeedServer().start()
    client = make_client(POLLING)
    step = FullText(FullTextConfig(budget=5.0), Fetcher(client, POLLING), POLLING.user_agent)
    try:
        server.set("/robots.txt", b"User-agent: *\nCrawl-delay: 1\n", headers={"Content-Type": "text/plain"})
        html = {"Content-Type": "text/html"}
        urls = [server.set(f"/n/{i}", PAGE, headers=html) for i in range(3)]
        pages = await asyncio.gather(*(step.fill(article(u), deadline(5.0)) for u in urls))
    finally:
        step.close()
        await client.aclose()
        server.stop()
    assert [p.outcome for p in pages] == [PageOutcome.EXTRACTED] * 3
    starts = sorted(t for t, p, _ in server.requests if p.startswith("/n/"))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.9, gaps


async def test_a_site_that_stalls_never_delays_another_site_s_article(fulltext: FullText) -> None:
    slow, fast = FeedServer("127.0.0.3").start(), FeedServer().start()
    try:
        stalled = [slow.hostile(f"/stall/{i}", "stall") for i in range(6)]
        good = fast.set("/story", PAGE, headers={"Content-Type": "text/html"})
        started = time.monotonic()
        done: dict[str, float] = {}

        async def timed(url: str) -> PageOutcome:
            page = await fulltext.fill(article(url), started + 3.0)
            done[url] = time.monotonic() - started
            return page.outcome

        outcomes = await asyncio.gather(*(timed(u) for u in [*stalled, good]))
    finally:
        slow.stop()
        fast.stop()
    # the two in the host's slots time out reading (polling.read_timeout), the rest wait to the budget
    assert set(outcomes[:6]) <= {PageOutcome.BUDGET, PageOutcome.TIMEOUT}, outcomes
    assert PageOutcome.BUDGET in outcomes
    assert outcomes[6] == PageOutcome.EXTRACTED
    assert done[good] < 1.5, done  # not behind the stalled host's slots
    assert max(done[u] for u in stalled) < 3.0 + 1.0


def test_which_articles_wait_for_their_page() -> None:
    step = FullText(
        FullTextConfig(
            auto_below_words=10,
            max_age=3600,
            sites={"blocked.example": SiteRule(fulltext=False), "full.example": SiteRule(fulltext=True)},
        ),
        Fetcher(make_client(POLLING), POLLING),
        POLLING.user_agent,
    )
    short, long = "A teaser.", " ".join(["word"] * 30)
    assert step.wants(article("https://any.example/a", short), FEED, NOW)  # the automatic rule
    assert not step.wants(article("https://any.example/a", long), FEED, NOW)  # the feed carries it whole
    assert not step.wants(article("https://www.blocked.example/a", short), FEED, NOW)  # a subdomain too
    assert step.wants(article("https://full.example/a", long), FEED, NOW)
    assert step.wants(
        article("https://blocked.example/a", short), FEED.model_copy(update={"fulltext": True}), NOW
    )  # the feed's own key wins
    assert not step.wants(
        article("https://any.example/a", short), FEED.model_copy(update={"fulltext": False}), NOW
    )
    old = article("https://any.example/a", short, published_at=NOW - timedelta(hours=2))
    assert not step.wants(old, FEED.model_copy(update={"fulltext": True}), NOW)  # older than max_age
    off = FullText(FullTextConfig(enabled=False), step.fetcher, POLLING.user_agent)
    assert not off.wants(article("https://any.example/a", short), FEED, NOW)
    step.close()
    off.close()


async def test_a_link_that_is_not_a_web_page_is_named(fulltext: FullText) -> None:
    page = await fulltext.fill(article("urn:uuid:1234"), deadline())
    assert page.outcome == PageOutcome.BAD_URL


async def test_a_page_that_gives_up_on_robots_txt_does_not_fail_the_others_waiting_for_it() -> None:
    server = FeedServer("127.0.0.4").start()
    client = make_client(POLLING)
    fetcher = Fetcher(client, POLLING)
    robots = RobotsCache(fetcher, POLLING.user_agent)
    try:
        server.hostile("/robots.txt", "stall")  # answers after 8 s: past polling.read_timeout
        impatient = asyncio.create_task(robots.check(server.url("/news/1")))
        patient = asyncio.create_task(robots.check(server.url("/news/2")))
        await asyncio.sleep(0.5)
        impatient.cancel()  # its article's budget ran out; the other article has more time
        with pytest.raises(asyncio.CancelledError):
            await impatient
        verdict = await asyncio.wait_for(patient, 10)
    finally:
        await client.aclose()
        server.stop()
    # the one request went on for the patient page and timed out: "unreachable", stay out
    assert not verdict.allowed
    assert verdict.unreachable
    assert server.hits("/robots.txt") == 1
