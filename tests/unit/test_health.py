"""``/ready`` says why a worker is not ready: still recovering its first assignment, or rebalancing."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from streams.app import readiness


def app(recovered: bool, rebalancing: bool) -> SimpleNamespace:
    completed = asyncio.Event()
    if recovered:
        completed.set()
    return SimpleNamespace(
        tables=SimpleNamespace(recovery=SimpleNamespace(completed=completed)), rebalancing=rebalancing
    )


def test_not_ready_before_the_first_recovery() -> None:
    assert readiness(app(recovered=False, rebalancing=False)) == (
        False,
        "recovering state (first assignment not done)",
    )


def test_not_ready_while_rebalancing() -> None:
    assert readiness(app(recovered=True, rebalancing=True)) == (False, "rebalancing")


def test_ready_when_recovered_and_settled() -> None:
    assert readiness(app(recovered=True, rebalancing=False)) == (True, "processing")
