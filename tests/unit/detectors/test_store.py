"""Every store the pure logic runs on keeps ``detectors.store.Store``'s contract.

The same three operations on a dict (tests, backtests), a Faust table's view,
the batch-buffered view and the sequencer's packed meta entry: a set value
reads back, a deleted key reads as absent (also after a flush), deleting an
absent key is no error. ``pop`` once claimed to return the value and returned
the default; the operation is now ``delete`` and returns nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from detectors.store import MemoryStore, Store
from streams.agents.dedup import CachedMeta
from streams.tableviews import BufferedView, TableView


class FakeTable(dict[bytes, bytes]):
    """The part of a Faust table the views use (``name``, item access, ``pop``)."""

    name = "fake"


def flushed(store: Any) -> None:
    if hasattr(store, "flush"):
        store.flush()


def memory() -> Store[str, float]:
    return MemoryStore()


def table_view() -> Store[str, float]:
    return TableView(FakeTable(), str.encode, lambda v: json.dumps(v).encode(), json.loads)


def buffered_view() -> Store[str, float]:
    return BufferedView(TableView(FakeTable(), str.encode, lambda v: json.dumps(v).encode(), json.loads))


def cached_meta() -> Store[str, float]:
    return CachedMeta(FakeTable())


STORES = [memory, table_view, buffered_view, cached_meta]


@pytest.mark.parametrize("make", STORES, ids=lambda f: f.__name__)
def test_set_get_delete(make: Callable[[], Store[str, float]]) -> None:
    store = make()
    assert store.get("clock") is None
    store["clock"] = 12.5
    store["cursor"] = 3.0
    assert store.get("clock") == 12.5
    flushed(store)
    assert store.get("clock") == 12.5
    assert store.delete("clock") is None
    assert store.get("clock") is None
    flushed(store)
    assert store.get("clock") is None
    assert store.get("cursor") == 3.0
    store.delete("never-set")  # no error
    flushed(store)
    assert store.get("never-set") is None


def test_a_buffered_delete_reaches_the_table_at_the_flush() -> None:
    table = FakeTable()
    store = BufferedView(TableView(table, str.encode, lambda v: json.dumps(v).encode(), json.loads))
    store["a"] = 1.0
    store.flush()
    assert table == {b"a": b"1.0"}
    store.delete("a")
    assert table == {b"a": b"1.0"}  # held until the batch ends
    store.flush()
    assert table == {}
