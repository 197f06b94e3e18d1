"""The README's run command, as a newcomer runs it: ``wirewatch demo``, then Ctrl-C.

Its own embedded broker (not the session's), the bundled demo news (played
twice as fast), the shipped detectors: the expected alerts are printed
as they fire, Ctrl-C stops the worker and then the broker, the summary is
printed, the exit code is 0, and no process is left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.broker import die_with_parent
from monitor.demo import DemoNews

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        return "zombie" not in (Path("/proc") / str(pid) / "status").read_text().lower()
    except OSError:
        return False


def test_the_demo_shows_the_expected_alerts_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    expected = DemoNews.load().expect
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "demo", "--speed", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,  # the demo's state goes to ./.wirewatch/demo
            env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"},
            start_new_session=True,  # a process group of its own, as a terminal's foreground job
            preexec_fn=die_with_parent,
        )
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and len(alert_ids(log_path)) < len(expected):
            assert proc.poll() is None, log_path.read_text()
            time.sleep(1)
        time.sleep(5)  # an extra alert would show now
        text = log_path.read_text()
        assert len(alert_ids(log_path)) == len(expected), text
        for item in expected:
            assert item.detector in text
        broker = json.loads((tmp_path / ".wirewatch" / "demo" / "kafka" / "broker.json").read_text())["pid"]
        assert alive(broker)

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        assert proc.wait(timeout=90) == 0, log_path.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = log_path.read_text()
    summary = re.search(r"demo summary: (\d+) articles, (\d+) duplicates .*, (\d+) alerts", text)
    assert summary is not None, text[-3000:]
    news = DemoNews.load()
    last = max(i.at for i in news.items if i.id in {e.item for e in expected})
    assert int(summary.group(1)) >= sum(1 for i in news.items if i.at <= last), "every item until then"
    assert int(summary.group(3)) == len(expected)
    assert not alive(broker), "the broker stopped with the demo"
    # a clean run: no tracebacks (parser processes ignore Ctrl-C) and no errors (the worker
    # starts once topics have leaders and the group a coordinator, and stops before the broker)
    assert "Traceback" not in text, text[-3000:]
    assert not [line for line in text.splitlines() if "ERROR" in line], text[-3000:]


def alert_ids(log_path: Path) -> set[str]:
    return set(re.findall(r"^\s+id (\S+)$", log_path.read_text(errors="replace"), re.MULTILINE))
