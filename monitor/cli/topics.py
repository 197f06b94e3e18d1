"""``wirewatch topics ...`` and ``wirewatch schema ...``: the topics we use, the records users read."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ConfigOption, escape, load, out, tell

topics_app = typer.Typer(help="Kafka topics used by Wirewatch.", no_args_is_help=True)
schema_app = typer.Typer(help="JSON Schemas of the records users read.", no_args_is_help=True)


@topics_app.command("ensure")
def ensure(
    config_file: ConfigOption = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help=(
                "Create nothing: list the topics that are missing, or whose replication factor or "
                "configs (retention, cleanup, min.insync.replicas) differ from the configuration; "
                "exit 4 if there are any."
            ),
        ),
    ] = False,
) -> None:
    """Create missing topics and list settings that differ; fail if a topic has another partition count."""
    from monitor.errors import TopicMismatch
    from streams.admin import ensure_topics

    config = load(config_file, required=False)
    report = asyncio.run(ensure_topics(config.kafka, routes=config.routes, check=check))
    tell(report.summary())
    for name in report.missing:
        tell(f"  missing: {name}")
    for drift in report.drift:
        tell(f"  differs: {drift}")
    if check and (report.missing or report.drift):
        raise TopicMismatch(
            f"{len(report.missing)} topic(s) missing and {len(report.drift)} setting(s) differing from "
            "the configuration (listed above). `wirewatch topics ensure` creates the missing ones; "
            "Kafka's kafka-configs.sh --alter changes a topic's configs, and kafka-reassign-partitions.sh "
            'its replication factor (docs/operations.md, "Topics").'
        )


@topics_app.command("acls")
def acls(
    role: Annotated[
        str, typer.Argument(help="`worker` (every wirewatch command) or `subscriber` (reads alerts).")
    ],
    principal: Annotated[str, typer.Argument(help="The Kafka principal, e.g. `User:wirewatch`.")],
    config_file: ConfigOption = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Bootstrap server in the commands (default: the config's first)."),
    ] = None,
    command_config: Annotated[
        str, typer.Option(help="Admin client properties file the commands pass to kafka-acls.sh.")
    ] = "admin.properties",
    group: Annotated[
        str | None, typer.Option(help="A subscriber's own consumer group, if its client commits offsets.")
    ] = None,
) -> None:
    """Print the kafka-acls.sh commands that give ROLE the least rights it needs on this config's topics."""
    from monitor.acls import ROLES, commands
    from monitor.cli.common import bootstrap as bootstrap_of

    if role not in ROLES:
        raise typer.BadParameter(f"{role!r}: one of {', '.join(ROLES)}", param_hint="ROLE")
    config = load(config_file, required=False)
    server = bootstrap or bootstrap_of(config)[0]
    lines = commands(
        config,
        role,
        principal,
        bootstrap=server,
        command_config=command_config,
        group=group,
    )
    for line in lines:
        tell(line)


@topics_app.command("list")
def list_topics(config_file: ConfigOption = None) -> None:
    """The topics Wirewatch uses, with partitions, cleanup policy and purpose."""
    from rich.table import Table

    from streams.topics import topic_specs

    config = load(config_file, required=False)
    table = Table("topic", "partitions", "cleanup", "retention", "purpose")
    for spec in topic_specs(config.kafka):
        ms = spec.configs.get("retention.ms")
        retention = f"{int(ms) // 86_400_000}d" if ms else "-"
        table.add_row(
            escape(spec.name),
            str(spec.partitions),
            spec.configs["cleanup.policy"],
            retention,
            escape(spec.description),
        )
    out.print(table)


@schema_app.command("alert")
def alert_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of the Alert record (also shipped as schemas/alert.schema.json)."""
    from streams.records import alert_json_schema_text

    text = alert_json_schema_text()
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
