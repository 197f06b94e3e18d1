"""Failure drill: one publisher's host turns slow, then fails; feeds on other hosts keep their schedule.

Two hosts on loopback (127.0.0.1 and 127.0.0.2, two feed servers serving real
BBC snapshots), three feeds each, polled every 2 s by one worker. Midway the
second host's feeds start to hang (a response that never ends) or answer 500.
The poller's per-host limits keep that host's stuck requests from taking the
slots other hosts need: the first host's feeds are polled on time throughout,
and the metrics tell the two apart (outcomes, last success).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict

import pytest

from tests.feed_server import SHARED_FEEDS, FeedServer
from tests.integration.test_detect import scrape

pytestmark = pytest.mark.slow

INTERVAL = 2.0
HEALTHY_FOR, BAD_FOR = 12.0, 30.0
SNAPSHOTS = sorted((SHARED_FEEDS / "snapshots" / "bbc-news-home").glob("*.xml"))[:6]


async def test_a_slow_then_failing_host_does_not_delay_the_feeds_of_other_hosts(
    wirewatch_config, worker_factory, feed_server: FeedServer
) -> None:
    other = FeedServer(host="127.0.0.2").start()
    try:
        feeds = []
        for n, (server, name) in enumerate([(feed_server, "good"), (other, "bad")] * 3):
            path = f"/drill-host/{name}-{n}.xml"
            server.set(path, SNAPSHOTS[n].read_bytes())
            feeds.append({"id": f"{name}-{n}", "url": server.url(path), "interval": f"{INTERVAL}s"})
        config = wirewatch_config(
            feeds=feeds,
            worker={"stages": ["poll"]},
            polling={
                "first_poll_spread": "1s",
                "jitter": 0,
                "read_timeout": "3s",
                "total_timeout": "4s",
                "per_host_concurrency": 2,
                "per_host_spacing": 0,
                "concurrency": 4,  # fewer slots than the bad host's feeds could hold, were it not capped
            },
        )
        worker_factory(config)
        await asyncio.sleep(HEALTHY_FOR)

        other.hostile("/drill-host/bad-1.xml", "never-ends")
        other.hostile("/drill-host/bad-3.xml", "never-ends")
        other.hostile("/drill-host/bad-5.xml", "500")
        turned_bad = time.monotonic()
        await asyncio.sleep(BAD_FOR)
        metrics = scrape(config)
        now = time.time()
    finally:
        other.stop()

    # the good host's feeds: a poll every interval, however the other host behaves
    times: dict[str, list[float]] = defaultdict(list)
    for at, path, _ in feed_server.requests:
        if path.startswith("/drill-host/good-") and at >= turned_bad:
            times[path].append(at)
    assert sorted(times) == [f"/drill-host/good-{n}.xml" for n in (0, 2, 4)]
    for path, starts in times.items():
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert len(starts) >= BAD_FOR / INTERVAL * 0.8, (path, len(starts))
        assert max(gaps) < INTERVAL + 1.5, (path, gaps)

    def polls(feed: str, outcome: str) -> float:
        labels = (("feed", feed), ("outcome", outcome))
        return metrics.get(("wirewatch_feed_polls_total", labels), 0.0)

    def last_success(feed: str) -> float:
        return metrics[("wirewatch_feed_last_success_timestamp_seconds", (("feed", feed),))]

    def outcomes(feed: str) -> set[str]:
        return {
            dict(labels)["outcome"]
            for (name, labels), value in metrics.items()
            if name == "wirewatch_feed_polls_total" and ("feed", feed) in labels and value > 0
        }

    for feed in ("good-0", "good-2", "good-4"):
        assert now - last_success(feed) < 2 * INTERVAL + 1, feed
        assert outcomes(feed) <= {"ok", "not_modified", "unchanged"}, (feed, outcomes(feed))
    for feed in ("bad-1", "bad-3"):
        assert polls(feed, "timeout") >= 1, feed
        assert now - last_success(feed) > BAD_FOR - 2 * INTERVAL, feed
    assert polls("bad-5", "http_5xx") >= 1
