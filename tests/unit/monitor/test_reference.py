"""The committed reference pages are what the code generates: edit the code, then regenerate.

python -m monitor.reference docs/reference
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.reference import GENERATED, PAGES

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "reference"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_committed_page_is_the_generated_one(name: str) -> None:
    committed = (REFERENCE / name).read_text(encoding="utf-8")
    generated = PAGES[name]()
    assert committed.startswith(GENERATED)
    assert committed == generated, (
        f"docs/reference/{name} is stale: run python -m monitor.reference docs/reference"
    )


def test_the_pages_describe_the_code() -> None:
    """Spot checks that the generator reads the code, not a copy of it."""
    from monitor.config import PollingConfig
    from monitor.metrics import Metrics

    configuration = PAGES["configuration.md"]()
    description = PollingConfig.model_fields["parse_timeout"].description
    assert description is not None
    assert description in configuration
    assert "| `embed.precision` | `f32` \\| `bf16` \\| `int8` | `f32` |" in configuration
    metrics = PAGES["metrics.md"]()
    assert all(f"`{family.name}" in metrics for family in Metrics().registry.collect())
    assert "`wirewatch_consumer_lag` | gauge | `topic`, `partition` |" in metrics
    kinds = PAGES["detectors.md"]()
    assert all(f"## `{kind}`" in kinds for kind in ("keyword", "semantic", "sequence", "burst", "all"))
