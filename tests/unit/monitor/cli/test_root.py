"""Exit codes are decided once (``monitor.cli.root``) and arguments are checked before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.cli.common import ExitCode
from monitor.cli.root import exit_for
from monitor.errors import (
    BrokerError,
    ConfigError,
    KafkaAccessError,
    KafkaResolveError,
    TopicMismatch,
    WirewatchError,
)

runner = CliRunner()


@pytest.fixture
def no_broker(tmp_path: Path) -> Path:
    """A config whose embedded broker is not running."""
    path = tmp_path / "wirewatch.yaml"
    path.write_text(f"kafka:\n  bootstrap: embedded\n  embedded:\n    data_dir: {tmp_path / 'kafka'}\n")
    return path


def test_contradicting_arguments_are_a_usage_error_with_no_broker_running(no_broker: Path) -> None:
    """``--topic`` with ``--route`` once exited 4: the broker was looked for before the arguments."""
    result = runner.invoke(app, ["alerts", "tail", "-c", str(no_broker), "--topic", "x", "--route", "y"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "not both" in result.output


def test_a_missing_broker_is_a_kafka_error(no_broker: Path) -> None:
    result = runner.invoke(app, ["alerts", "tail", "-c", str(no_broker), "--no-follow"])
    assert result.exit_code == ExitCode.KAFKA, result.output
    assert "no local broker is running" in result.output


def test_an_invalid_config_is_exit_3_with_its_message(tmp_path: Path) -> None:
    bad = tmp_path / "wirewatch.yaml"
    bad.write_text("kafka:\n  partitons: 2\n")
    result = runner.invoke(app, ["topics", "list", "-c", str(bad)])
    assert result.exit_code == ExitCode.CONFIG, result.output
    assert "kafka.partitons: unknown key" in result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("f.yaml", ["f.yaml:1:1: bad"]), ExitCode.CONFIG),
        (KafkaResolveError("offline"), ExitCode.KAFKA),
        (BrokerError("down"), ExitCode.KAFKA),
        (KafkaAccessError("SASL authentication failed"), ExitCode.KAFKA),
        (TopicMismatch("3 partitions, not 4"), ExitCode.KAFKA),
        (WirewatchError("other"), ExitCode.FAILURE),
    ],
)
def test_each_error_kind_has_one_exit_code(error: WirewatchError, code: ExitCode) -> None:
    assert exit_for(error)[1] == code
