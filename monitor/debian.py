"""Tools from Debian's packages, unpacked into the machine cache without root.

The tests prove our deploy files with the real tools: Prometheus and promtool
(``monitor.prometheus``) and docker-compose's own validation (``DockerCompose``;
Docker itself does not run here). ``apt-get download`` fetches the packages and
``dpkg -x`` unpacks them under ``$WIREWATCH_HOME/<name>/current``: no service is
started and no system file is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.broker import wirewatch_home
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
    """The ``kcat`` command the README gives subscribers, run as they would run it."""

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
