"""A real Prometheus server on a loopback port, for the tests: scrape workers, query the HTTP API.

The server comes from Debian's package (``monitor.prometheus``, which the
``wirewatch prometheus`` commands use); ``LocalPrometheus`` writes a config
for the given targets and rules, starts it, and answers queries.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from monitor.broker import die_with_parent, free_port
from monitor.errors import PrometheusError
from monitor.prometheus import PrometheusDistribution


class LocalPrometheus:
    """A Prometheus server on a free loopback port, scraping the given targets."""

    def __init__(
        self,
        data_dir: Path,
        targets: list[str],
        *,
        rule_files: list[Path] | None = None,
        scrape_interval: float = 1.0,
        job: str = "wirewatch",
        distribution: PrometheusDistribution | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.targets = targets
        self.rule_files = rule_files or []
        self.scrape_interval = scrape_interval
        self.job = job
        self.distribution = distribution or PrometheusDistribution()
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "prometheus.log"

    def config(self) -> dict[str, Any]:
        interval = f"{int(self.scrape_interval * 1000)}ms"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [{"job_name": self.job, "static_configs": [{"targets": self.targets}]}],
        }

    def start(self, timeout: float = 60.0) -> LocalPrometheus:
        self.distribution.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        self.port = free_port()
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(self.distribution.prometheus),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.console.templates={self.distribution.root}/usr/share/prometheus/consoles",
                    f"--web.console.libraries={self.distribution.root}/usr/share/prometheus/console_libraries",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PrometheusError(f"prometheus exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise PrometheusError(f"prometheus was not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> LocalPrometheus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>``; the ``data`` of a success, PrometheusError otherwise."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=30) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 400/422: a bad expression; the body says why
            body = json.loads(exc.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (or scalar, as a one-item list)."""
        data = self.api("query", query=expr)
        result = data["result"]
        return result if isinstance(result, list) else [{"value": result}]

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
