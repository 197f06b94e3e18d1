"""CPU work on untrusted bytes in worker processes, each call with a time limit.

A pathological body (a feed with entity tricks, a page with a million nested
tags) must never block the event loop, the consumer's heartbeats or the other
feeds. ``TimedProcessPool`` runs a function in worker processes (started with
``forkserver``: the worker process has threads, so plain ``fork`` is unsafe),
each with an address-space limit, and kills and replaces the processes when a
call overruns its time. Feed parsing (``monitor.parsing``) and page extraction
(``monitor.fulltext``) each own one.

Processes are retired after ``retire_after`` calls (against slow leaks in the
parsing libraries). Retiring is off every call's path: the successors start and
answer first, then calls move to them while the old processes finish the calls
they have and exit. (``max_tasks_per_child`` did it on the path: the call after
the 500th waited for the old process to exit and a new one to start, ~0.35–0.65 s,
a p99 latency of its own at 20 pages/s.) The forkserver imports and warms the
parsing and extraction code once (``monitor.prewarm``), so every process starts
warm.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

CHILD_MEMORY_LIMIT = 1536 * 1024 * 1024
RETIRE_AFTER = 500  # calls served by one set of processes before successors take over
START_TIMEOUT = 60.0  # the first start includes the forkserver's imports

# Our processes are forks of one forkserver, which imports these first (and keeps ``__main__``,
# its default): each process then starts with the extraction and parsing code warm
FORKSERVER_PRELOAD = ["__main__", "monitor.prewarm"]
_CONTEXT = multiprocessing.get_context("forkserver")


def _limit_child_memory() -> None:  # pragma: no cover - runs in the worker process
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT))
    # a terminal's Ctrl-C reaches the whole process group: the worker shuts its pools down
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _kill(executor: ProcessPoolExecutor) -> None:
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    executor.shutdown(wait=False, cancel_futures=True)


class TimedProcessPool:
    """Calls in worker processes with a per-call time limit.

    ``on_timeout`` and ``on_crash`` are the exception types raised (with a
    sentence) when a call overruns or its process dies; nothing else escapes
    except our own cancellation.
    """

    def __init__(
        self,
        workers: int,
        timeout: float,
        on_timeout: type[Exception],
        on_crash: type[Exception],
        what: str = "the call",
        retire_after: int = RETIRE_AFTER,
        warm: Callable[[], object] = os.getpid,
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.retire_after = retire_after
        self._warm = warm  # run once in each new process before it is given a call
        self._on_timeout = on_timeout
        self._on_crash = on_crash
        self._what = what
        self._executor: ProcessPoolExecutor | None = None
        self._calls = 0  # calls given to ``_executor``
        self._starting: asyncio.Task[None] | None = None  # at most one start (first or successor)
        self._spare: ProcessPoolExecutor | None = None  # being started
        # at most one call per process is submitted: the time limit then counts the work
        # only (not waiting in the pool's queue), and a reset cancels no queued work
        self._slots = asyncio.Semaphore(workers)

    async def _ready(self) -> ProcessPoolExecutor:
        """The current processes (started, and answering, before any call is given to them)."""
        while self._executor is None:
            if self._starting is None:
                self._starting = asyncio.create_task(self._start())
            try:
                await asyncio.shield(self._starting)
            except Exception as exc:  # not our cancellation: CancelledError is a BaseException
                raise self._on_crash(f"starting the process for {self._what} failed: {exc}") from None
        self._calls += 1
        if self._calls >= self.retire_after and self._starting is None:
            self._starting = asyncio.create_task(self._start())
            self._starting.add_done_callback(_log_failed_start)
        return self._executor

    async def _start(self) -> None:
        """Start processes; once each has answered, give them the calls and retire the old ones."""
        executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=_CONTEXT, initializer=_limit_child_memory
        )
        self._spare = executor
        try:
            _CONTEXT.set_forkserver_preload(FORKSERVER_PRELOAD)  # before the forkserver starts
            # a process start waits for the forkserver (the first time, for its imports): in a thread,
            # not on the event loop; submitted together, each call starts a process of its own
            started = await asyncio.to_thread(
                lambda: [executor.submit(self._warm) for _ in range(self.workers)]
            )
            await asyncio.wait_for(asyncio.gather(*map(asyncio.wrap_future, started)), START_TIMEOUT)
        except BaseException:
            _kill(executor)
            raise
        finally:
            self._spare = None
            self._starting = None
        old, self._executor, self._calls = self._executor, executor, 0
        if old is not None:
            old.shutdown(wait=False)  # the calls it has finish; then its processes exit

    def _reset(self, executor: ProcessPoolExecutor) -> None:
        """Kill ``executor``'s processes (a call overran, or one died); the next call starts afresh."""
        if self._executor is executor:
            self._executor = None
        _kill(executor)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process (``fn`` and the arguments must pickle)."""
        async with self._slots:
            return await self._run(fn, *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            executor = await self._ready()
            future = loop.run_in_executor(executor, fn, *args)
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                self._reset(executor)
                raise self._on_timeout(f"{self._what} took longer than {self.timeout:g}s") from None
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we are being cancelled (the feed moved away): not the work's fault
                # the pool was reset under this call (another one overran): try once more
                if attempt == 2:
                    raise self._on_crash(f"the pool was reset twice during {self._what}") from None
            except BrokenProcessPool:
                # another call on the same pool overran or the process died: try once more
                self._reset(executor)
                if attempt == 2:
                    raise self._on_crash(f"the worker process died during {self._what}") from None
            except Exception as exc:  # MemoryError under the child's limit, RecursionError, pickling…
                raise self._on_crash(f"{self._what} failed: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
            self._starting = None
        for executor in (self._spare, self._executor):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        self._spare = self._executor = None


def _log_failed_start(task: asyncio.Task[None]) -> None:
    """A successor that failed to start: the current processes go on, and the next call tries again."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("starting successor processes failed: %s", task.exception())
