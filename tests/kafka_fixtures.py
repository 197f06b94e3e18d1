"""Pytest plugin: one real Kafka broker per test session, and factories on top of it.

* ``kafka_broker`` (session): a single-node KRaft Apache Kafka on free loopback
  ports, data in a temporary directory. Started attached, so the JVM dies with
  the pytest process even if pytest is killed; stopped at session end.
* ``wirewatch_config``: a factory of ``WirewatchConfig`` objects that each get
  their own topic prefix, Faust app id (so their own consumer group and
  changelog topics), data directory and web port.
* ``worker_factory``: runs ``wirewatch run`` in a subprocess (so a test can
  kill it) with short session and rebalance timeouts.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from monitor.broker import LocalBroker, die_with_parent, free_port
from monitor.config import WirewatchConfig
from tests.benchmarks.profile import py_spy

REPO_ROOT = Path(__file__).resolve().parent.parent

KAFKA_HEAP_MB = int(os.environ.get("WIREWATCH_TEST_KAFKA_HEAP_MB", "512"))
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    broker = LocalBroker(tmp_path_factory.mktemp("kafka"), port=0, controller_port=0, heap_mb=KAFKA_HEAP_MB)
    broker.start(attached=True, progress=lambda m: print(m, file=sys.stderr))
    try:
        yield broker
    finally:
        broker.stop()


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


ConfigFactory = Callable[..., WirewatchConfig]


@pytest.fixture
def wirewatch_config(kafka_broker: LocalBroker, tmp_path: Path) -> ConfigFactory:
    """``wirewatch_config(**sections)`` → a config isolated from every other test's."""

    def make(**overrides: Any) -> WirewatchConfig:
        tag = f"t{next(_counter)}-{uuid.uuid4().hex[:6]}"
        return isolated_config(tag, tmp_path, {"bootstrap": [kafka_broker.bootstrap]}, overrides)

    return make


def isolated_config(
    tag: str, tmp_path: Path, kafka: dict[str, Any], overrides: dict[str, Any]
) -> WirewatchConfig:
    """A config of its own (topic prefix, app id, data dir, web port from ``tag``) on the broker
    that ``kafka`` names, with short timeouts and small batches, then ``overrides``."""
    base: dict[str, Any] = {
        "kafka": {**kafka, "topic_prefix": f"{tag}.", "partitions": 2},
        "worker": {
            "app_id": f"ww-{tag}",
            "data_dir": str(tmp_path / tag / "worker"),
            "session_timeout": "10s",
            "rebalance_timeout": "10s",
        },
        "metrics": {"port": free_port()},
        "pipeline": {"embed": {"batch_size": 8, "batch_wait": "200ms"}},
    }
    return WirewatchConfig.model_validate(_deep_merge(base, overrides))


def sibling_worker(config: WirewatchConfig, name: str, **worker: Any) -> WirewatchConfig:
    """Another worker of the same deployment (same app id and topics): its own data dir and port."""
    return config.model_copy(
        update={
            "metrics": config.metrics.model_copy(update={"port": free_port()}),
            "worker": config.worker.model_copy(
                update={"data_dir": config.worker.data_dir.with_name(name), **worker}
            ),
        }
    )


def write_config(config: WirewatchConfig, path: Path) -> Path:
    """YAML a subprocess worker can load (durations and paths as text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _with_secrets(config.model_dump(mode="json"), config.model_dump())
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _with_secrets(as_json: Any, as_python: Any) -> Any:
    """JSON mode writes a ``SecretStr`` as stars; put the secrets back so the file means the config."""
    if isinstance(as_python, SecretStr):
        return as_python.get_secret_value()
    if isinstance(as_json, dict):
        return {k: _with_secrets(v, as_python[k]) for k, v in as_json.items()}
    if isinstance(as_json, list):
        return [_with_secrets(v, p) for v, p in zip(as_json, as_python, strict=True)]
    return as_json


class WorkerProcess:
    """A ``wirewatch run`` subprocess with its log file."""

    def __init__(self, config: WirewatchConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.log_path = workdir / "worker.log"
        self.config_path = write_config(config, workdir / "wirewatch.yaml")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 120.0) -> WorkerProcess:
        # the code under test is this checkout's, whatever the shared environment's
        # editable install points at
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "run", "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
                # a killed pytest leaves no worker behind (SIGKILL: its broker is gone too,
                # so a graceful stop could hang)
                preexec_fn=functools.partial(die_with_parent, signal.SIGKILL),
            )
        self.wait_for_log("Worker ready", ready_timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            time.sleep(0.2)
        raise AssertionError(f"worker did not log {text!r} within {timeout}s:\n{self.log()[-4000:]}")

    def dump_tasks(self, settle: float = 3.0) -> tuple[str, str]:
        """Mode's SIGUSR1 dump of every thread's and asyncio task's stack: (as logged, as to show).

        A hung worker's event loop sits idle in ``select``; only the tasks'
        stacks say what it waits for. A loop too blocked to run the handler
        logs no tasks; then py-spy's dump of its threads is shown as well.
        """
        if self.proc is None or self.proc.poll() is not None:
            return "", ""
        start = len(self.log())
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline, size = time.monotonic() + settle * 4, -1
        while time.monotonic() < deadline:  # until the dump stops growing
            time.sleep(settle / 3)
            now = len(self.log())
            if now == size and now > start:
                break
            size = now
        logged = self.log()[start:]
        return logged, logged if "TASKS" in logged else logged + _py_spy_dump(self.proc.pid)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def _py_spy_dump(pid: int) -> str:
    """Every thread's Python stack from outside the process (py-spy, a test dependency), or why not."""
    try:
        command = [py_spy(), "dump", "--pid", str(pid)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"\n(py-spy dump failed: {exc})\n"
    header = "(no SIGUSR1 dump: the event loop did not run its handler; py-spy dump)"
    return f"\n{header}\n{done.stdout}{done.stderr}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


_reports = pytest.StashKey[dict[str, pytest.TestReport]]()
WORKER_LOG_TAIL = 150  # lines of each worker's log shown when a test fails
WORKER_DUMP_LINES = 4000  # lines of a still-running worker's thread and task dump shown then


@pytest.fixture
def worker_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``worker_factory(config, ready_timeout=120)`` → a started worker; all are stopped at teardown.

    When the test failed, the tail of every worker's log is printed (pytest
    shows it under "Captured stdout teardown"), and for a worker still running,
    Mode's SIGUSR1 dump of its threads and asyncio tasks: a CI failure, a hang
    included, then explains itself.
    """
    workers: list[WorkerProcess] = []

    def make(config: WirewatchConfig, ready_timeout: float = 120.0) -> WorkerProcess:
        worker = WorkerProcess(config, tmp_path / f"worker{len(workers)}")
        workers.append(worker)
        return worker.start(ready_timeout)

    yield make
    call = request.node.stash.get(_reports, {}).get("call")
    failed = call is not None and call.failed
    dumps = [w.dump_tasks() if failed else ("", "") for w in workers]
    for worker in workers:
        worker.stop()
    if not failed:
        return
    for worker, (logged, dump) in zip(workers, dumps, strict=True):
        log = worker.log().replace(logged, "") if logged else worker.log()
        tail = log.splitlines()[-WORKER_LOG_TAIL:]
        print(f"----- {worker.log_path} (last {len(tail)} lines) -----")
        print("\n".join(tail))
        if dump:
            lines = dump.splitlines()[:WORKER_DUMP_LINES]
            print(f"----- its threads and asyncio tasks then (SIGUSR1, {len(lines)} lines) -----")
            print("\n".join(lines))
