"""Polling cost: 1,000 feeds served locally, one poll-only worker on the real broker.

Run: ``make bench`` (or ``pytest tests/benchmarks/test_poll_bench.py -m benchmark -s``).
Knobs (environment): ``WIREWATCH_BENCH_FEEDS`` (1000), ``WIREWATCH_BENCH_INTERVAL``
(seconds, 30), ``WIREWATCH_BENCH_PHASE`` (seconds per phase, 120).

The target is 1,000 feeds on a 5-minute interval with 10% changing between
polls: under 10% of one core and under 300 MB. Waiting 5 minutes per poll
cycle would make the benchmark slow, so feeds are polled 10× as often (30 s)
and the CPU cost per poll is projected to the 5-minute schedule; the measured
CPU share at the faster schedule is reported too. Phases: the first poll of
every feed (20 items each, all new), then 10% of feeds changing per interval,
then every feed changing every interval. CPU and memory are the worker's
whole process tree (parser processes included); the feed server runs in the
test process and is not counted. All feeds share one host here, so the
per-host limits are raised; real feeds spread over many hosts.
"""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.benchmarks.pipeline import ProcessSampler, tree_usage
from tests.feed_server import FeedServer

pytestmark = pytest.mark.benchmark

FEEDS = int(os.environ.get("WIREWATCH_BENCH_FEEDS", "1000"))
INTERVAL = float(os.environ.get("WIREWATCH_BENCH_INTERVAL", "30"))
PHASE = float(os.environ.get("WIREWATCH_BENCH_PHASE", "120"))
ITEMS = 20
TARGET_INTERVAL = 300.0
LEAD = (
    "Officials said talks would continue next week as negotiators met in the capital to discuss the "
    "terms of a pause in strikes on energy infrastructure, a prisoner exchange and humanitarian access. "
)


def feed_body(feed: int, newest: int) -> bytes:
    """RSS with the ``ITEMS`` newest items (ids ``newest-ITEMS+1 .. newest``); a few KB, like real feeds."""
    t0 = datetime(2025, 3, 18, tzinfo=UTC)
    items = "".join(
        f"<item><title>Feed {feed}: report {n} on the talks</title>"
        f"<link>https://outlet{feed % 97}.example/news/{feed}/{n}?utm_source=rss</link>"
        f"<guid isPermaLink='false'>f{feed}-{n}</guid>"
        f"<description>&lt;p&gt;{LEAD}&lt;/p&gt;</description>"
        f"<pubDate>{format_datetime(t0 + timedelta(minutes=n))}</pubDate></item>"
        for n in range(newest, max(newest - ITEMS, 0), -1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://outlet{feed % 97}.example/</link>{items}</channel></rss>"
    ).encode()


class Publisher(threading.Thread):
    """Adds one item to randomly chosen feeds, so that ``share`` of them change per interval."""

    def __init__(self, server: FeedServer, newest: list[int]) -> None:
        super().__init__(daemon=True)
        self.server, self.newest = server, newest
        self.share = 0.0
        self.stopped = threading.Event()
        self.rng = random.Random(7)

    def run(self) -> None:
        credit = 0.0
        while not self.stopped.wait(0.25):
            credit += FEEDS * self.share * 0.25 / INTERVAL
            while credit >= 1:
                credit -= 1
                feed = self.rng.randrange(FEEDS)
                self.newest[feed] += 1
                self.server.set(f"/bench/feed-{feed}.xml", feed_body(feed, self.newest[feed]))


def scrape(port: int) -> tuple[float, float]:
    """(polls, articles published) so far, from the worker's /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    polls = articles = 0.0
    for line in text.splitlines():
        if line.startswith("wirewatch_feed_polls_total{"):
            polls += float(line.rsplit(" ", 1)[1])
        elif line.startswith('wirewatch_articles_total{stage="poll"}'):
            articles += float(line.rsplit(" ", 1)[1])
    return polls, articles


def measure(pid: int, port: int, seconds: float, sampler: ProcessSampler) -> dict[str, float]:
    sampler.peak = 0
    cpu0, _ = tree_usage(pid)
    polls0, articles0 = scrape(port)
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu1, _ = tree_usage(pid)
    polls1, articles1 = scrape(port)
    polls, cpu = polls1 - polls0, cpu1 - cpu0
    per_poll = cpu / max(polls, 1)
    return {
        "polls_per_s": round(polls / elapsed, 1),
        "new_articles_per_s": round((articles1 - articles0) / elapsed, 1),
        "cpu_share_of_one_core": round(cpu / elapsed, 3),
        "cpu_s_per_1000_polls": round(per_poll * 1000, 2),
        "projected_core_share_at_5min_interval": round(per_poll * FEEDS / TARGET_INTERVAL, 4),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
    }


@pytest.mark.timeout(INTERVAL * 4 + 2 * (PHASE + INTERVAL) + 600)
def test_polling_1000_feeds(  # type: ignore[no-untyped-def]
    wirewatch_config, worker_factory, feed_server: FeedServer, record_result
) -> None:
    newest = [ITEMS] * FEEDS
    feeds = [
        {
            "id": f"feed-{i}",
            "url": feed_server.set(f"/bench/feed-{i}.xml", feed_body(i, ITEMS)),
            "interval": INTERVAL,
        }
        for i in range(FEEDS)
    ]
    config = wirewatch_config(
        feeds=feeds,
        kafka={"partitions": 4},
        worker={"stages": ["poll"]},
        polling={
            "first_poll_spread": INTERVAL,
            "per_host_concurrency": 32,
            "per_host_spacing": 0,
            "concurrency": 64,
        },
    )
    print(f"\nstarting a poll-only worker with {FEEDS} feeds on a {INTERVAL:g}s interval…")
    worker = worker_factory(config)
    assert worker.proc is not None
    pid, port = worker.proc.pid, config.metrics.port
    sampler = ProcessSampler(pid)
    sampler.start()

    # phase 1: every feed's first poll (all items new)
    t0, cpu0 = time.monotonic(), tree_usage(pid)[0]
    while scrape(port)[1] < FEEDS * ITEMS and time.monotonic() - t0 < INTERVAL * 4 + 120:
        time.sleep(1)
        print(f"\r  first polls: {int(scrape(port)[0])}/{FEEDS}", end="", flush=True)
    first = {
        "feeds": FEEDS,
        "articles": int(scrape(port)[1]),
        "seconds": round(time.monotonic() - t0, 1),
        "cpu_s": round(tree_usage(pid)[0] - cpu0, 1),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
    }
    print(f"\n  first polls done: {first}")
    assert first["articles"] >= FEEDS * ITEMS, "every feed's items published on the first poll"

    publisher = Publisher(feed_server, newest)
    publisher.start()
    results = {}
    for name, share in (("ten_percent_change", 0.10), ("all_change", 1.0)):
        publisher.share = share
        time.sleep(INTERVAL / 2)  # let the schedule settle on the new rate
        print(f"  measuring '{name}' for {PHASE:g}s…")
        results[name] = measure(pid, port, PHASE, sampler)
        print(f"  {name}: {results[name]}")
    publisher.stopped.set()
    sampler.stopped.set()

    record_result(
        "poll_1000_feeds",
        feeds=FEEDS,
        interval_s=INTERVAL,
        phase_s=PHASE,
        first_poll=first,
        **results,
    )
    ten = results["ten_percent_change"]
    assert ten["polls_per_s"] > FEEDS / INTERVAL * 0.8, "every feed polled about once per interval"
    assert ten["projected_core_share_at_5min_interval"] < 0.10
    assert ten["peak_rss_mb"] < 300
