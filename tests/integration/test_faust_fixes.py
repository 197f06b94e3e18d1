"""The consumer-thread fix on the real broker: records Faust would drop are read again.

The race it closes left a worker in recovery for good (``streams.faust_fixes``):
a fetch begun while the flow ran returned changelog records after the flow
had stopped (or after their partition was paused), Faust dropped them, and
the position had already moved past them. Here a fetch is begun, the flow
stopped or the partition paused, and then the records arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from monitor.config import WirewatchConfig
from streams.admin import ensure_topics
from streams.app import create_app
from streams.connection import aiokafka_options
from streams.faust_fixes import ConsumerThread
from streams.topics import Topics


@asynccontextmanager
async def fetching(config: WirewatchConfig, tp: TopicPartition) -> AsyncIterator[tuple[Any, Any, Any]]:
    """Our consumer thread (not started: called directly), the Faust consumer, a reader at ``tp``'s start."""
    await ensure_topics(config.kafka)
    faust_consumer = create_app(config).consumer
    thread = faust_consumer._thread
    assert isinstance(thread, ConsumerThread)
    kafka = AIOKafkaConsumer(**aiokafka_options(config.kafka), group_id=None, enable_auto_commit=False)
    await kafka.start()
    try:
        kafka.assign([tp])
        kafka.seek(tp, 0)
        yield thread, faust_consumer, kafka
    finally:
        await kafka.stop()


async def produce_four(config: WirewatchConfig, tp: TopicPartition) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(config.kafka), acks="all")
    await producer.start()
    try:
        for n in range(4):
            await producer.send_and_wait(tp.topic, b"{}", key=f"feed-{n}".encode(), partition=tp.partition)
    finally:
        await producer.stop()


async def race(
    config: WirewatchConfig,
    thread: Any,
    kafka: Any,
    tp: TopicPartition,
    active: set[Any],
    meanwhile: Callable[[], None],
) -> None:
    """Begin a fetch, change Faust's state with ``meanwhile``, then produce: nothing comes, none lost."""
    fetch = asyncio.create_task(thread._fetch_records(kafka, active, timeout=20.0, max_records=100))
    await asyncio.sleep(1.0)
    assert not fetch.done(), "the fetch waits for records"
    meanwhile()
    await produce_four(config, tp)
    assert await asyncio.wait_for(fetch, 30) == {}, "nothing handed over that Faust would drop"
    assert await kafka.position(tp) == 0, "the position is where it was before the fetch"


async def fetch_four(thread: Any, kafka: Any, tp: TopicPartition, active: set[Any]) -> list[int]:
    offsets: list[int] = []
    while len(offsets) < 4:
        again = await asyncio.wait_for(thread._fetch_records(kafka, active, timeout=5.0, max_records=100), 30)
        assert again, "the put-back records are fetched again"
        offsets += [r.offset for r in again[tp]]
    return offsets


async def test_records_fetched_while_the_flow_stops_are_put_back_and_fetched_again(wirewatch_config) -> None:
    config = wirewatch_config()
    tp = TopicPartition(Topics(config.kafka.topic_prefix).feeds, 0)
    async with fetching(config, tp) as (thread, faust_consumer, kafka):
        active = {tp}
        await race(config, thread, kafka, tp, active, faust_consumer.stop_flow)  # a rebalance begins
        faust_consumer.resume_flow()
        assert await fetch_four(thread, kafka, tp, active) == [0, 1, 2, 3]


async def test_records_of_a_partition_paused_during_the_fetch_are_put_back(wirewatch_config) -> None:
    config = wirewatch_config()
    tp = TopicPartition(Topics(config.kafka.topic_prefix).feeds, 1)
    async with fetching(config, tp) as (thread, _, kafka):
        # Faust's live set of active partitions; emptied, it means "every partition" to aiokafka
        active = {tp}
        await race(config, thread, kafka, tp, active, lambda: active.discard(tp))
        active.add(tp)  # resumed
        assert await fetch_four(thread, kafka, tp, active) == [0, 1, 2, 3]
