"""Fetching and polling against a real loopback HTTP server that misbehaves on purpose.

Every hostile case ends in a named outcome, a logged reason and a sensible next
poll time; none raises, stalls past its deadline or blows up memory.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from monitor.config import PollingConfig
from monitor.errors import ParseTimeout
from monitor.fetch import Fetcher, make_client
from monitor.normalize import FeedContext
from monitor.parsing import ParserPool
from monitor.polling import next_delay, poll_feed
from streams.records import FeedSpec, FeedState
from tests.feed_server import FeedServer

SETTINGS = PollingConfig(
    connect_timeout=2,
    read_timeout=2,
    total_timeout=3,
    per_host_spacing=0,
    parse_timeout=10,
    max_bytes=10 * 1024 * 1024,
)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test Wire</title><language>en</language>
<item><title>Kremlin announces exchange of 175 prisoners of war</title>
<link>https://wire.example/pows?utm_source=rss&amp;id=7#top</link>
<description>&lt;p&gt;The swap is set for &lt;b&gt;Wednesday&lt;/b&gt;.&lt;/p&gt;</description>
<pubDate>Tue, 18 Mar 2025 17:45:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.fixture
async def tools() -> AsyncIterator[tuple[Fetcher, ParserPool]]:
    client = make_client(SETTINGS)
    parser = ParserPool(workers=1, timeout=SETTINGS.parse_timeout)
    yield Fetcher(client, SETTINGS), parser
    await client.aclose()
    parser.close()


async def poll(tools, url: str, state: FeedState | None = None):  # type: ignore[no-untyped-def]
    fetcher, parser = tools
    spec = FeedSpec(id="f", url=url, interval_seconds=300)
    return await poll_feed(
        spec, state or FeedState(feed_id="f"), fetcher, parser, SETTINGS, rng=random.Random(1)
    )


async def test_good_feed_is_parsed_normalized_and_remembered(tools, feed_server: FeedServer) -> None:
    url = feed_server.set("/good.xml", RSS)
    first = await poll(tools, url)
    assert first.outcome == "ok"
    assert (first.new, first.updated, first.seen) == (1, 0, 0)
    [article] = first.articles
    assert article.canonical_url == "https://wire.example/pows?id=7"
    assert article.summary == "The swap is set for Wednesday."
    assert article.published_at.isoformat() == "2025-03-18T17:45:00+00:00"
    assert article.language == "en"
    assert article.source == "Test Wire"
    assert first.state.etag
    assert first.state.consecutive_failures == 0
    assert 300 * 0.9 <= first.state.next_poll_at - first.state.last_attempt_at <= 300 * 1.1

    second = await poll(tools, url, first.state)  # conditional GET → 304
    assert second.outcome == "not_modified"
    assert second.articles == []
    assert feed_server.requests[-1][2].get("If-None-Match") == first.state.etag


async def test_stale_etag_same_bytes_publish_nothing_edit_publishes_update(tools, feed_server) -> None:
    url = feed_server.set("/edited.xml", RSS)
    first = await poll(tools, url)
    stale = first.state.model_copy(update={"etag": None})
    again = await poll(tools, url, stale)
    assert again.outcome == "unchanged"
    assert again.articles == []

    feed_server.set("/edited.xml", RSS.replace(b"175 prisoners", b"175 prisoners, 23 wounded,"))
    edited = await poll(tools, url, again.state)
    assert edited.outcome == "ok"
    assert (edited.new, edited.updated) == (0, 1)
    [update] = edited.articles
    assert update.id == first.articles[0].id
    assert update.revision == 1


@pytest.mark.parametrize(
    ("kind", "outcome", "reason"),
    [
        ("never-ends", "timeout", "no complete response within 3s"),
        ("trickle", "timeout", "no complete response within 3s"),
        ("huge-50mb", "too_large", "exceeds the 10485760-byte limit"),
        ("huge-chunked", "too_large", "body exceeds 10485760 bytes"),
        ("gzip-bomb", "too_large", "(decompressed)"),
        ("html", "html_page", "HTML page, not a feed"),
        ("500", "http_5xx", "HTTP 500"),
        ("redirect-loop", "too_many_redirects", "more than 5 redirects"),
    ],
)
async def test_hostile_responses_end_in_a_named_outcome(tools, feed_server, kind, outcome, reason) -> None:
    url = feed_server.hostile(f"/hostile/{kind}", kind)
    started = time.monotonic()
    result = await poll(tools, url)
    assert result.outcome == outcome, result.detail
    assert reason in result.detail
    assert time.monotonic() - started < SETTINGS.total_timeout + 5, "a bad server must not stall the poller"
    assert result.state.consecutive_failures == 1
    assert result.articles == []
    assert result.state.next_poll_at >= result.state.last_attempt_at + 300 * 0.9


async def test_billion_laughs_does_not_expand(tools, feed_server) -> None:
    result = await poll(tools, feed_server.hostile("/hostile/laughs", "billion-laughs"))
    assert result.outcome in ("ok", "not_a_feed", "parse_timeout", "parse_crash"), result.outcome
    for article in result.articles:
        assert len(article.title) < 10_000, "entities must not be expanded into megabytes"


async def test_invalid_bytes_for_declared_encoding_still_parse(tools, feed_server) -> None:
    result = await poll(tools, feed_server.hostile("/hostile/bad-bytes", "bad-bytes"))
    assert result.outcome == "ok", result.detail
    assert [a.canonical_url for a in result.articles] == ["http://example.org/bad-bytes"]
    assert "parsed despite errors" in result.detail


async def test_410_disables_at_once_and_404_after_three(tools, feed_server) -> None:
    gone = await poll(tools, feed_server.hostile("/hostile/410", "410"))
    assert gone.outcome == "http_410"
    assert gone.state.disabled_reason == "HTTP 410 Gone"

    url = feed_server.hostile("/hostile/404", "404")
    state = FeedState(feed_id="f")
    for attempt in (1, 2, 3):
        result = await poll(tools, url, state)
        state = result.state
        assert result.outcome == "http_404"
        assert (state.disabled_reason is not None) == (attempt == 3)
    assert state.disabled_reason == "HTTP 404 on 3 consecutive polls"


async def test_retry_after_is_honoured(tools, feed_server) -> None:
    throttled = await poll(tools, feed_server.hostile("/hostile/429", "429"))
    assert throttled.outcome == "throttled"
    # 429 says 120 s but the interval (300 s, doubled for no failure yet) is longer: keep the interval
    assert throttled.state.next_poll_at - throttled.state.last_attempt_at >= 270
    maintenance = await poll(tools, feed_server.hostile("/hostile/503", "503"))
    assert maintenance.outcome == "throttled"
    wait = maintenance.state.next_poll_at - maintenance.state.last_attempt_at
    assert wait >= 295, wait


async def test_backoff_grows_with_consecutive_failures(tools, feed_server) -> None:
    url = feed_server.hostile("/hostile/500b", "500")
    state = FeedState(feed_id="f")
    waits = []
    for _ in range(4):
        result = await poll(tools, url, state)
        state = result.state
        waits.append(state.next_poll_at - state.last_attempt_at)
    assert state.consecutive_failures == 4
    assert waits[3] > waits[2] > waits[1] >= waits[0] * 0.8
    assert 2400 * 0.9 <= waits[3] <= 2400 * 1.1  # 300 s × 2³


async def test_connection_refused_and_dns_failure(tools) -> None:
    refused = await poll(tools, "http://127.0.0.1:9/feed.xml")
    assert refused.outcome == "connect_error"
    dns = await poll(tools, "http://feeds.nonexistent.invalid/rss")
    assert dns.outcome == "dns_error", dns.detail


async def test_a_stalled_feed_does_not_delay_another_host(tools, feed_server) -> None:
    slow = asyncio.create_task(poll(tools, feed_server.hostile("/hostile/slow", "never-ends")))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    quick = await poll(tools, feed_server.set("/quick.xml", RSS).replace("127.0.0.1", "localhost"))
    assert quick.outcome == "ok"
    assert time.monotonic() - started < 1.5
    assert (await slow).outcome == "timeout"


def test_backoff_stays_bounded_after_very_many_failures() -> None:
    settings = PollingConfig(backoff_max="6h", jitter=0.1)
    delay = next_delay(300, 5000, None, settings, random.Random(1))  # 2**4999 would overflow a float
    assert 6 * 3600 * 0.9 <= delay <= 6 * 3600 * 1.1
    assert next_delay(300, 0, 10**9, settings, random.Random(1)) <= 6 * 3600, "Retry-After is capped"


async def test_feeds_queued_for_one_busy_host_do_not_hold_other_hosts_back(feed_server) -> None:
    """Per-host slots are taken before global ones: a publisher with many due feeds cannot
    fill every global slot while it waits out its own spacing."""
    settings = SETTINGS.model_copy(
        update={"concurrency": 2, "per_host_concurrency": 1, "per_host_spacing": 1.0}
    )
    client = make_client(settings)
    fetcher = Fetcher(client, settings)
    try:
        busy = [asyncio.create_task(fetcher.fetch(feed_server.set(f"/busy/{i}.xml", RSS))) for i in range(4)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        other = await fetcher.fetch(feed_server.set("/other.xml", RSS).replace("127.0.0.1", "localhost"))
        assert other.outcome == "ok"
        assert time.monotonic() - started < 0.9, "the other host did not wait for the busy host's spacing"
        assert [r.outcome for r in await asyncio.gather(*busy)] == ["ok"] * 4
    finally:
        await client.aclose()


async def test_a_parse_timeout_does_not_cancel_or_time_out_the_parses_waiting_behind_it() -> None:
    """One pathological body overruns; the pool is replaced; parses queued behind it still run,
    and their time limit counts parsing only, not the wait."""
    items = "".join(
        f"<item><title>t{i}</title><link>https://x.example/{i}</link>"
        f"<description>{'word ' * 200}</description></item>"
        for i in range(20000)
    )
    huge = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>{items}</channel></rss>'.encode()
    )
    pool = ParserPool(workers=1, timeout=1.0)
    feed = FeedContext(feed_id="f", url="https://x.example/rss")
    now = datetime.now(UTC)
    try:
        await pool.parse(RSS, {}, feed, now)  # warm the pool up: process start is not parse time
        slow = asyncio.create_task(pool.parse(huge, {}, feed, now))
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(pool.parse(RSS, {}, feed, now)) for _ in range(3)]
        with pytest.raises(ParseTimeout):
            await slow
        results = await asyncio.gather(*queued)
        assert [r.kind for r in results] == ["feed"] * 3
    finally:
        pool.close()
