"""A real Prometheus server and promtool from Debian's package, in the machine cache.

``wirewatch prometheus check`` runs promtool on the shipped (or your edited)
rules and their unit tests; the tests also need the server itself, to prove
that workers are scraped and that every rule and dashboard query evaluates. Debian's ``prometheus`` package is
fetched once with ``apt-get download`` and unpacked with ``dpkg -x`` into
``$WIREWATCH_HOME/prometheus/<version>``: no root, no service started, no
system file touched. The tests run the server itself (``tests/prometheus_server.py``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.debian import run as _run
from monitor.debian import unpack
from monitor.errors import PrometheusError
from monitor.home import wirewatch_home

PACKAGE = "prometheus"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PrometheusDistribution:
    """The unpacked package: ``bin/prometheus`` and ``bin/promtool``."""

    cache: Path | None = None

    @property
    def root(self) -> Path:
        return (self.cache or wirewatch_home() / "prometheus") / "current"

    @property
    def prometheus(self) -> Path:
        return self.root / "usr" / "bin" / "prometheus"

    @property
    def promtool(self) -> Path:
        return self.root / "usr" / "bin" / "promtool"

    @property
    def ready(self) -> bool:
        return (self.root / ".complete").exists()

    def resolve(self, progress: Progress = lambda _: None) -> Path:
        """Fetch and unpack the package once; later calls return at once."""
        if not self.ready:
            unpack((PACKAGE,), self.root, PrometheusError, progress)
            progress(f"{self.version()}: {self.root}")
        return self.root

    def version(self) -> str:
        result = _run([str(self.promtool), "--version"])
        return result.stdout.splitlines()[0] if result.stdout else "promtool (unknown version)"

    def promtool_run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``promtool ARGS`` (installing the package first if needed)."""
        self.resolve()
        return _run([str(self.promtool), *args], cwd=cwd)
