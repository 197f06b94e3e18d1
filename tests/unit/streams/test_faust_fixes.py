"""The rules of ``streams.faust_fixes``; the real-broker checks are in ``tests/integration``.

Stream buffers across a rebalance: stale messages are dropped, fresh ones are kept.

Faust's recovery resumes flow more than once per rebalance; a message fetched
after the seek to committed offsets and before the last resume used to be
cleared from its buffer while counted as read, and the partition went silent
(``streams.faust_fixes.FlowControl``). The real-broker check is the two-worker test in
``tests/integration/test_dedup.py``; this pins the rule itself.
"""

from __future__ import annotations

from types import SimpleNamespace

from mode.utils.queues import FlowControlQueue

from monitor.config import WirewatchConfig
from streams.app import create_app
from streams.faust_fixes import FlowControl, deliverable, first_offsets


def buffer(flow: FlowControl) -> FlowControlQueue[str]:
    return FlowControlQueue(maxsize=10, flow_control=flow, clear_on_resume=True)


async def test_resuming_a_flowing_app_keeps_what_its_streams_have_buffered() -> None:
    flow = FlowControl()
    queue = buffer(flow)
    flow.resume()  # recovery's first resume
    queue.put_nowait("fetched after the seek")
    flow.resume()  # recovery's second resume
    assert queue.qsize() == 1
    assert queue.get_nowait() == "fetched after the seek"


async def test_the_first_resume_after_a_suspend_still_drops_stale_messages() -> None:
    flow = FlowControl()
    queue = buffer(flow)
    flow.resume()
    queue.put_nowait("fetched before the rebalance")
    flow.suspend()  # partitions revoked
    assert not flow.is_active()
    flow.resume()  # they will be fetched again from the committed offset
    assert flow.is_active()
    assert queue.qsize() == 0


def test_the_app_uses_it() -> None:
    assert isinstance(create_app(WirewatchConfig()).flow_control, FlowControl)


def batch(*offsets: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(offset=o) for o in offsets]


def test_what_faust_would_drop_is_split_off_to_be_put_back() -> None:
    records = {"changelog-1": batch(0, 1, 2, 3), "raw-0": batch(7, 8), "raw-1": batch(4)}
    faust = SimpleNamespace(_buffered_partitions={"raw-1"})
    # flow stopped: everything
    assert deliverable(records, False, {"changelog-1", "raw-0"}, faust) == ({}, records)
    # flowing: partitions neither active nor buffered (paused while the fetch waited)
    keep, drop = deliverable(records, True, {"raw-0"}, faust)
    assert set(keep) == {"raw-0", "raw-1"}
    assert set(drop) == {"changelog-1"}
    assert first_offsets(drop) == {"changelog-1": 0}
    # a client-only app has no active set: nothing is filtered
    assert deliverable(records, True, None, faust) == (records, {})
