"""The control topic: detectors documents published by ``wirewatch detectors apply``, followed by workers.

One compacted topic, one key per kind of document (``detectors``): the latest
value is the document in force, a tombstone returns workers to the detectors
of their own ``wirewatch.yaml``. Workers follow it with a plain consumer
outside the consumer group — every worker reads every release — rather than
a Faust GlobalTable, whose recovery has known missed-update bugs.

At start-up a worker reads the topic to its end before the detect stage
handles its first article, so it never alerts with a document that was
already replaced; afterwards each release is validated again (a release from
another tool may be wrong) and compiled off the event loop, then swapped in
between two articles. A release that does not validate is logged and counted,
and the detectors in force stay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from monitor.config import DetectorsDocument, WirewatchConfig
from monitor.errors import ConfigError, RecordDecodeError
from monitor.loading import detectors_from_data
from streams.connection import aiokafka_options
from streams.records import DetectorsRelease
from streams.registry import read_compacted
from streams.topics import Topics

log = logging.getLogger(__name__)

DETECTORS_KEY = b"detectors"


async def publish_detectors(
    config: WirewatchConfig, document: DetectorsDocument, source: str
) -> DetectorsRelease:
    """Publish a validated document under the ``detectors`` key; returns the release as sent."""
    release = DetectorsRelease(
        version=document.content_version(),
        published_at=datetime.now(UTC),
        source=source,
        document=document.model_dump(mode="json", include={"version", "entities", "detectors"}),
    )
    producer = AIOKafkaProducer(**aiokafka_options(config.kafka), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            Topics(config.kafka.topic_prefix).control, release.encode(), key=DETECTORS_KEY
        )
    finally:
        await producer.stop()
    return release


async def current_release(config: WirewatchConfig) -> DetectorsRelease | None:
    """The release in force (None: workers use their own config's detectors)."""
    latest = await read_compacted(config, Topics(config.kafka.topic_prefix).control)
    value = latest.get(DETECTORS_KEY)
    return None if value is None else DetectorsRelease.decode(value)


def release_document(value: bytes | None) -> tuple[DetectorsDocument | None, str]:
    """The document of a control message (None for a tombstone); raises ``ConfigError``."""
    if value is None:
        return None, "tombstone"
    try:
        release = DetectorsRelease.decode(value)
    except RecordDecodeError as exc:
        raise ConfigError("control topic", [str(exc)]) from None
    document = detectors_from_data(release.document, f"release {release.version}")
    if document.content_version() != release.version:
        document = document.model_copy(update={"version": release.version})
    return document, release.version


OnRelease = Callable[[DetectorsDocument | None], Awaitable[None]]


class DetectorsFollower:
    """Reads the control topic from the beginning, forever; calls ``on_release`` for each new document."""

    def __init__(
        self, config: WirewatchConfig, on_release: OnRelease, on_rejected: Callable[[str], None]
    ) -> None:
        self.config = config
        self.on_release = on_release
        self.on_rejected = on_rejected
        self.caught_up = asyncio.Event()
        self.topic = Topics(config.kafka.topic_prefix).control

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker went away, say: read again from the start in a while
                log.exception("control: following %s failed; retrying in 5s", self.topic)
                await asyncio.sleep(5)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self.config.kafka), group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            tp = TopicPartition(self.topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            pending: bytes | bool | None = False  # the latest value seen while catching up (False: none)
            while await consumer.position(tp) < end:
                for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                    for record in records:
                        if record.key == DETECTORS_KEY:
                            pending = record.value
            if pending is not False:
                await self._apply(pending)  # type: ignore[arg-type]
            self.caught_up.set()
            while True:
                for records in (await consumer.getmany(tp, timeout_ms=1000)).values():
                    for record in records:
                        if record.key == DETECTORS_KEY:
                            await self._apply(record.value)
        finally:
            await consumer.stop()

    async def _apply(self, value: bytes | None) -> None:
        try:
            document, version = release_document(value)
        except ConfigError as exc:
            log.error("control: a detectors release was rejected, the detectors in force stay: %s", exc)
            self.on_rejected(str(exc))
            return
        try:
            await self.on_release(document)
        except Exception as exc:  # e.g. a semantic detector and no model: keep what works
            log.exception(
                "control: detectors release %s could not be built; the detectors in force stay", version
            )
            self.on_rejected(f"{type(exc).__name__}: {exc}")
