"""Failure drill on a three-broker cluster: a broker killed mid-stream, then the sequencer's leader.

Three KRaft nodes on loopback (``monitor.broker.LocalCluster``), topics with
three replicas and ``min.insync.replicas=2``, every producer ``acks=all`` and
idempotent. One worker runs the whole pipeline on the demo news, polled as
they are published. A broker is killed with SIGKILL and kept down for 30 s,
then started again; later the broker leading the sequencer's topic
(``articles.enriched``) is killed the same way. The worker is never
restarted; every item the outlets published is sequenced, every expected
alert arrives, and ``alerts tail`` shows each once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from monitor.broker import LocalBroker, LocalCluster
from monitor.demo import DemoFeedServer, wait_until_ready
from streams.connection import aiokafka_options
from streams.records import SequencedArticle
from streams.topics import Topics
from tests.integration.test_demo_end_to_end import COPIES, alerts_after_the_news, demo_config
from tests.kafka_fixtures import KAFKA_HEAP_MB, write_config
from tests.kafka_helpers import read_all, wait_for_records

# pytest's timeout above the 400 s the drill itself waits for its alerts: a short run then fails
# on the assertions that name what is missing, not on a bare timeout
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DOWN_FOR = 30.0  # seconds each killed broker stays down


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    nodes = LocalCluster(tmp_path_factory.mktemp("cluster"), size=3, heap_mb=min(KAFKA_HEAP_MB, 384))
    nodes.start(progress=lambda m: print(m, file=sys.stderr))
    try:
        yield nodes
    finally:
        nodes.stop()


def kill(node: LocalBroker) -> None:
    assert node.process is not None
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait(timeout=30)
    node.process = None


async def ours(admin: AIOKafkaAdminClient, config) -> list[str]:  # type: ignore[no-untyped-def]
    """Every topic of this deployment: ours by prefix, Faust's changelogs by app id."""
    prefixes = (config.kafka.topic_prefix, f"{config.worker.app_id}-")
    return sorted(t for t in await admin.list_topics() if t.startswith(prefixes))


async def seconds_to_full_isr(config, replicas: int, within: float = 120.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds until every partition of our topics lists all ``replicas`` in sync again."""
    started = time.monotonic()
    admin = AIOKafkaAdminClient(**aiokafka_options(config.kafka))
    await admin.start()
    try:
        while True:
            described = await admin.describe_topics(await ours(admin, config))
            short = [
                f"{d['topic']}[{p['partition']}]"
                for d in described
                for p in d["partitions"]
                if len(p["isr"]) < replicas
            ]
            if not short:
                return time.monotonic() - started
            assert time.monotonic() - started < within, f"still under-replicated: {short}"
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def min_insync_of(config) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``min.insync.replicas`` of each of our topics, changelogs included, as the brokers have it."""
    admin = AIOKafkaAdminClient(**aiokafka_options(config.kafka))
    await admin.start()
    try:
        names = await ours(admin, config)
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, configs={"min.insync.replicas": None}) for n in names
        ]
        found: dict[str, str] = {}
        for response in await admin.describe_configs(resources):
            for _code, _message, _type, name, entries, *_ in response.resources:
                found[name] = next((e[1] for e in entries if e[0] == "min.insync.replicas"), "unset")
        return found
    finally:
        await admin.close()


def published_to_sequenced(feeds: DemoFeedServer, records: list, outages: list) -> dict[str, list[float]]:  # type: ignore[type-arg]
    """Seconds from each item's publication to its first sequenced record, for the items
    published while a broker was down and for the others."""
    first: dict[str, float] = {}
    for record in records:
        url = SequencedArticle.decode(record.value).article.url
        first[url] = min(first.get(url, float("inf")), record.timestamp / 1000)
    split: dict[str, list[float]] = {"during": [], "outside": []}
    for item in feeds.news.items:
        delay = first[feeds.link(item)] - feeds.clock.published(item).timestamp()
        during = any(down <= item.at <= up for _node, down, up, _seconds in outages)
        split["during" if during else "outside"].append(delay)
    return split


async def leader_of(config, topic: str) -> int:  # type: ignore[no-untyped-def]
    admin = AIOKafkaAdminClient(**aiokafka_options(config.kafka))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        return int(described["partitions"][0]["leader"])
    finally:
        await admin.close()


