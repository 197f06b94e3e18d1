"""``dedup.store_memory_mb`` bounds every RocksDB table the dedup worker opens, not five of its six."""

from __future__ import annotations

import pytest

from monitor.config import DedupConfig
from streams.agents.dedup import SEQUENCER_TABLES, store_options
from streams.agents.detect import STATE_TABLE


def most_memory(options: dict[str, int]) -> int:
    """What one table's RocksDB may hold: its full write buffers and its block cache."""
    return options["write_buffer_size"] * options["max_write_buffer_number"] + options["block_cache_size"]


@pytest.mark.parametrize("budget_mb", [40, 320, 1000])
def test_the_tables_together_stay_within_the_budget(budget_mb: int) -> None:
    options = store_options(DedupConfig(store_memory_mb=budget_mb))
    assert set(options) == {*SEQUENCER_TABLES, STATE_TABLE}
    shares = [most_memory(o) for o in options.values() if o is not None]
    assert len(shares) == len(options)
    assert sum(shares) <= budget_mb * 2**20
    assert sum(shares) >= 0.99 * budget_mb * 2**20  # and the budget is used, not left idle


def test_memory_tables_take_no_rocksdb_options() -> None:
    assert set(store_options(DedupConfig(store="memory")).values()) == {None}
