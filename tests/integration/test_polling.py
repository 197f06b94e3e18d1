"""Pollers on the real broker: feeds spread over workers by partition, state survives restarts and kills."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from streams.records import Article
from streams.registry import read_compacted
from streams.topics import Topics
from tests.feed_server import FeedServer
from tests.kafka_fixtures import REPO_ROOT, sibling_worker, write_config
from tests.kafka_helpers import read_all

FAST_POLLING = {
    "first_poll_spread": "1s",
    "per_host_spacing": 0,
    "per_host_concurrency": 64,
    "concurrency": 64,
    "total_timeout": "10s",
}


def rss(feed: int, items: int) -> bytes:
    t0 = datetime(2025, 3, 18, 12, 0, tzinfo=UTC)
    entries = "".join(
        f"<item><title>Feed {feed} report {i}</title>"
        f"<link>https://news{feed % 5}.example/f{feed}/story-{i}?utm_source=rss</link>"
        f"<description>Report {i} of feed {feed}.</description>"
        f"<pubDate>{format_datetime(t0 + timedelta(minutes=i))}</pubDate></item>"
        for i in range(items)
    )
    channel = f"<channel><title>Feed {feed}</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def feeds_config(server: FeedServer, count: int, items: int, prefix: str) -> list[dict[str, object]]:
    return [
        {"id": f"feed-{i}", "url": server.set(f"/{prefix}/feed-{i}.xml", rss(i, items)), "interval": "2s"}
        for i in range(count)
    ]


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


async def articles_on(config, expected: int, timeout: float = 90) -> list[Article]:  # type: ignore[no-untyped-def]
    """Poll the raw topic until ``expected`` distinct ids are there (or time out)."""
    topic = Topics(config.kafka.topic_prefix).articles_raw
    deadline = time.monotonic() + timeout
    records: list[Article] = []
    while time.monotonic() < deadline:
        records = [Article.decode(r.value) for r in await read_all(config, topic)]
        if len({a.id for a in records}) >= expected:
            return records
        await asyncio.sleep(1)
    return records


@pytest.mark.slow
async def test_feeds_spread_over_two_workers_and_survive_a_kill(
    wirewatch_config, worker_factory, feed_server: FeedServer
) -> None:
    feeds = feeds_config(feed_server, 50, 3, "spread")
    base = {"kafka": {"partitions": 4}, "feeds": feeds}
    config_a = wirewatch_config(**base, polling={**FAST_POLLING, "user_agent": "worker-a"})
    config_b = sibling_worker(config_a, "b")
    config_b = config_b.model_copy(
        update={"polling": config_a.polling.model_copy(update={"user_agent": "worker-b"})}
    )
    worker_a = worker_factory(config_a)
    worker_b = worker_factory(config_b)

    first = await articles_on(config_a, 150)
    assert len({a.id for a in first}) == 150

    for i in range(50):  # one new item per feed
        feed_server.set(f"/spread/feed-{i}.xml", rss(i, 4))
    second = await articles_on(config_a, 200)
    counts = Counter(a.id for a in second)
    assert len(counts) == 200
    dupes = {a.feed_id for a in second if counts[a.id] > 1}
    timeline = {
        f: [(round(t, 1), h.get("User-Agent")) for t, p, h in feed_server.requests if p.endswith(f"/{f}.xml")]
        for f in sorted(dupes)[:3]
    }
    assert max(counts.values()) == 1, f"before any failure, every item is published exactly once: {timeline}"

    # never polled by two workers at once: per feed, the poller changes at most once (the
    # hand-over when worker B joined), and both workers own feeds now
    history: dict[str, list[str]] = {}
    for _, path, headers in feed_server.requests:
        if path.startswith("/spread/"):
            history.setdefault(path, []).append(headers.get("User-Agent", ""))
    switches = {p: sum(a != b for a, b in itertools.pairwise(h)) for p, h in history.items()}
    assert max(switches.values()) <= 1, {p: h for p, h in history.items() if switches[p] > 1}
    current = {p.split("/")[-1][:-4]: h[-1] for p, h in history.items()}
    assert set(current.values()) == {"worker-a", "worker-b"}

    # metrics follow ownership: worker A exports last-success series only for the feeds it owns
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{config_a.metrics.port}/metrics")).text
    owned_a = {feed for feed, agent in current.items() if agent == "worker-a"}
    exported = {
        line.split('feed="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("wirewatch_feed_last_success_timestamp_seconds{")
    }
    assert exported == owned_a
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if not line.startswith("#")
    }
    assert samples["wirewatch_feeds_owned"] == len(owned_a)
    assert samples["wirewatch_feed_parse_duration_seconds_count"] > 0
    assert samples['wirewatch_feed_fetch_duration_seconds_count{outcome="ok"}'] > 0
    assert samples['wirewatch_articles_total{stage="poll"}'] > 0
    new_items = sum(
        v for k, v in samples.items() if k.startswith("wirewatch_feed_items_total{") and 'kind="new"' in k
    )
    # per-feed series only cover the feeds A owns now (those it handed to B were dropped)
    assert 0 < new_items <= samples['wirewatch_articles_total{stage="poll"}']

    worker_a.kill()  # SIGKILL: no goodbye to the group; B takes over after the session timeout
    killed_at = time.monotonic()
    for i in range(50):
        feed_server.set(f"/spread/feed-{i}.xml", rss(i, 5))
    third = await articles_on(config_b, 250, timeout=120)
    ids = {a.id for a in third}
    assert len(ids) == 250, "after the kill nothing is missing (duplicates are allowed: at-least-once)"
    assert time.monotonic() - killed_at < 60
    late = {
        p
        for t, p, h in feed_server.requests
        if t > killed_at and p.startswith("/spread/") and h.get("User-Agent") == "worker-b"
    }
    assert len(late) == 50, "worker B now polls every feed"
    worker_b.stop()


async def test_restarted_worker_resumes_from_its_table(wirewatch_config, worker_factory, feed_server) -> None:
    feeds = feeds_config(feed_server, 3, 2, "restart")
    config = wirewatch_config(feeds=feeds, polling=FAST_POLLING)
    worker = worker_factory(config)
    first = await articles_on(config, 6)
    assert len(first) == 6
    worker.stop()

    requests_before = len(feed_server.requests)
    worker_factory(config)  # same app id: recovers the feeds table from its changelog
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(feed_server.requests) < requests_before + 9:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    later = feed_server.requests[requests_before:]
    assert len(later) >= 9, "the restarted worker polls again"
    assert all(h.get("If-None-Match") for _, p, h in later if p.startswith("/restart/")), (
        "ETags survived the restart"
    )
    again = await articles_on(config, 6, timeout=5)
    assert len(again) == 6, "nothing was published twice after the restart"


async def test_feeds_sync_removes_and_disables_feeds_and_the_worker_stops_polling_them(
    wirewatch_config, worker_factory, feed_server, tmp_path
) -> None:
    feeds = feeds_config(feed_server, 3, 1, "registry")
    config = wirewatch_config(feeds=feeds, polling=FAST_POLLING)
    worker_factory(config)
    assert len(await articles_on(config, 3)) == 3

    disabled = config.feeds[1].model_copy(update={"enabled": False})
    trimmed = config.model_copy(update={"feeds": (config.feeds[0], disabled)})
    path = write_config(trimmed, tmp_path / "trimmed.yaml")
    cli = [sys.executable, "-m", "monitor.cli", "feeds", "sync", "-c", str(path)]
    dry = await asyncio.to_thread(run_cli, [*cli, "--dry-run"])
    assert dry.returncode == 0, dry.stderr
    assert "0 added, 1 changed, 1 removed, 1 unchanged" in dry.stdout
    assert (await read_compacted(config, Topics(config.kafka.topic_prefix).feeds))[b"feed-2"] is not None

    done = await asyncio.to_thread(run_cli, cli)
    assert done.returncode == 0, done.stderr
    assert "  - feed-2" in done.stdout
    registry = await read_compacted(config, Topics(config.kafka.topic_prefix).feeds)
    assert registry[b"feed-2"] is None, "a removed feed gets a tombstone"
    assert registry[b"feed-0"] is not None

    await asyncio.sleep(3)  # the worker applies both changes (a poll in flight may still finish)
    stopped_at = time.monotonic()
    await asyncio.sleep(6)  # three intervals
    polled = {p for t, p, _ in feed_server.requests if t > stopped_at and p.startswith("/registry/")}
    assert polled == {"/registry/feed-0.xml"}, "removed and disabled feeds are not polled"


async def test_feeds_list_shows_each_feeds_health(
    wirewatch_config, worker_factory, feed_server: FeedServer, tmp_path: Path
) -> None:
    feeds = [
        *feeds_config(feed_server, 1, 2, "health"),
        {"id": "broken", "url": feed_server.hostile("/health/broken.xml", "500"), "interval": "2s"},
    ]
    config = wirewatch_config(feeds=feeds, polling=FAST_POLLING, worker={"stages": ["poll"]})
    worker_factory(config)
    await articles_on(config, 2)
    path = write_config(config, tmp_path / "wirewatch.yaml")

    def listed(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "feeds", "list", "-c", str(path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "200"},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = {row["spec"]["id"]: row["state"] for row in map(json.loads, listed("--json").splitlines())}
        if health.get("broken") and health["broken"]["consecutive_failures"] >= 1:
            break
        await asyncio.sleep(1)
    assert health["feed-0"]["last_success_at"] is not None
    assert health["feed-0"]["consecutive_failures"] == 0
    assert health["broken"]["last_success_at"] is None
    assert health["broken"]["last_outcome"] == "http_5xx"
    table = listed()
    assert "failing" in table
    assert "2 feeds on" in table
