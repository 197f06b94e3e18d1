"""Two Faust races that silence a partition after a rebalance, each fixed by a subclass.

Both lose messages the same way: the consumer's position has moved past
them, but nothing processed them, and nothing seeks back.

- ``FlowControl``: Faust cleared the stream buffers on every ``resume()``,
  including the second of one rebalance, after the seek.
- ``ConsumerThread``: Faust's consumer thread hands over records fetched while
  the flow is stopped, or of partitions paused meanwhile, and the app drops
  them. Recovery first seeks each changelog partition to the table's offset;
  records fetched after that seek and dropped are never read again, and the
  worker waits for them forever.

One setting Faust does not expose, in the same place:

- ``Producer``: idempotent (``enable_idempotence``, ``acks=all``). A retried
  send after a broker failover (a leader that wrote the batch but whose answer
  was lost) is written once, not twice; Faust turns idempotence on only inside
  exactly-once transactions.

``WirewatchApp`` (``streams.app``) uses them through ``Transport``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.utils.queues import FlowControlEvent

log = logging.getLogger(__name__)


class FlowControl(FlowControlEvent):
    """Faust's flow control, except that resuming an already flowing app keeps the stream buffers.

    Faust clears every agent's buffer on ``resume()`` (the buffers were filled
    before a rebalance and will be re-fetched after the seek to committed
    offsets). But its recovery calls ``resume()`` more than once per rebalance,
    and a worker whose fetcher kept running from the previous generation
    delivers fresh messages between the seek and the last call: that clear
    dropped them while their offsets counted as read, so the partition sat
    silent until the next rebalance (our two-worker dedup test caught it about
    once in ten runs). A revoke still clears (Faust calls ``clear()`` itself
    there), and so does the first resume after a suspend.
    """

    def resume(self) -> None:
        if self.is_active():
            return
        super().resume()


def first_offsets(records: Mapping[Any, Sequence[Any]]) -> dict[Any, int]:
    """Where each partition's position was before these records were fetched."""
    return {tp: batch[0].offset for tp, batch in records.items() if batch}


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread, except that records Faust would drop are put back.

    A fetch waits up to a second in this thread and reads Faust's set of active
    partitions while the event loop changes it (an emptied set even means "all
    partitions" to aiokafka). So a fetch begun before a rebalance can return
    records of a partition that the rebalance's recovery has just sought to the
    start of its changelog, or of a partition paused since. Faust's ``getmany``
    drops the whole batch when the flow is stopped, and skips partitions no
    longer active, while the position has moved past them; it seeks back only
    partitions with committed offsets, which a changelog (or a new group's
    topic) never has. We seek each such partition back to its first returned
    record instead, in this thread and before anything else runs in it, so the
    position is exactly as if the fetch had not happened. Seen as a worker
    stuck for good in recovery ("No event received for active tp ... since
    recovery start"), about once in twenty two-worker starts on a busy machine.
    """

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[Any],  # None in a client-only app, whatever Faust says
        timeout: float | None = None,  # noqa: ASYNC109 - Faust's signature
        max_records: int | None = None,
    ) -> Any:
        records = await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )
        if not records:
            return records
        keep, drop = deliverable(records, self.consumer.flow_active, active_partitions, self.consumer)
        if drop:
            put_back = first_offsets(drop)
            assigned = consumer.assignment()
            for tp, offset in put_back.items():
                if tp in assigned:  # a revoked partition is read again by its next owner
                    consumer.seek(tp, offset)
            log.debug("records Faust would drop: put back %s", put_back)
        return keep


def deliverable(
    records: Mapping[Any, Sequence[Any]], flowing: bool, active: set[Any] | None, faust_consumer: Any
) -> tuple[dict[Any, Sequence[Any]], dict[Any, Sequence[Any]]]:
    """Split fetched records into what Faust's ``getmany`` hands on and what it would drop.

    Everything is dropped while the flow is stopped; otherwise a partition
    must be active (``None`` means all, a client-only app) or buffered.
    Membership only: the event loop changes ``active`` meanwhile.
    """
    if not flowing:
        return {}, dict(records)
    buffered = faust_consumer._buffered_partitions
    keep: dict[Any, Sequence[Any]] = {}
    drop: dict[Any, Sequence[Any]] = {}
    for tp, batch in records.items():
        wanted = active is None or tp in active or tp in buffered
        (keep if wanted else drop)[tp] = batch
    return keep, drop


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with our ``ConsumerThread``."""

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Producer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, idempotent outside transactions too."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with our ``Consumer`` and ``Producer``."""

    Consumer = Consumer
    Producer = Producer
