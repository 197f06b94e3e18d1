"""``wirewatch topics acls``: the least rights of each role, as kafka-acls.sh commands for this config."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()


def acl_lines(tmp_path: Path, *args: str) -> list[list[str]]:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(
        "kafka:\n  bootstrap: [kafka-1.example:9093]\n  topic_prefix: news.\nworker:\n  app_id: newsroom\n"
    )
    result = runner.invoke(app, ["topics", "acls", *args, "-c", str(config)])
    assert result.exit_code == 0, result.output
    return [shlex.split(line) for line in result.stdout.splitlines()]


def grant(line: list[str]) -> tuple[str, str, str, str, frozenset[str]]:
    """(resource, name, pattern, principal, operations) of one kafka-acls.sh --add line."""
    resource = "--topic" if "--topic" in line else "--group"
    operations = frozenset(line[i + 1] for i, arg in enumerate(line) if arg == "--operation")
    return (
        resource,
        line[line.index(resource) + 1],
        line[line.index("--resource-pattern-type") + 1],
        line[line.index("--allow-principal") + 1],
        operations,
    )


def test_worker_gets_our_topics_fausts_changelogs_and_its_group(tmp_path: Path) -> None:
    lines = acl_lines(tmp_path, "worker", "User:wirewatch")
    assert all(
        line[:5]
        == [
            "kafka-acls.sh",
            "--bootstrap-server",
            "kafka-1.example:9093",
            "--command-config",
            "admin.properties",
        ]
        for line in lines
    )
    topic_rights = frozenset({"Read", "Write", "Create", "Describe", "DescribeConfigs"})
    assert [grant(line) for line in lines] == [
        ("--topic", "news.", "prefixed", "User:wirewatch", topic_rights),
        ("--topic", "newsroom-", "prefixed", "User:wirewatch", topic_rights),
        ("--group", "newsroom", "prefixed", "User:wirewatch", frozenset({"Read", "Describe"})),
    ]


def test_subscriber_reads_alerts_only_and_its_own_group(tmp_path: Path) -> None:
    lines = acl_lines(tmp_path, "subscriber", "User:analyst", "--group", "analyst-desk")
    assert [grant(line) for line in lines] == [
        ("--topic", "news.alerts", "prefixed", "User:analyst", frozenset({"Read", "Describe"})),
        ("--group", "analyst-desk", "literal", "User:analyst", frozenset({"Read"})),
    ]
    assert not any("Write" in line for line in lines)


def test_unknown_role_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["topics", "acls", "reader", "User:x"])
    assert result.exit_code == 2
    assert "one of worker, subscriber" in result.output


def test_the_operations_guide_shows_the_tested_config_and_its_commands_verbatim(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """docs/operations.md (and the README) quote examples/secured-kafka.yaml, which the
    secured-broker tests load, and the guide the commands ``topics acls`` prints for it,
    character for character."""
    repo = Path(__file__).resolve().parents[4]
    guide = (repo / "docs" / "operations.md").read_text()
    example = repo / "examples" / "secured-kafka.yaml"
    assert example.read_text() in guide
    assert example.read_text() in (repo / "README.md").read_text()
    monkeypatch.setenv("KAFKA_PASSWORD", "unused")
    for role, principal in (("worker", "User:wirewatch"), ("subscriber", "User:analyst")):
        result = runner.invoke(app, ["topics", "acls", role, principal, "-c", str(example)])
        assert result.exit_code == 0, result.output
        assert f"$ wirewatch topics acls {role} {principal} -c wirewatch.yaml\n{result.stdout}" in guide
