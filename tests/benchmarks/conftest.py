"""Benchmarks: measurements with printed and saved results, never pass/fail timings in unit tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    """The CPU (model, vector ISA, caps in force, whether int8 multiplies in one instruction) and what
    the default embedder computes with."""
    from monitor.config import EmbedConfig
    from monitor.machine import describe, int8_dot_products
    from streams.embedder import vectors_key

    return {**describe(), "int8_dot_products": int8_dot_products(), "embedder": vectors_key(EmbedConfig())}


def recorded_at() -> str:
    """When a result was saved (UTC, to the minute): the int8 table names each figure's run."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


@pytest.fixture
def record_result(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``record_result(name, **numbers)``: print and save one benchmark's figures as JSON."""

    def record(name: str, **numbers: Any) -> None:
        RESULTS.mkdir(exist_ok=True)
        payload = {"benchmark": name, "recorded_at": recorded_at(), "machine": machine(), **numbers}
        (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))
        print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in numbers.items()))

    return record
