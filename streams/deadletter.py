"""Sending what a stage cannot process to the dead-letter topic, instead of crashing."""

from __future__ import annotations

import logging
from typing import Any

from streams.records import DeadLetter

log = logging.getLogger(__name__)


async def dead_letter(sink: Any, stage: str, message: Any, error: BaseException, counter: Any) -> None:
    """Publish the original bytes with the error, and count it by stage in ``counter``.

    ``message`` is a Faust/aiokafka message; ``counter`` is
    ``wirewatch_deadletter_messages_total`` (``Metrics.deadletters``).
    """
    record = DeadLetter.of(
        stage=stage,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        error=error,
    )
    log.warning(
        "%s: dead-lettered %s[%d]@%d: %s",
        stage,
        message.topic,
        message.partition,
        message.offset,
        error,
    )
    counter.labels(stage).inc()
    delivered = await sink.send(key=message.key, value=record.encode())
    await delivered  # at-least-once: the original offset is acked only after this
