"""``streams.batching.micro_batches``: what is waiting goes in the batch at once; ``within`` only
lingers for more; events are acknowledged when the next batch is asked for, never before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from streams.batching import Acks, alongside, micro_batches


class FakeStream:
    """What ``micro_batches`` uses of a Faust stream: ``noack().events()`` and ``ack``."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.acked: list[int] = []

    def noack(self) -> FakeStream:
        return self

    async def events(self) -> AsyncIterator[int]:
        while True:
            yield await self.queue.get()

    async def ack(self, event: int) -> None:
        self.acked.append(event)


async def test_everything_waiting_is_one_batch_even_without_lingering() -> None:
    stream = FakeStream()
    for i in range(5):
        stream.queue.put_nowait(i)
    batches = micro_batches(stream, size=8, within=0.0)
    await asyncio.sleep(0.01)  # the pump has moved them to the batcher
    assert await anext(batches) == [0, 1, 2, 3, 4]
    await batches.aclose()


async def test_a_batch_stops_at_its_size_and_the_rest_comes_next() -> None:
    stream = FakeStream()
    for i in range(5):
        stream.queue.put_nowait(i)
    batches = micro_batches(stream, size=3, within=0.0)
    await asyncio.sleep(0.01)
    assert await anext(batches) == [0, 1, 2]
    assert stream.acked == []
    assert await anext(batches) == [3, 4]
    assert stream.acked == [0, 1, 2], "acked when the next batch was asked for"
    await batches.aclose()


async def test_within_lingers_for_events_that_come_soon_after() -> None:
    stream = FakeStream()

    async def trickle() -> None:
        for i in range(3):
            stream.queue.put_nowait(i)
            await asyncio.sleep(0.05)

    feeder = asyncio.create_task(trickle())
    batches = micro_batches(stream, size=8, within=0.5)
    assert await anext(batches) == [0, 1, 2]
    await feeder
    await batches.aclose()

    stream = FakeStream()
    feeder = asyncio.create_task(trickle())
    batches = micro_batches(stream, size=8, within=0.0)
    first = await anext(batches)
    assert first == [0], "no lingering: the first event goes alone"
    await feeder
    await batches.aclose()


async def test_with_acks_given_nothing_is_acked_until_the_caller_acks_it() -> None:
    """The embed stage asks for the next batch while the last one is still being sent: asking must
    not ack it; the caller acks each batch when its records are on Kafka."""
    stream = FakeStream()
    for i in range(4):
        stream.queue.put_nowait(i)
    acks = Acks()
    batches = micro_batches(stream, size=2, within=0.0, acks=acks)
    await asyncio.sleep(0.01)
    first = await anext(batches)
    second = await anext(batches)
    assert (first, second) == ([0, 1], [2, 3])
    assert stream.acked == [], "asking for the next batch acked the last one"
    await acks.ack(first)
    assert stream.acked == [0, 1]
    await acks.ack(second)
    assert stream.acked == [0, 1, 2, 3]
    await batches.aclose()


async def test_work_alongside_that_fails_ends_the_caller_with_its_error() -> None:
    """The embed stage's sender fails (a send refused, an encode raised) while the agent waits for
    the next batch: the agent must end with that error, not wait forever."""

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("send refused")

    waiting: asyncio.Queue[int] = asyncio.Queue()
    with pytest.raises(RuntimeError, match="send refused"):
        async with alongside(failing()):
            await waiting.get()  # a batch that never comes
    assert not asyncio.current_task().cancelling()  # type: ignore[union-attr]


async def test_leaving_the_block_stops_the_work_and_an_outside_cancel_stays_a_cancel() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async def caller() -> asyncio.Task[None]:
        async with alongside(forever()) as work:
            await started.wait()
            await asyncio.Event().wait()
        return work

    task = asyncio.ensure_future(caller())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async with alongside(forever()) as work:
        await started.wait()
    assert work.cancelled()
