"""The consumer-thread fix on the real broker: records fetched while the flow stops are read again.

The race it closes left a worker in recovery for good (``streams.faust_fixes``):
a fetch begun while the flow ran returned changelog records after the flow
had stopped, Faust dropped them, and the position had already moved past
them. Here the fetch is begun, the flow stopped, and then the records arrive.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from streams.admin import ensure_topics
from streams.app import create_app
from streams.connection import aiokafka_options
from streams.faust_fixes import ConsumerThread
from streams.topics import Topics


async def test_records_fetched_while_the_flow_stops_are_put_back_and_fetched_again(wirewatch_config) -> None:
    config = wirewatch_config()
    await ensure_topics(config.kafka)
    topic = Topics(config.kafka.topic_prefix).feeds
    tp = TopicPartition(topic, 0)
    app = create_app(config)
    faust_consumer = app.consumer
    thread = faust_consumer._thread
    assert isinstance(thread, ConsumerThread)

    kafka = AIOKafkaConsumer(**aiokafka_options(config.kafka), group_id=None, enable_auto_commit=False)
    await kafka.start()
    try:
        kafka.assign([tp])
        kafka.seek(tp, 0)
        fetch = asyncio.create_task(thread._fetch_records(kafka, {tp}, timeout=20.0, max_records=100))
        await asyncio.sleep(1.0)
        assert not fetch.done(), "the fetch waits for records while the flow runs"

        faust_consumer.stop_flow()  # a rebalance begins
        producer = AIOKafkaProducer(**aiokafka_options(config.kafka), acks="all")
        await producer.start()
        try:
            for n in range(4):
                await producer.send_and_wait(topic, b"{}", key=f"feed-{n}".encode(), partition=0)
        finally:
            await producer.stop()
        assert await asyncio.wait_for(fetch, 30) == {}, "nothing handed over while the flow is stopped"
        assert await kafka.position(tp) == 0, "the position is where it was before the fetch"

        faust_consumer.resume_flow()
        offsets: list[int] = []
        while len(offsets) < 4:
            again = await asyncio.wait_for(
                thread._fetch_records(kafka, {tp}, timeout=5.0, max_records=100), 30
            )
            assert again, "the put-back records are fetched again"
            offsets += [r.offset for r in again[tp]]
        assert offsets == [0, 1, 2, 3]
    finally:
        await kafka.stop()
