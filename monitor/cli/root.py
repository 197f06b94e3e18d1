"""The root ``wirewatch`` command: where our errors become messages and exit codes, once for all commands.

Commands raise ``WirewatchError`` subclasses (``monitor.errors``) and never
choose an exit code for them; usage errors are click's (exit 2), raised
before anything connects to Kafka.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from monitor.cli.common import ExitCode, console, escape
from monitor.errors import BrokerError, ConfigError, KafkaAccessError, TopicError, WirewatchError

# (error class, the message's lead, exit code): the first that matches wins
ERROR_EXITS: tuple[tuple[type[WirewatchError], str, ExitCode], ...] = (
    (ConfigError, "invalid configuration", ExitCode.CONFIG),
    (BrokerError, "kafka:", ExitCode.KAFKA),
    (KafkaAccessError, "kafka:", ExitCode.KAFKA),
    (TopicError, "kafka:", ExitCode.KAFKA),
    (WirewatchError, "error:", ExitCode.FAILURE),
)


def exit_for(error: WirewatchError) -> tuple[str, ExitCode]:
    """The lead of the message and the exit code for one of our errors."""
    return next((lead, code) for kind, lead, code in ERROR_EXITS if isinstance(error, kind))


class WirewatchGroup(TyperGroup):
    """Typer's group, with our errors printed as messages (no traceback) and mapped to exit codes."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except WirewatchError as error:
            lead, code = exit_for(error)
            console.print(f"[bold red]{lead}[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(code) from None


app = typer.Typer(
    name="wirewatch",
    cls=WirewatchGroup,
    help="Stream-processing news monitor: feeds → Kafka → embeddings, dedup, stories → alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
