"""The feed registry: the feeds of the configuration, on the compacted feeds topic.

``sync_feeds`` makes the topic say what the config says: a changed or new
feed is published (key = feed id), a feed no longer configured gets a
tombstone. Unchanged feeds are not re-published, so every worker can run it
at start-up with the same config and nothing moves. Workers sync with
``remove=False``: during a rolling config change a worker still on the old
file must not delete the feeds just added (their seen entries would be lost
and everything republished); removal is the explicit ``wirewatch feeds sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from monitor.config import FeedConfig, WirewatchConfig
from monitor.errors import RecordDecodeError
from streams.connection import aiokafka_options
from streams.records import FeedSpec, FeedState
from streams.topics import Topics


def spec_of(feed: FeedConfig) -> FeedSpec:
    return FeedSpec(
        id=feed.id,
        url=str(feed.url),
        title=feed.title,
        interval_seconds=feed.interval,
        tags=feed.tags,
        language=feed.language,
        enabled=feed.enabled,
        fulltext=feed.fulltext,
    )


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # registered, not configured, left alone

    def summary(self) -> str:
        return (
            f"feeds: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged"
            + (
                f"; {len(self.kept)} registered feeds not in this config were kept "
                "(`wirewatch feeds sync` removes them)"
                if self.kept
                else ""
            )
        )


def _decodes_to(value: bytes, spec: FeedSpec) -> bool:
    try:
        return FeedSpec.decode(value) == spec
    except RecordDecodeError:
        return False  # unreadable: overwrite it


async def read_compacted(
    config: WirewatchConfig, topic: str, within: float = 60.0
) -> dict[bytes, bytes | None]:
    """The latest value per key of a topic, read from the beginning to the current end."""
    consumer = AIOKafkaConsumer(**aiokafka_options(config.kafka), group_id=None, enable_auto_commit=False)
    await consumer.start()
    latest: dict[bytes, bytes | None] = {}
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        async with asyncio.timeout(within):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        if record.key is not None:
                            latest[record.key] = record.value
    finally:
        await consumer.stop()
    return latest


async def sync_feeds(config: WirewatchConfig, *, dry_run: bool = False, remove: bool = True) -> SyncReport:
    """Publish the configured feeds to the feeds topic; tombstone the ones removed (if ``remove``)."""
    topic = Topics(config.kafka.topic_prefix).feeds
    current = {k.decode(): v for k, v in (await read_compacted(config, topic)).items() if v is not None}
    wanted = {feed.id: spec_of(feed) for feed in config.feeds}
    report = SyncReport()
    messages: list[tuple[bytes, bytes | None]] = []
    for feed_id, spec in wanted.items():
        before = current.get(feed_id)
        if before is not None and _decodes_to(before, spec):
            report.unchanged += 1
            continue
        (report.changed if before is not None else report.added).append(feed_id)
        messages.append((feed_id.encode(), spec.encode()))
    for feed_id in sorted(set(current) - set(wanted)):
        if not remove:
            report.kept.append(feed_id)
            continue
        report.removed.append(feed_id)
        messages.append((feed_id.encode(), None))
    if messages and not dry_run:
        producer = AIOKafkaProducer(**aiokafka_options(config.kafka), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            batch = [await producer.send(topic, value, key=key) for key, value in messages]
            await asyncio.gather(*batch)
        finally:
            await producer.stop()
    return report


@dataclass(frozen=True)
class FeedHealth:
    """A registered feed and its last poll state (None: not polled yet)."""

    spec: FeedSpec
    state: FeedState | None


async def feed_health(config: WirewatchConfig) -> list[FeedHealth]:
    """Every feed on the registry with its newest poll state, read from the two compacted topics."""
    topics = Topics(config.kafka.topic_prefix)
    specs = await read_compacted(config, topics.feeds)
    states = await read_compacted(config, topics.feed_polls)
    out = []
    for key, value in sorted(specs.items()):
        if value is None:
            continue
        try:
            spec = FeedSpec.decode(value)
        except RecordDecodeError:
            continue  # the workers dead-letter it; nothing to show
        state = None
        raw = states.get(key)
        if raw is not None:
            with contextlib.suppress(RecordDecodeError):
                candidate = FeedState.decode(raw)
                state = candidate if candidate.url in (None, spec.url) else None  # an old URL's polls
        out.append(FeedHealth(spec, state))
    return out
