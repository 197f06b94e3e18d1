"""Micro-batches from a Faust stream, acknowledged only after the caller has processed them.

A batch takes every event already waiting (up to ``size``), then waits up to
``within`` for more: under load, events pile up while the previous batch is
processed and batches fill with no wait at all; when traffic is light,
``within`` is the most an event waits for company.

Faust's ``Stream.take_events`` lost events across rebalances in our kill drill
(a batch in flight when the partition was revoked and re-sought never came
back), so batching stages use this instead: events are read with acks
disabled into a bounded queue, handed out in batches of up to ``size`` (or
whatever arrived within ``within`` seconds of the first), and acked when the
caller asks for the next batch. A crash before that leaves their offsets
uncommitted: at least once. Events of a partition revoked meanwhile may be
processed twice, never skipped. A caller that overlaps batches (the embed
stage encodes one while the last one's records are sent) passes ``Acks`` and
acks each batch itself once it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

from faust.streams import _current_event


class _PumpFailed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Acks:
    """Acknowledging batches by hand (``micro_batches(..., acks=...)``): a caller that works on the next
    batch before the last one is done acks each when it is done, in the order they came."""

    def __init__(self) -> None:
        self.stream: Any = None

    async def ack(self, batch: list[Any]) -> None:
        for event in batch:
            await self.stream.ack(event)


async def micro_batches(
    stream: Any, size: int, within: float, acks: Acks | None = None
) -> AsyncIterator[list[Any]]:
    """Batches of ``stream``'s events; each acked when the next is asked for, or by ``acks`` if given."""
    manual = stream.noack()
    if acks is not None:
        acks.stream = manual
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size * 2)  # back-pressure on the consumer

    async def pump() -> None:
        try:
            async for event in manual.events():
                await queue.put(event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # surface it in the agent, where Faust's supervisor sees it
            await queue.put(_PumpFailed(exc))

    def checked(item: Any) -> Any:
        if isinstance(item, _PumpFailed):
            raise item.error
        return item

    task = asyncio.ensure_future(pump())
    loop = asyncio.get_running_loop()
    try:
        while True:
            batch = [checked(await queue.get())]
            deadline = loop.time() + within
            while len(batch) < size:
                with contextlib.suppress(asyncio.QueueEmpty):  # what is already here, first
                    batch.append(checked(queue.get_nowait()))
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(checked(await asyncio.wait_for(queue.get(), remaining)))
                except TimeoutError:
                    break
            yield batch
            if acks is None:
                for event in batch:
                    await manual.ack(event)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@contextlib.contextmanager
def as_current_event(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's current event in this task while a batch writes its tables.

    Faust takes a table write's partition (changelog and RocksDB) from the
    current event, which its stream sets in the task that iterates it; here the
    pump task iterates, so the agent task names the batch's event itself. Any
    event of the batch will do: they share the source partition.
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@contextlib.asynccontextmanager
async def alongside(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``work`` as a task beside the caller for the ``async with`` block.

    If it fails, the caller is cancelled wherever it waits (a batch that never comes, a full
    queue) and the block raises the task's error, so an agent ends with it as it would have
    had the work run inline. Leaving the block cancels the task.
    """
    task = asyncio.ensure_future(work)
    caller = asyncio.current_task()

    def stop_caller(done: asyncio.Task[None]) -> None:
        if caller is not None and not done.cancelled() and done.exception() is not None:
            caller.cancel()

    task.add_done_callback(stop_caller)
    try:
        yield task
    except asyncio.CancelledError:
        error = task.exception() if task.done() and not task.cancelled() else None
        if error is not None:
            if caller is not None:
                caller.uncancel()  # the cancellation was ours, to deliver the error: not the caller's
            raise error from None
        raise
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
