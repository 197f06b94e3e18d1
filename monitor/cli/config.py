"""``wirewatch config check``: validate a configuration file, every error with its key and line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import tell
from monitor.config import DEFAULT_CONFIG_FILE
from monitor.loading import load_config

config_app = typer.Typer(help="Validate configuration files.", no_args_is_help=True)


@config_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="YAML file to validate.")] = Path(DEFAULT_CONFIG_FILE),
) -> None:
    """Validate FILE: print every error with its key and line, or a one-line summary."""
    config = load_config(file)
    kafka = "embedded broker" if config.kafka.is_embedded else ", ".join(config.kafka.bootstrap)
    enabled = sum(f.enabled for f in config.feeds)
    tell(
        f"{file}: OK — {len(config.feeds)} feeds ({enabled} enabled), "
        f"{len(config.detectors)} detectors, kafka: {kafka}, "
        f"topics '{config.kafka.topic_prefix}*' × {config.kafka.partitions} partitions, "
        f"model {config.pipeline.embed.model}"
    )
