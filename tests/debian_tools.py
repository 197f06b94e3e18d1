"""Tools from Debian's packages that only the tests use: docker-compose's validation and kcat.

``monitor.debian`` unpacks them into the machine cache without root, as it
does Prometheus for ``wirewatch prometheus``; no user command needs these.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from monitor.debian import Progress, run, unpack
from monitor.errors import ToolError
from monitor.home import wirewatch_home


class ComposeError(ToolError):
    """docker-compose (Debian's package) could not be installed or run."""


# docker-compose 1.29 (Python) and the modules it imports; Debian's python3 runs it
COMPOSE_PACKAGES = (
    "docker-compose",
    "python3-docker",
    "python3-dockerpty",
    "python3-docopt",
    "python3-dotenv",
    "python3-texttable",
    "python3-websocket",
    "python3-distro",
    "python3-jsonschema",
    "python3-attr",
    "python3-pyrsistent",
    "python3-requests",
    "python3-urllib3",
    "python3-idna",
    "python3-certifi",
    "python3-charset-normalizer",
    "python3-chardet",
    "python3-yaml",
    "python3-packaging",
    "python3-six",
)


@dataclass(frozen=True)
class DockerCompose:
    """``docker-compose config``: the file as Compose reads it, validated, without a Docker daemon."""

    cache: Path | None = None

    @property
    def root(self) -> Path:
        return (self.cache or wirewatch_home() / "docker-compose") / "current"

    def resolve(self, progress: Progress = lambda _: None) -> Path:
        return unpack(COMPOSE_PACKAGES, self.root, ComposeError, progress)

    def config(self, file: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``docker-compose -f FILE config`` (exit 0 and the resolved file, or the errors)."""
        self.resolve()
        python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        environment = {
            **(env if env is not None else os.environ),
            "PYTHONPATH": str(self.root / "usr" / "lib" / "python3" / "dist-packages"),
        }
        script = self.root / "usr" / "bin" / "docker-compose"
        return run([python, str(script), "-f", str(file), "config"], cwd=file.parent, env=environment)


class KcatError(ToolError):
    """kcat (Debian's package) could not be installed or run."""


# kcat and the libraries a stock machine of ours lacks (libssl, libsasl2, zstd, lz4, zlib are there)
KCAT_PACKAGES = ("kcat", "librdkafka1", "libyajl2")


@dataclass(frozen=True)
class Kcat:
    """The ``kcat`` command docs/operations.md gives subscribers, run as they would run it."""

    cache: Path | None = None

    @property
    def root(self) -> Path:
        return (self.cache or wirewatch_home() / "kcat") / "current"

    def resolve(self, progress: Progress = lambda _: None) -> Path:
        return unpack(KCAT_PACKAGES, self.root, KcatError, progress)

    def run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``kcat ARGS`` with the unpacked librdkafka on the library path."""
        self.resolve()
        libraries = os.pathsep.join(str(p) for p in sorted((self.root / "usr" / "lib").glob("*-linux-gnu")))
        env = {**os.environ, "LD_LIBRARY_PATH": libraries}
        command = [str(self.root / "usr" / "bin" / "kcat"), *args]
        return run(command, env=env, timeout=timeout)
