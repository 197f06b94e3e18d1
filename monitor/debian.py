"""Tools from Debian's packages, unpacked into the machine cache without root.

``wirewatch prometheus install|check`` needs Prometheus and promtool
(``monitor.prometheus``); the tests add docker-compose's own validation and
kcat (``tests/debian_tools.py``). ``apt-get download`` fetches the packages and
``dpkg -x`` unpacks them under ``$WIREWATCH_HOME/<name>/current``: no service is
started and no system file is touched.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from monitor.errors import ToolError

Progress = Callable[[str], None]


def unpack(packages: tuple[str, ...], root: Path, error: type[ToolError], progress: Progress) -> Path:
    """Download ``packages`` and unpack them all into ``root`` (once: later calls return at once)."""
    if (root / ".complete").exists():
        return root
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise error(f"`{tool}` is not on PATH: {', '.join(packages)} come from Debian's packages")
    progress(f"fetching Debian's {', '.join(packages)} (once per machine)…")
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        result = run(["apt-get", "download", *packages], cwd=tmp)
        if result.returncode != 0:  # the package lists may be missing on a fresh machine: refresh once
            run(["apt-get", "update", "-qq"], cwd=tmp)
            result = run(["apt-get", "download", *packages], cwd=tmp)
        debs = sorted(Path(tmp).glob("*.deb"))
        if result.returncode != 0 or len(debs) < len(packages):
            raise error(
                f"`apt-get download {' '.join(packages)}` failed (exit {result.returncode}); "
                f"are Debian's package mirrors reachable?\n{tail(result)}"
            )
        staging = Path(tmp) / "root"
        for deb in debs:
            unpacked = run(["dpkg", "-x", str(deb), str(staging)], cwd=tmp)
            if unpacked.returncode != 0:
                raise error(f"`dpkg -x {deb.name}` failed:\n{tail(unpacked)}")
        (staging / ".complete").write_text("\n".join(d.name for d in debs))
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    return root


def run(
    cmd: list[str],
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=timeout)


def tail(result: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    return "\n".join((result.stdout + result.stderr).strip().splitlines()[-lines:])
