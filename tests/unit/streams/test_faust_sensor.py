"""Faust's sensor on our registry counts table operations per table and operation, children cached."""

from __future__ import annotations

from types import SimpleNamespace

from monitor.metrics import Metrics
from streams.app import FAUST_METRICS_PREFIX, add_faust_sensor


def test_table_operations_are_counted_per_table_and_operation() -> None:
    metrics = Metrics()
    app = SimpleNamespace(monitor=None)
    add_faust_sensor(app, metrics)
    window, stories = SimpleNamespace(name="window"), SimpleNamespace(name="stories")
    for _ in range(3):
        app.monitor.on_table_set(window, b"k", b"v")
    app.monitor.on_table_get(window, b"k")
    app.monitor.on_table_del(stories, b"k")

    def count(table: str, operation: str) -> float | None:
        return metrics.registry.get_sample_value(
            f"{FAUST_METRICS_PREFIX}_table_operations_total",
            {"table": f"table.{table}", "operation": operation},
        )

    assert count("window", "keys_updated") == 3
    assert count("window", "keys_retrieved") == 1
    assert count("stories", "keys_deleted") == 1
    assert count("stories", "keys_updated") is None
    assert app.monitor.tables["window"].keys_updated == 3  # Faust's own table state still kept
