"""Failure drill: the broker stops mid-stream and comes back (its data on disk).

One worker runs the whole pipeline on the demo news. When the demo is under
way the session's broker is shut down for longer than the worker's session
timeout, while the outlets keep publishing, then started again on the same
data and ports. The same worker process reconnects and resumes: every item
the outlets published is sequenced, and the expected alerts fire, each id
once however often a retried send wrote it.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from monitor.broker import LocalBroker
from monitor.demo import DemoFeedServer, wait_until_ready
from streams.records import SequencedArticle
from streams.topics import Topics
from tests.integration.test_demo_end_to_end import COPIES, alerts_after_the_news, demo_config
from tests.kafka_helpers import read_all, wait_for_records

pytestmark = pytest.mark.slow

DOWN_FOR = 15.0  # seconds: longer than the worker's 10 s session timeout
AFTER_RESTART = 150.0  # seconds for the rest of the news and its alerts (about 40 s in a passing run)


async def test_the_broker_restarts_mid_stream_and_nothing_is_lost(
    wirewatch_config, worker_factory, kafka_broker: LocalBroker
) -> None:
    with DemoFeedServer(speed=2.0) as feeds:
        config = demo_config(wirewatch_config, feeds.url)
        worker = worker_factory(config, ready_timeout=180)
        assert wait_until_ready(
            f"http://{config.metrics.host}:{config.metrics.port}/ready", threading.Event(), 180
        )
        feeds.clock.start()
        sequenced_topic = Topics(config.kafka.topic_prefix).articles_sequenced
        await wait_for_records(config, sequenced_topic, 4)

        stopped_at = feeds.clock.elapsed()
        kafka_broker.stop()
        await asyncio.sleep(DOWN_FOR)
        # in this thread, not an executor's: an attached broker dies with the thread that started it
        kafka_broker.start(attached=True)
        restarted_at = feeds.clock.elapsed()
        assert restarted_at < feeds.news.duration, "the outage ended before the news did"

        # well inside pytest's 300 s: a run short of alerts ends in the assertions below, which
        # name the missing alerts and items, not in a bare timeout
        on_topic = await alerts_after_the_news(config, feeds, len(feeds.news.expect), timeout=AFTER_RESTART)
        assert worker.proc is not None
        assert worker.proc.poll() is None, "the worker rode out the outage, no restart"

    published_while_down = [i.id for i in feeds.news.items if stopped_at <= i.at <= restarted_at]
    assert published_while_down, "the outlets published during the outage"
    item_of = {feeds.link(i): i.id for i in feeds.news.items}
    by_id = {a.id: a for a in on_topic}
    on_item = [item_of[a.articles[-1].url] for a in by_id.values()]
    fired = sorted((a.detector_id, COPIES.get(i, i)) for a, i in zip(by_id.values(), on_item, strict=True))
    sequenced = {
        SequencedArticle.decode(r.value).article.url for r in await read_all(config, sequenced_topic)
    }
    missing = [i.id for i in feeds.news.items if feeds.link(i) not in sequenced]
    expected = sorted((e.detector, e.item) for e in feeds.news.expect)
    assert fired == expected, f"fired {fired}; expected {expected}; items never sequenced: {missing}"
    assert not missing, f"items never sequenced: {missing}"
