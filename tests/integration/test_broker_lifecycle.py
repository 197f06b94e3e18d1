"""The embedded broker: no JVM outlives the process that started it, clear errors on bad set-ups."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from monitor.broker import KafkaDistribution, LocalBroker, _pid_alive, check_java
from monitor.errors import JavaNotFound, KafkaResolveError, MavenNotFound, PortInUse

REPO = Path(__file__).resolve().parents[2]

INNER_TEST = textwrap.dedent(
    """
    import os, pathlib, time

    def test_uses_the_session_broker(kafka_broker):
        pathlib.Path(os.environ["BROKER_PID_FILE"]).write_text(str(kafka_broker.process.pid))
        if os.environ.get("HANG"):
            time.sleep(600)
        assert os.environ.get("FAIL") is None, "this inner test fails on purpose"
    """
)


def _inner_session(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    pid_file = tmp_path / "broker.pid"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.kafka_fixtures",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--basetemp",
            str(tmp_path / "tmp"),
            str(tmp_path / "test_inner.py"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO), "BROKER_PID_FILE": str(pid_file), **env},
    )
    return proc, pid_file


def _wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("env", [{}, {"FAIL": "1"}], ids=["passing-session", "failing-session"])
def test_no_broker_survives_a_test_session(tmp_path: Path, env: dict[str, str]) -> None:
    proc, pid_file = _inner_session(tmp_path, **env)
    output = proc.communicate(timeout=180)[0].decode()
    assert proc.returncode == (1 if env else 0), output
    broker_pid = int(pid_file.read_text())
    assert _wait_gone(broker_pid, 5), f"broker {broker_pid} outlived its session"


@pytest.mark.slow
def test_no_broker_survives_a_killed_session(tmp_path: Path) -> None:
    proc, pid_file = _inner_session(tmp_path, HANG="1")
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        time.sleep(0.2)
    broker_pid = int(pid_file.read_text())
    assert _pid_alive(broker_pid)

    proc.send_signal(signal.SIGKILL)  # no finalizers run: only the kernel's parent-death signal
    proc.wait(timeout=10)

    assert _wait_gone(broker_pid, 30), f"broker {broker_pid} outlived a killed session"


def test_port_in_use_is_named(tmp_path: Path, kafka_broker: LocalBroker) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is already in use"):
            LocalBroker(tmp_path / "k", port=port, controller_port=0).start()


def test_missing_java_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaNotFound, match="Java 17"):
        check_java()


def test_missing_maven_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MavenNotFound, match="apt-get install maven"):
        KafkaDistribution("4.1.1", cache=tmp_path / "cache").resolve()


@pytest.mark.slow
def test_unresolvable_version_is_explained(tmp_path: Path) -> None:
    with pytest.raises(KafkaResolveError, match=r"kafka_2.13:0\.0\.0-nonexistent"):
        KafkaDistribution("0.0.0-nonexistent", cache=tmp_path / "cache").resolve()
