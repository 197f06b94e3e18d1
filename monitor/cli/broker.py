"""``wirewatch broker ...``: the embedded local Kafka broker (single-node KRaft) from Maven Central's jars."""

from __future__ import annotations

import typer

from monitor.broker import KafkaDistribution
from monitor.cli.common import ConfigOption, ExitCode, load, local_broker, say, tell

broker_app = typer.Typer(help="The embedded local Kafka broker (single-node KRaft).", no_args_is_help=True)


@broker_app.command("install")
def install(config_file: ConfigOption = None) -> None:
    """Resolve Kafka's jars from Maven Central into the machine cache (once)."""
    config = load(config_file, required=False)
    dist = KafkaDistribution(config.kafka.embedded.kafka_version)
    libs = dist.resolve(progress=say)
    tell(f"Kafka {dist.version} jars: {libs}")


@broker_app.command("start")
def start(config_file: ConfigOption = None) -> None:
    """Start the local broker in the background (it keeps running after this command)."""
    config = load(config_file, required=False)
    broker = local_broker(config).start(attached=False, progress=say)
    tell(f"bootstrap servers: {broker.bootstrap}")


@broker_app.command("stop")
def stop(config_file: ConfigOption = None) -> None:
    """Stop the local broker started by `wirewatch broker start`."""
    config = load(config_file, required=False)
    stopped = local_broker(config).stop()
    tell("stopped" if stopped else "no broker was running")


@broker_app.command("status")
def status(config_file: ConfigOption = None) -> None:
    """Say whether the local broker runs and answers; exit 4 when it does not."""
    config = load(config_file, required=False)
    status = local_broker(config).status()
    if not status.running:
        tell("not running")
        raise typer.Exit(ExitCode.KAFKA)
    answer = "answering" if status.answering else "NOT answering"
    tell(f"running (pid {status.pid}) at {status.bootstrap}, {answer}")
    if not status.answering:
        raise typer.Exit(ExitCode.KAFKA)
