"""``wirewatch alerts tail`` on the real broker, run as a user runs it (a subprocess of the CLI)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from detectors.base import Severity
from detectors.engine import alert_id
from monitor.config import WirewatchConfig
from streams.admin import ensure_topics
from streams.records import Alert
from streams.topics import Topics
from tests.kafka_fixtures import write_config
from tests.kafka_helpers import produce
from tests.unit.streams.test_records import make_alert

REPO = Path(__file__).resolve().parents[2]


def alert(detector: str, key: str, severity: Severity, *labels: str) -> Alert:
    return make_alert().model_copy(
        update={
            "id": alert_id(detector, key),
            "detector_id": detector,
            "severity": severity,
            "labels": labels,
            "title": f"{detector} on {key}",
        }
    )


async def send(config: WirewatchConfig, *items: Alert | bytes) -> None:
    topic = Topics(config.kafka.topic_prefix).alerts
    await produce(
        config,
        topic,
        [(i.id.encode(), i.encode()) if isinstance(i, Alert) else (b"junk", i) for i in items],
    )


async def spawn(path: Path, *args: str) -> asyncio.subprocess.Process:
    """``wirewatch alerts tail -c PATH ARGS`` as a user runs it."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor.cli", "alerts", "tail", "-c", str(path), *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


async def tail(path: Path, *args: str, timeout: float = 60.0) -> tuple[list[str], str]:
    """Run ``wirewatch alerts tail --no-follow`` to the end; (stdout lines, stderr)."""
    proc = await spawn(path, "--no-follow", *args)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, stderr.decode()
    return stdout.decode().splitlines(), stderr.decode()


async def test_tail_shows_each_alert_once_filtered_and_reports_what_is_not_an_alert(
    wirewatch_config, tmp_path: Path
) -> None:
    config = wirewatch_config()
    await ensure_topics(config.kafka)
    path = write_config(config, tmp_path / "wirewatch.yaml")
    swap = alert("prisoner-exchange", "175", Severity.high, "ukraine", "prisoners")
    plant = alert("znpp-watch", "znpp", Severity.medium, "ukraine", "nuclear")
    await send(config, swap, plant, swap, b"{not json")  # the second swap: a worker's replay

    lines, stderr = await tail(path, "--since", "1h", "--json")
    assert sorted(Alert.decode(line).id for line in lines) == sorted([swap.id, plant.id])
    assert "not an alert" in stderr

    lines, _ = await tail(path, "--since", "1h", "--json", "--severity", "high")
    assert [json.loads(line)["id"] for line in lines] == [swap.id]
    lines, _ = await tail(path, "--since", "1h", "--json", "--label", "nuclear", "--label", "other")
    assert [json.loads(line)["id"] for line in lines] == [plant.id]
    lines, _ = await tail(path, "--since", "1h", "--json", "-d", "znpp-watch", "-d", "prisoner-exchange")
    assert len(lines) == 2

    text, _ = await tail(path, "--since", "1h", "--severity", "high")  # for people
    assert any("HIGH" in line and "prisoner-exchange" in line for line in text)
    assert any(swap.articles[0].url in line for line in text)

    lines, _ = await tail(path, "--json")  # from now on: nothing yet
    assert lines == []


async def test_follow_shows_new_alerts_as_they_come_and_a_replay_not_again(
    wirewatch_config, tmp_path: Path
) -> None:
    config = wirewatch_config()
    await ensure_topics(config.kafka)
    path = write_config(config, tmp_path / "wirewatch.yaml")
    old = alert("prisoner-exchange", "old", Severity.high)
    await send(config, old)
    await asyncio.sleep(0.05)
    since = datetime.now(UTC).isoformat()
    proc = await spawn(path, "--json", "--since", since)
    assert proc.stdout is not None
    try:
        new = alert("prisoner-exchange", "new", Severity.high)
        later = alert("znpp-watch", "later", Severity.medium)
        await asyncio.sleep(3)  # the tail is waiting
        await send(config, new, new)
        first = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert Alert.decode(first).id == new.id
        await send(config, later)
        second = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert Alert.decode(second).id == later.id  # not the replayed `new`, not the older alert
        assert proc.returncode is None, "it keeps following"
    finally:
        proc.terminate()
        await proc.wait()
