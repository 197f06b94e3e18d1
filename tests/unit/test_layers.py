"""The layers of the code, held by its imports: detectors ← library ← streams ← CLI and demo.

=========== ============================================================== =====================
layer       modules                                                        may import
=========== ============================================================== =====================
detectors   ``detectors.*``: detector kinds, pure logic                     detectors
library     ``monitor.*`` but the CLI and the demo; ``streams.records``     detectors, library
streams     ``streams.*``: the Faust app, its agents and services           all but the top
top         ``monitor.cli.*``, ``monitor.demo``, ``monitor.reference``      everything
=========== ============================================================== =====================

``streams.records`` is the one ``streams`` module in the library: the records
the pollers build and the agents pass on live in one place (as the brief puts
them in ``streams``), and it imports only ``detectors`` and ``monitor.errors``,
so the library can build records without reaching the Faust side. Imports
under ``TYPE_CHECKING`` count too: a layer's types are part of what it knows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OURS = ("monitor", "streams", "detectors")
LIBRARY_FROM_STREAMS = {"streams.records"}
TOP = ("monitor.cli", "monitor.demo", "monitor.reference")  # the reference reads every layer
ORDER = ("detectors", "library", "streams", "top")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    if module.startswith("detectors"):
        return "detectors"
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return "top"
    if module.startswith("monitor") or module in LIBRARY_FROM_STREAMS:
        return "library"
    return "streams"


def imports(path: Path) -> set[str]:
    """Every module of ours that ``path`` imports, at any depth (functions, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in OURS}


MODULES = {module_name(p): p for package in OURS for p in sorted((REPO / package).rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    own = ORDER.index(layer(module))
    upward = sorted(name for name in imports(MODULES[module]) if ORDER.index(layer(name)) > own)
    assert not upward, f"{module} ({layer(module)}) imports from above: {upward}"


def test_the_layers_are_not_empty() -> None:
    """A renamed package must not make the test above vacuous."""
    by_layer = {name: [m for m in MODULES if layer(m) == name] for name in ORDER}
    assert all(by_layer.values()), {k: len(v) for k, v in by_layer.items()}
    assert "streams.records" in by_layer["library"]
    assert "monitor.cli.root" in by_layer["top"]
