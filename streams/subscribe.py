"""Reading an alerts topic the way a subscriber does: from a time or from now, filtered, each id once.

(And the sequenced topic the same way, for ``wirewatch stories``.)

A plain aiokafka consumer outside any consumer group (it never takes
partitions from other subscribers, and commits nothing): it starts at the
first alert made at or after ``since`` (Kafka's time index), or at the end
of every partition, and follows new alerts. Alert ids are deterministic, so a
worker that re-sends an alert after a restart or a redelivery sends the same
id; a subscriber that remembers the ids it showed never shows one twice.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from detectors.base import Severity
from monitor.config import KafkaConfig
from monitor.errors import RecordDecodeError
from streams.connection import aiokafka_options, check_access
from streams.records import Alert, SequencedArticle

SEEN_IDS = 100_000  # alert ids remembered per subscriber (about 10 MB)


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a subscriber wants; an empty criterion accepts everything."""

    detectors: frozenset[str] = frozenset()
    min_severity: Severity | None = None
    labels: frozenset[str] = frozenset()  # any of them

    def accepts(self, alert: Alert) -> bool:
        if self.detectors and alert.detector_id not in self.detectors:
            return False
        if self.min_severity is not None and Severity(alert.severity).rank < self.min_severity.rank:
            return False
        return not self.labels or not self.labels.isdisjoint(alert.labels)


@dataclass
class SeenIds:
    """The most recent ``limit`` alert ids, oldest forgotten first."""

    limit: int = SEEN_IDS
    _ids: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def first_time(self, alert_id: str) -> bool:
        if alert_id in self._ids:
            self._ids.move_to_end(alert_id)
            return False
        self._ids[alert_id] = None
        if len(self._ids) > self.limit:
            self._ids.popitem(last=False)
        return True

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._ids


@dataclass(frozen=True)
class Unreadable:
    """A message that is not the record its topic carries (shown, never fatal)."""

    partition: int
    offset: int
    error: str


async def tail_alerts(
    kafka: KafkaConfig,
    topic: str,
    *,
    since: datetime | None = None,
    follow: bool = True,
    accept: AlertFilter | None = None,
    seen: SeenIds | None = None,
) -> AsyncIterator[Alert | Unreadable]:
    """Alerts on ``topic`` made at or after ``since`` (default: from now on), each id once.

    With ``follow=False`` it stops at the end offsets found when it started.
    """
    accept = accept or AlertFilter()
    seen = seen if seen is not None else SeenIds()
    async for partition, offset, value in _records(kafka, topic, since, follow):
        try:
            alert = Alert.decode(value)
        except RecordDecodeError as exc:
            yield Unreadable(partition, offset, str(exc))
            continue
        if accept.accepts(alert) and seen.first_time(alert.id):
            yield alert


async def read_sequenced(
    kafka: KafkaConfig, topic: str, *, since: datetime
) -> AsyncIterator[SequencedArticle | Unreadable]:
    """The sequenced topic's articles written at or after ``since``, up to its end now
    (``wirewatch stories`` on the live pipeline)."""
    async for partition, offset, value in _records(kafka, topic, since, follow=False):
        try:
            yield SequencedArticle.decode(value)
        except RecordDecodeError as exc:
            yield Unreadable(partition, offset, str(exc))


async def _records(
    kafka: KafkaConfig, topic: str, since: datetime | None, follow: bool
) -> AsyncIterator[tuple[int, int, bytes]]:
    """(partition, offset, value) of ``topic``'s records from ``since`` (default: the end)."""
    await check_access(kafka)  # a refused subscriber says why, instead of retrying
    consumer = AIOKafkaConsumer(**aiokafka_options(kafka), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await _seek(consumer, partitions, since)
        ends = await consumer.end_offsets(partitions)
        while True:
            if not follow and await _at_end(consumer, partitions, ends):
                return
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    yield tp.partition, record.offset, record.value
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(20):  # metadata of a just-created topic can lag a moment
        numbers = consumer.partitions_for_topic(topic)
        if numbers:
            return [TopicPartition(topic, p) for p in sorted(numbers)]
        await consumer._client.force_metadata_update()  # aiokafka has no public refresh
        await asyncio.sleep(0.25)
    raise LookupError(f"topic {topic!r} does not exist (is the worker's topic prefix the same?)")


async def _seek(consumer: AIOKafkaConsumer, partitions: list[TopicPartition], since: datetime | None) -> None:
    if since is None:
        await consumer.seek_to_end(*partitions)
        return
    found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
    later = [tp for tp, at in found.items() if at is None]  # nothing that recent: start at the end
    for tp, at in found.items():
        if at is not None:
            consumer.seek(tp, at.offset)
    if later:
        await consumer.seek_to_end(*later)


async def _at_end(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], ends: dict[TopicPartition, int]
) -> bool:
    for tp in partitions:
        position: int = await consumer.position(tp)
        if position < ends[tp]:
            return False
    return True
