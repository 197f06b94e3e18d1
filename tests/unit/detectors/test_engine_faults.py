"""A detector that raises: the article and the other detectors go on; after ``error_limit`` errors it
is disabled, on every worker alike (the count is in the detectors' state) until its definition changes."""

from __future__ import annotations

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.keyword import KeywordSpec
from detectors.store import MemoryStore
from tests.plugins.faulty_kind import FaultySpec

EXCHANGE = KeywordSpec(id="exchange", kind="keyword", query='"prisoner exchange"')


def engine(faulty: FaultySpec) -> Engine:
    return Engine([faulty, EXCHANGE], version="v")


def article(n: int, title: str) -> ArticleContext:
    return ArticleContext(id=f"a{n}", title=title, at=1_000.0 + n)


def test_a_raising_detector_is_disabled_after_its_error_limit_and_the_others_keep_firing() -> None:
    store = MemoryStore()
    faulty = FaultySpec(id="faulty", kind="faulty", fails_on="boom", error_limit=2)
    e = engine(faulty)

    first = e.evaluate(article(1, "boom: prisoner exchange agreed"), store)
    assert [f.spec.id for f in first.firings] == ["exchange"]
    assert [d for d, _ in first.errors] == ["faulty"]
    assert not first.disabled

    quiet = e.evaluate(article(2, "Markets calm"), store)
    assert quiet.evaluated == ["faulty"], "exchange: ruled out by its gate"
    assert not quiet.errors

    second = e.evaluate(article(3, "boom again"), store)
    assert second.newly_disabled == ["faulty"]
    assert second.disabled == {"faulty": "RuntimeError: faulty detector met 'boom again'"}

    later = e.evaluate(article(4, "boom: another prisoner exchange"), store)
    assert "faulty" not in later.evaluated
    assert not later.errors
    assert not later.newly_disabled
    assert later.disabled == second.disabled
    assert [f.spec.id for f in later.firings] == ["exchange"]
    assert e.faults(store) == {"faulty": (2, "RuntimeError: faulty detector met 'boom again'")}


def test_the_decision_is_in_the_store_so_a_restarted_worker_agrees() -> None:
    store = MemoryStore()
    faulty = FaultySpec(id="faulty", kind="faulty", error_limit=1)
    engine(faulty).evaluate(article(1, "anything"), store)

    restarted = engine(faulty).evaluate(article(2, "anything else"), store)
    assert "faulty" not in restarted.evaluated
    assert set(restarted.disabled) == {"faulty"}


def test_a_changed_definition_runs_again_and_counts_from_zero() -> None:
    store = MemoryStore()
    engine(FaultySpec(id="faulty", kind="faulty", error_limit=1)).evaluate(article(1, "boom"), store)

    fixed = engine(FaultySpec(id="faulty", kind="faulty", fails_on="never-in-a-title", error_limit=1))
    outcome = fixed.evaluate(article(2, "boom"), store)
    assert outcome.evaluated == ["faulty"]
    assert not outcome.disabled
    assert not outcome.errors

    retried = engine(FaultySpec(id="faulty", kind="faulty", fails_on="boom", error_limit=2))
    assert not retried.evaluate(article(3, "boom"), store).disabled, "one error of two allowed"
    assert set(retried.evaluate(article(4, "boom"), store).disabled) == {"faulty"}


def test_switching_a_detector_off_and_on_keeps_its_fault_count() -> None:
    """``enabled`` is not part of the definition: turning it off and on again is not a fix."""
    store = MemoryStore()
    faulty = FaultySpec(id="faulty", kind="faulty", error_limit=1)
    engine(faulty).evaluate(article(1, "boom"), store)
    switched_off = engine(faulty.model_copy(update={"enabled": False}))
    assert switched_off.evaluate(article(2, "x"), store).disabled == {}
    again = engine(faulty).evaluate(article(3, "x"), store)
    assert set(again.disabled) == {"faulty"}
