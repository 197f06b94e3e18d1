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
def ensure(config_file: ConfigOption = None) -> None:
    """Create missing topics; fail if an existing one has another partition count."""
    from streams.admin import ensure_topics

    config = load(config_file, required=False)
    report = asyncio.run(ensure_topics(config.kafka, routes=config.routes))
    tell(report.summary())


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
