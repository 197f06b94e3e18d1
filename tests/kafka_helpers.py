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


def reader(config: WirewatchConfig, topic: str) -> AIOKafkaConsumer:
    """A plain consumer of ``topic`` from its start, outside any group (what any Kafka user runs)."""
    return AIOKafkaConsumer(
        topic,
        **aiokafka_options(config.kafka),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )


async def consume(
    config: WirewatchConfig, topic: str, count: int, timeout: float = 60.0
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Read ``count`` messages from the start of ``topic`` (no consumer group), or fail on timeout."""
    consumer = reader(config, topic)
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


async def read_all(config: WirewatchConfig, topic: str, timeout: float = 30.0) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Everything on ``topic`` right now: every partition read up to its end offset."""
    consumer = reader(config, topic)
    await consumer.start()
    records: list[ConsumerRecord] = []  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    try:
        while not consumer.assignment():  # without a group, partitions come with the metadata
            if time.monotonic() > deadline:
                raise AssertionError(f"no partitions of {topic} within {timeout}s")
            for partition_records in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(partition_records)
        tps = sorted(consumer.assignment())
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end within {timeout}s")
            for partition_records in (await consumer.getmany(*tps, timeout_ms=500)).values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def wait_for_records(config: WirewatchConfig, topic: str, count: int, timeout: float = 120.0) -> None:
    """Until ``topic`` holds at least ``count`` records (a drill's "mid-stream")."""
    deadline = time.monotonic() + timeout
    while len(await read_all(config, topic)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} records on {topic} after {timeout}s"
        await asyncio.sleep(0.5)
