"""CPU work on untrusted bytes in worker processes, each call with a time limit.

A pathological body (a feed with entity tricks, a page with a million nested
tags) must never block the event loop, the consumer's heartbeats or the other
feeds. ``TimedProcessPool`` runs a function in worker processes (started with
``forkserver``: the worker process has threads, so plain ``fork`` is unsafe),
each with an address-space limit, and kills and replaces the pool when a call
overruns its time. Feed parsing (``monitor.parsing``) and page extraction
(``monitor.fulltext``) each own one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
CHILD_MEMORY_LIMIT = 1536 * 1024 * 1024


def _limit_child_memory() -> None:  # pragma: no cover - runs in the worker process
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT))
    # a terminal's Ctrl-C reaches the whole process group: the worker shuts its pools down
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self._on_timeout = on_timeout
        self._on_crash = on_crash
        self._what = what
        self._executor: ProcessPoolExecutor | None = None
        # at most one call per process is submitted: the time limit then counts the work
        # only (not waiting in the pool's queue), and a reset cancels no queued work
        self._slots = asyncio.Semaphore(workers)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_limit_child_memory,
                max_tasks_per_child=500,
            )
        return self._executor

    def _reset(self) -> None:
        """Kill the worker processes (a call overran) and start afresh on next use."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process (``fn`` and the arguments must pickle)."""
        async with self._slots:
            return await self._run(fn, *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            executor = self._pool()
            future = loop.run_in_executor(executor, fn, *args)
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                if self._executor is executor:
                    self._reset()
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
                if self._executor is executor:
                    self._reset()
                if attempt == 2:
                    raise self._on_crash(f"the worker process died during {self._what}") from None
            except Exception as exc:  # MemoryError under the child's limit, RecursionError, pickling…
                raise self._on_crash(f"{self._what} failed: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
