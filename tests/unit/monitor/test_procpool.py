"""The process pool retires its processes off every call's path (``monitor.procpool``)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from monitor.errors import ParseCrashed, ParseTimeout
from monitor.procpool import TimedProcessPool

START_SECONDS = 1.0  # a successor's warm call: long enough that calls must go on without it


def slow_warm() -> None:
    time.sleep(START_SECONDS)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def exits(pid: int, what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not gone(pid):
        assert time.monotonic() < deadline, f"{what} {pid} did not exit"
        await asyncio.sleep(0.05)


def pool(retire_after: int, timeout: float = 30.0) -> TimedProcessPool:
    return TimedProcessPool(
        1, timeout, ParseTimeout, ParseCrashed, what="the test", retire_after=retire_after, warm=slow_warm
    )


async def test_calls_go_on_in_the_old_process_while_its_successor_starts() -> None:
    processes = pool(retire_after=3)
    try:
        first = [await processes.run(os.getpid) for _ in range(3)]  # the third starts a successor
        assert len(set(first)) == 1
        old = first[0]
        # the successor takes START_SECONDS to answer: calls meanwhile are not held for it
        during = [await processes.run(os.getpid) for _ in range(5)]
        assert during == [old] * 5
        deadline = time.monotonic() + 30
        while (pid := await processes.run(os.getpid)) == old:
            assert time.monotonic() < deadline, "the successor never took over"
            await asyncio.sleep(0.05)
        await exits(old, "the retired process")  # once it had no calls left
        assert await processes.run(os.getpid) == pid
    finally:
        processes.close()


async def test_an_overrun_while_a_successor_starts_kills_its_process_then_calls_go_to_the_successor() -> None:
    processes = pool(retire_after=2, timeout=0.5)
    try:
        old = await processes.run(os.getpid)
        assert await processes.run(os.getpid) == old  # the second call starts a successor
        with pytest.raises(ParseTimeout, match=r"the test took longer than 0\.5s"):
            await processes.run(time.sleep, 5)  # in the old process: the successor is still starting
        successor = await processes.run(os.getpid)  # waits for the successor, not for a new start
        assert successor != old
        await exits(old, "the overrunning process")
        assert await processes.run(os.getpid) == successor
    finally:
        processes.close()


async def test_close_while_a_successor_starts_leaves_no_process() -> None:
    processes = pool(retire_after=1)
    first = await processes.run(os.getpid)  # starts a successor at once
    await asyncio.sleep(0.3)
    spare = processes._spare
    assert spare is not None, "no successor was starting"
    spares = list(spare._processes)
    processes.close()
    for pid in [first, *spares]:
        await exits(pid, "after close(), process")
