"""``/ready`` says why a worker is not ready: a stage preparing, its first recovery, or a rebalance."""

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


def test_not_ready_while_a_stage_prepares() -> None:
    preparing = {"embed": "loading the embedding model all-MiniLM-L6-v2"}
    assert readiness(app(recovered=True, rebalancing=False), preparing) == (
        False,
        "embed: loading the embedding model all-MiniLM-L6-v2",
    )
    assert readiness(app(recovered=True, rebalancing=False), {}) == (True, "processing")
