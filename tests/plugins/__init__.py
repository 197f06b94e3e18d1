"""Detector kinds installed the way third-party plugins are (the ``wirewatch.detectors`` entry point)."""

from __future__ import annotations

from pathlib import Path

from detectors.registry import PLUGIN_GROUP


def install_plugin(site: Path, kinds: dict[str, str], name: str = "wirewatch-test-plugin") -> Path:
    """Make ``site`` a directory whose packages offer ``kinds`` (kind → "module:Spec").

    Put it on ``PYTHONPATH`` (with the repository root, for the modules) and a
    new interpreter finds the entry points as it would an installed wheel's.
    """
    dist = site / f"{name.replace('-', '_')}-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n")
    lines = [f"[{PLUGIN_GROUP}]", *(f"{kind} = {target}" for kind, target in kinds.items())]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site
