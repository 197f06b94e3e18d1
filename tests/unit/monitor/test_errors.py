"""Every exception our packages define sits in ``monitor.errors`` and in the tree its docstring draws."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import monitor.errors

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ("monitor", "streams", "detectors")
BUILTIN_ERRORS = {
    n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
}
# detectors import nothing from monitor: their one error is a ValueError, which validation reports
OUTSIDE_ON_PURPOSE = {"QuerySyntaxError"}


def exception_classes() -> dict[str, str]:
    """Exception class name → the file defining it, over our packages (by their bases, transitively)."""
    classes: dict[str, tuple[str, list[str]]] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases]
                    classes[node.name] = (str(path.relative_to(REPO)), bases)
    found: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name, (where, bases) in classes.items():
            if name not in found and any(b in BUILTIN_ERRORS or b in found for b in bases):
                found[name] = where
                changed = True
    return found


def test_every_exception_is_in_the_errors_module_and_its_tree() -> None:
    tree = monitor.errors.__doc__ or ""
    found = exception_classes()
    assert "WirewatchError" in found
    stray = {n: w for n, w in found.items() if w != "monitor/errors.py" and n not in OUTSIDE_ON_PURPOSE}
    assert not stray, f"define these in monitor/errors.py: {stray}"
    undrawn = [n for n, w in found.items() if w == "monitor/errors.py" and n not in tree]
    assert not undrawn, f"draw these in monitor.errors' tree: {undrawn}"
    for name in OUTSIDE_ON_PURPOSE:
        assert name in tree, f"say in monitor.errors why {name} is outside the tree"
