"""``/ready`` says why a worker is not ready: a stage preparing, its first recovery, or a rebalance.

And how far a restore has to go, also as ``wirewatch_recovery_remaining_records``.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from streams.app import RecoveryProgress, readiness, recovery_remaining


def app(recovered: bool, rebalancing: bool, remaining: int | None = None) -> SimpleNamespace:
    """A stand-in for the Faust app; ``remaining`` set means a recovery is reading changelogs."""
    completed = asyncio.Event()
    if recovered:
        completed.set()
    recovery = SimpleNamespace(
        completed=completed,
        in_recovery=remaining is not None,
        active_remaining_total=lambda: remaining,
    )
    return SimpleNamespace(tables=SimpleNamespace(recovery=recovery), rebalancing=rebalancing)


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


def test_a_restore_says_how_many_changelog_records_are_left() -> None:
    assert readiness(app(recovered=False, rebalancing=True, remaining=1_550_000)) == (
        False,
        "recovering state (first assignment not done): 1,550,000 changelog records to read",
    )
    assert readiness(app(recovered=True, rebalancing=True, remaining=42)) == (
        False,
        "rebalancing: 42 changelog records to read",
    )
    assert recovery_remaining(app(recovered=True, rebalancing=True, remaining=42)) == 42
    # Faust keeps the last recovery's figures; outside a recovery nothing is left to read
    assert recovery_remaining(app(recovered=True, rebalancing=False)) == 0
    assert readiness(app(recovered=True, rebalancing=True, remaining=0)) == (False, "rebalancing")


def test_the_gauge_reads_the_recovery_at_scrape_time() -> None:
    worker = app(recovered=False, rebalancing=True, remaining=7)
    (family,) = RecoveryProgress(worker).collect()
    assert family.name == "wirewatch_recovery_remaining_records"
    assert [sample.value for sample in family.samples] == [7]
    worker.tables.recovery.in_recovery = False
    (family,) = RecoveryProgress(worker).collect()
    assert [sample.value for sample in family.samples] == [0]
