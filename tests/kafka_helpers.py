"""Plain aiokafka producer/consumer helpers for tests: what any Kafka user would run."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from monitor.config import WirewatchConfig
from streams.connection import aiokafka_options


async def produce(config: WirewatchConfig, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(config.kafka), acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def consume(
    config: WirewatchConfig, topic: str, count: int, timeout: float = 60.0
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Read ``count`` messages from the start of ``topic`` (no consumer group), or fail on timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        **aiokafka_options(config.kafka),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
        # one more short read to catch anything beyond the expected count
        await asyncio.sleep(0)
        extra = await consumer.getmany(timeout_ms=1000)
        for partition_records in extra.values():
            records.extend(partition_records)
    finally:
        await consumer.stop()
    assert len(records) >= count, f"expected {count} messages on {topic}, got {len(records)} in {timeout}s"
    return records
