"""Failure drill: ``kill -9`` a worker mid-stream, the whole pipeline on two workers.

Two workers share the demo news (feeds, raw partitions, the sequencer); when
the demo is under way the one running the sequencer and detectors, the
stateful part, is killed without warning. The other takes over its feeds and
partitions from the changelogs. A user following ``wirewatch alerts tail``
from before the kill sees every expected alert, each once; every item the
outlets published was sequenced at least once.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import pytest

from monitor.demo import DemoFeedServer, wait_until_ready
from streams.records import Alert, SequencedArticle
from streams.topics import Topics
from tests.integration.test_alerts_tail import spawn
from tests.integration.test_demo_end_to_end import COPIES, alerts_after_the_news, demo_config
from tests.integration.test_detect import scrape
from tests.kafka_fixtures import sibling_worker, write_config
from tests.kafka_helpers import read_all, wait_for_records

# pytest's timeout above the 400 s the drill itself waits for its alerts: a short run then fails
# on the assertions that name what is missing, not on a bare timeout
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def test_a_killed_worker_is_taken_over_and_alerts_tail_shows_each_alert_once(
    wirewatch_config, worker_factory, tmp_path: Path
) -> None:
    with DemoFeedServer(speed=2.0) as feeds:
        first = demo_config(wirewatch_config, feeds.url)
        second = sibling_worker(first, "b")
        configs = (first, second)
        workers = [worker_factory(c, ready_timeout=180) for c in configs]
        for c in configs:
            assert wait_until_ready(f"http://{c.metrics.host}:{c.metrics.port}/ready", threading.Event(), 180)
        tail = await spawn(write_config(first, tmp_path / "client.yaml"), "--json", "--since", "1h")
        assert tail.stdout is not None
        shown: list[str] = []

        async def follow() -> None:
            assert tail.stdout is not None
            while line := await tail.stdout.readline():
                shown.append(line.decode())

        async def drain() -> None:  # its log: a full pipe would block the tail, SIGINT and all
            assert tail.stderr is not None
            while await tail.stderr.read(65536):
                pass

        follower = asyncio.create_task(follow())
        drainer = asyncio.create_task(drain())
        try:
            feeds.clock.start()
            # mid-stream: some news sequenced (the call, and its copies), most still to come
            sequenced_topic = Topics(first.kafka.topic_prefix).articles_sequenced
            await wait_for_records(first, sequenced_topic, 4)
            owner = next(
                i
                for i, c in enumerate(configs)
                if any(
                    name == "wirewatch_articles_total" and ("stage", "dedup") in labels and value > 0
                    for (name, labels), value in scrape(c).items()
                )
            )
            killed_at = feeds.clock.elapsed()
            workers[owner].kill(signal.SIGKILL)
            survivor = workers[1 - owner]

            on_topic = await alerts_after_the_news(first, feeds, len(feeds.news.expect), timeout=400)
            await asyncio.sleep(5)  # the tail shows what the topic has
        finally:
            tail.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(tail.wait(), 30)
            except TimeoutError:  # never leave a follower behind (one outlived a CI run)
                tail.kill()
                await tail.wait()
            follower.cancel()
            drainer.cancel()
        assert killed_at < feeds.news.duration, "the kill came before the last item"
        assert survivor.proc is not None
        assert survivor.proc.poll() is None, "the other worker still runs"

    seen = [Alert.decode(line) for line in shown]
    assert len({a.id for a in seen}) == len(seen), "alerts tail showed an alert twice"
    assert {a.id for a in seen} == {a.id for a in on_topic}, "alerts tail missed an alert"
    item_of = {feeds.link(i): i.id for i in feeds.news.items}
    on_item = [item_of[a.articles[-1].url] for a in seen]
    fired = sorted((a.detector_id, COPIES.get(i, i)) for a, i in zip(seen, on_item, strict=True))
    assert fired == sorted((e.detector, e.item) for e in feeds.news.expect), fired

    sequenced = {SequencedArticle.decode(r.value).article.url for r in await read_all(first, sequenced_topic)}
    missing = [i.id for i in feeds.news.items if feeds.link(i) not in sequenced]
    assert not missing, f"items never sequenced: {missing}"