async def test_a_killed_broker_and_a_killed_leader_lose_nothing(
    cluster: LocalCluster, wirewatch_config, worker_factory, tmp_path: Path
) -> None:
    with DemoFeedServer(speed=1.0) as feeds:
        demo = demo_config(wirewatch_config, feeds.url)
        kafka = demo.kafka.model_copy(update={"bootstrap": cluster.bootstrap, "replication_factor": 3})
        config = demo.model_copy(update={"kafka": kafka})
        topics = Topics(config.kafka.topic_prefix)
        worker = worker_factory(config, ready_timeout=180)
        assert wait_until_ready(
            f"http://{config.metrics.host}:{config.metrics.port}/ready", threading.Event(), 180
        )
        feeds.clock.start()
        await wait_for_records(config, topics.articles_sequenced, 4)

        outages, recovered = [], []
        enriched_leader = await leader_of(config, topics.articles_enriched)
        first = next(n for n in cluster.nodes if n.node.node_id != enriched_leader)  # a follower first
        for choose in (lambda: first, None):
            if choose is None:  # then whoever leads the sequencer's topic now
                leader = await leader_of(config, topics.articles_enriched)
                node = next(n for n in cluster.nodes if n.node.node_id == leader)
            else:
                node = choose()
            down_at = feeds.clock.elapsed()
            started = time.monotonic()
            kill(node)
            await asyncio.sleep(DOWN_FOR)
            node.start(attached=True)  # in this thread: an attached broker dies with its thread
            outages.append((node.node.node_id, down_at, feeds.clock.elapsed(), time.monotonic() - started))
            # as an operator would: the next broker goes down only once this one has caught up
            recovered.append(await seconds_to_full_isr(config, replicas=3))
        assert outages[-1][2] < feeds.news.duration, "both outages ended before the news did"

        on_topic = await alerts_after_the_news(config, feeds, len(feeds.news.expect), timeout=400)
        assert worker.proc is not None
        assert worker.proc.poll() is None, "the worker rode out both outages, no restart"

        item_of = {feeds.link(i): i.id for i in feeds.news.items}
        by_id = {a.id: a for a in on_topic}
        on_item = [item_of[a.articles[-1].url] for a in by_id.values()]
        fired = sorted(
            (a.detector_id, COPIES.get(i, i)) for a, i in zip(by_id.values(), on_item, strict=True)
        )
        assert fired == sorted((e.detector, e.item) for e in feeds.news.expect), fired

        sequenced_records = await read_all(config, topics.articles_sequenced)
        sequenced = {SequencedArticle.decode(r.value).article.url for r in sequenced_records}
        missing = [i.id for i in feeds.news.items if feeds.link(i) not in sequenced]
        assert not missing, f"items never sequenced: {missing}"

        path = write_config(config, tmp_path / "tail.yaml")
        tail = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "alerts",
                "tail",
                "-c",
                str(path),
                "--since",
                "30d",
                "--no-follow",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert tail.returncode == 0, tail.stderr
        shown = [json.loads(line)["id"] for line in tail.stdout.splitlines() if line.strip()]
        assert sorted(shown) == sorted(by_id), "alerts tail shows every alert, each once"

        # every topic, the worker's changelogs too, refuses a write that fewer than two replicas hold
        min_insync = await min_insync_of(config)
        assert any("changelog" in name for name in min_insync), sorted(min_insync)
        assert set(min_insync.values()) == {"2"}, min_insync

        raw = await read_all(config, topics.articles_raw)
        delays = published_to_sequenced(feeds, sequenced_records, outages)
        spans = {
            k: f"median {statistics.median(v):.1f} s, max {max(v):.1f} s" for k, v in delays.items() if v
        }
        print(
            "drill figures:\n"
            f"  items published {len(feeds.news.items)} ({len(item_of)} articles, the rest edits);"
            f" raw article records produced {len(raw)} for {len({r.key for r in raw})} articles;"
            f" sequenced {len(sequenced_records)} records for {len(sequenced)} articles, none missing\n"
            f"  alerts expected {len(feeds.news.expect)}; alert records on the topic {len(on_topic)}"
            f" for {len(by_id)} alert ids; shown by alerts tail {len(shown)}, each once\n"
            f"  outages (node, down at, up at news second, seconds down): {outages}\n"
            f"  back in sync (every partition's ISR = 3) after restart: {[round(r, 1) for r in recovered]} s;"
            f" published → sequenced, items published while a broker was down ({len(delays['during'])}):"
            f" {spans.get('during')}; the others ({len(delays['outside'])}): {spans.get('outside')}"
        )
