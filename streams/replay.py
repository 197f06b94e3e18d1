"""Archived articles into the pipeline, as the poller publishes them (``wirewatch replay``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaProducer

from monitor.config import WirewatchConfig
from streams.connection import aiokafka_options, producer_options
from streams.records import Article
from streams.topics import Topics

IN_FLIGHT = 500  # sends awaited together: fast, and the progress bar still moves


async def send_articles(
    config: WirewatchConfig, articles: list[Article], progress: Callable[[int], None] = lambda _: None
) -> None:
    """Each article to the raw articles topic keyed by its id, in the given order, acknowledged by all."""
    topic = Topics(config.kafka.topic_prefix).articles_raw
    producer = AIOKafkaProducer(
        **aiokafka_options(config.kafka),
        **producer_options(config.kafka),
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        for start in range(0, len(articles), IN_FLIGHT):
            chunk = articles[start : start + IN_FLIGHT]
            sent = [await producer.send(topic, a.encode(), key=a.id.encode()) for a in chunk]
            await asyncio.gather(*sent)
            progress(len(chunk))
    finally:
        await producer.stop()
