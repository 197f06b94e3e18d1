"""Benchmarks: measurements with printed and saved results, never pass/fail timings in unit tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    """The CPU (model, vector ISA, caps in force) and what the default embedder computes with."""
    from monitor.config import EmbedConfig
    from monitor.machine import describe
    from streams.embedder import vectors_key

    return {**describe(), "embedder": vectors_key(EmbedConfig())}


@pytest.fixture
def record_result(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``record_result(name, **numbers)``: print and save one benchmark's figures as JSON."""

    def record(name: str, **numbers: Any) -> None:
        RESULTS.mkdir(exist_ok=True)
        payload = {"benchmark": name, "machine": machine(), **numbers}
        (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))
        print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in numbers.items()))

    return record
