"""What every ``wirewatch`` command shares: the consoles, the ``--config`` option, loading, exit codes.

User text (file names, feed titles, error messages) goes through ``escape``
before it reaches a rich console: rich reads ``[...]`` as markup, and would
eat the ``[a-z0-9]`` of a pattern in an error message.
"""

from __future__ import annotations

import logging
import os
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from monitor.config import DEFAULT_CONFIG_FILE, WirewatchConfig
from monitor.errors import BrokerError
from monitor.loading import load_config

if TYPE_CHECKING:
    from rich.progress import Progress

    from monitor.broker import LocalBroker
    from streams.topics import Topics

__all__ = ["ConfigOption", "ExitCode", "console", "escape", "out", "say", "tell"]


class ExitCode(IntEnum):
    """What scripts can rely on; ``monitor.cli.root`` maps our errors to these, in one place."""

    OK = 0
    FAILURE = 1  # unexpected, or the command found what it looked for wanting (a feed gives nothing)
    USAGE = 2  # bad arguments (click's own code for usage errors)
    CONFIG = 3  # a configuration or detectors file does not validate
    KAFKA = 4  # the broker or a topic: unreachable, not running, mismatched


console = Console(stderr=True, soft_wrap=True, highlight=False)  # messages, progress, logs
out = Console(soft_wrap=True, highlight=False)  # results: what a script would capture

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"Config file (default: $WIREWATCH_CONFIG or ./{DEFAULT_CONFIG_FILE}).",
    ),
]


def config_path(path: Path | None) -> Path:
    return path or Path(os.environ.get("WIREWATCH_CONFIG", DEFAULT_CONFIG_FILE))


def load(path: Path | None, *, required: bool = True) -> WirewatchConfig:
    """The config at ``path`` (or the default place); without ``required``, defaults when there is none."""
    resolved = config_path(path)
    if not resolved.exists() and not required and path is None:
        return WirewatchConfig()
    return load_config(resolved)


def say(message: str) -> None:
    """A plain message on stderr: not markup, whatever it contains."""
    console.print(message, markup=False)


def tell(message: str) -> None:
    """A plain result on stdout: not markup, whatever it contains."""
    out.print(message, markup=False)


def setup_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
    )


def local_broker(config: WirewatchConfig) -> LocalBroker:
    from monitor.broker import LocalBroker

    emb = config.kafka.embedded
    return LocalBroker(
        data_dir=emb.data_dir,
        port=emb.port,
        controller_port=emb.controller_port,
        heap_mb=emb.heap_mb,
        kafka_version=emb.kafka_version,
    )


def as_client(config: WirewatchConfig) -> WirewatchConfig:
    """For a client command: an embedded broker's actual port, from its pid file (it may be 0 = any)."""
    if not config.kafka.is_embedded:
        return config
    status = local_broker(config).status()
    if status.bootstrap is None:
        raise BrokerError(
            f"no local broker is running for {config.kafka.embedded.data_dir} "
            "(start `wirewatch run` or `wirewatch demo` with this config first)"
        )
    return with_port(config, int(status.bootstrap.rsplit(":", 1)[1]))


def with_port(config: WirewatchConfig, port: int) -> WirewatchConfig:
    """The config with the embedded broker's actual port (it may have been 0 = any)."""
    embedded = config.kafka.embedded.model_copy(update={"port": port})
    kafka = config.kafka.model_copy(update={"embedded": embedded})
    return config.model_copy(update={"kafka": kafka})


def topics_of(config: WirewatchConfig) -> Topics:
    from streams.topics import Topics

    return Topics(config.kafka.topic_prefix)


def bootstrap(config: WirewatchConfig) -> list[str]:
    from streams.connection import bootstrap_servers

    return bootstrap_servers(config.kafka)


def progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
