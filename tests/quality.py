"""The quality figures the tests check, kept so that two runs can be compared figure by figure.

A test that bounds a figure computed from real vectors (an F1, a purity, a
similarity) passes it through ``figure(name, value)``. With
``WIREWATCH_QUALITY_FIGURES=path.json`` set, the session writes every figure
it saw there, with what computed the vectors (``streams.embedder.vectors_key``);
``python -m tests.quality_spread A.json B.json`` then shows how far each figure
moved between, say, this CPU's best instruction set and the one below it
(``make test-isa``). Bounds in the tests are set against that spread.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES: dict[str, float] = {}


def figure(name: str, value: float) -> float:
    """Record ``value`` under ``name`` (test module, then what it measures) and return it."""
    FIGURES[name] = float(value)
    return value


def write_figures() -> Path | None:
    """Write the session's figures where ``WIREWATCH_QUALITY_FIGURES`` says, if it says."""
    target = os.environ.get("WIREWATCH_QUALITY_FIGURES")
    if not target or not FIGURES:
        return None
    from monitor.config import EmbedConfig
    from monitor.machine import describe
    from streams.embedder import vectors_key
    from tests.embedding_cache import QUALITY_MODEL

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": describe(),
        "vectors": vectors_key(EmbedConfig(model=QUALITY_MODEL)),
        "figures": dict(sorted(FIGURES.items())),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path
