"""Failure drill: poison on every input topic is dead-lettered with its error, and every stage goes on.

One worker runs every stage on a real feed. Then a message that is not a record
lands on each topic a stage reads: the feed registry, the poll results, the raw
and the enriched articles, and the control topic. Each is dead-lettered by the
stage that read it, with the original bytes and the error (the control topic's
bad release is refused and counted instead: a release is not data to replay),
and news the feed publishes afterwards still goes all the way through.
"""

from __future__ import annotations

import asyncio
import base64
import time

import pytest

from streams.records import DeadLetter
from streams.topics import Topics
from tests.feed_server import FeedServer
from tests.integration.test_dedup import sequenced
from tests.integration.test_detect import scrape
from tests.integration.test_polling import FAST_POLLING, rss
from tests.kafka_helpers import produce, read_all

pytestmark = pytest.mark.slow

POISON = b'{"schema_version": 1, "title": 42'  # JSON cut short: no record type can read it


async def test_poison_on_every_input_topic_is_dead_lettered_and_the_stages_go_on(
    wirewatch_config, worker_factory, feed_server: FeedServer
) -> None:
    url = feed_server.set("/poison/feed-0.xml", rss(0, 2))
    config = wirewatch_config(feeds=[{"id": "feed-0", "url": url, "interval": "2s"}], polling=FAST_POLLING)
    topics = Topics(config.kafka.topic_prefix)
    worker_factory(config, ready_timeout=180)
    await sequenced(config, 2, timeout=180)

    poisoned = {
        "registry": topics.feeds,
        "poll_state": topics.feed_polls,
        "embed": topics.articles_raw,
        "dedup": topics.articles_enriched,
    }
    for topic in poisoned.values():
        await produce(config, topic, [(b"feed-0", POISON)])
    await produce(config, topics.control, [(b"detectors", POISON)])

    feed_server.set("/poison/feed-0.xml", rss(0, 4))  # two more reports after the poison
    after = await sequenced(config, 4, timeout=180)
    assert len({s.article.id for s in after}) == 4, "news after the poison went all the way through"

    deadline = time.monotonic() + 60
    dead: dict[str, DeadLetter] = {}
    while time.monotonic() < deadline and set(dead) != set(poisoned):
        dead = {
            d.stage: d
            for d in map(DeadLetter.decode, (r.value for r in await read_all(config, topics.deadletter)))
        }
        await asyncio.sleep(1)
    assert set(dead) == set(poisoned), dead.keys()
    for stage, topic in poisoned.items():
        letter = dead[stage]
        assert letter.topic == topic
        assert letter.error_type == "RecordDecodeError"
        assert letter.error
        assert base64.b64decode(letter.value or "") == POISON
        assert base64.b64decode(letter.key or "") == b"feed-0"

    metrics = scrape(config)
    for stage in poisoned:
        assert metrics[("wirewatch_deadletter_messages_total", (("stage", stage),))] == 1
    assert metrics[("wirewatch_detectors_rejected_total", ())] >= 1
