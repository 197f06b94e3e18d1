"""The ``wirewatch`` command line.

Exit codes scripts can rely on: 0 success, 1 unexpected failure, 2 usage
error, 3 invalid configuration, 4 Kafka or broker problem.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from monitor.broker import KafkaDistribution, LocalBroker
from monitor.config import DEFAULT_CONFIG_FILE, WirewatchConfig, load_config, load_detectors
from monitor.detectors_cli import detectors_app
from monitor.errors import BrokerError, ConfigError, TopicError, WirewatchError
from monitor.prometheus import PrometheusDistribution

EXIT_FAILURE, EXIT_USAGE, EXIT_CONFIG, EXIT_KAFKA = 1, 2, 3, 4

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

app = typer.Typer(
    name="wirewatch",
    help="Stream-processing news monitor: feeds → Kafka → embeddings, dedup, stories → alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate configuration files.", no_args_is_help=True)
broker_app = typer.Typer(help="The embedded local Kafka broker (single-node KRaft).", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics used by Wirewatch.", no_args_is_help=True)
schema_app = typer.Typer(help="JSON Schemas of the records users read.", no_args_is_help=True)
feeds_app = typer.Typer(help="The feed registry: sync to Kafka, OPML import/export.", no_args_is_help=True)
prometheus_app = typer.Typer(
    help="Prometheus and promtool from Debian's package, on which the shipped rules are proven.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(schema_app, name="schema")
app.add_typer(feeds_app, name="feeds")
app.add_typer(prometheus_app, name="prometheus")
app.add_typer(detectors_app, name="detectors")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"Config file (default: $WIREWATCH_CONFIG or ./{DEFAULT_CONFIG_FILE}).",
    ),
]


def _config_path(path: Path | None) -> Path:
    return path or Path(os.environ.get("WIREWATCH_CONFIG", DEFAULT_CONFIG_FILE))


def _load(path: Path | None, *, required: bool = True) -> WirewatchConfig:
    resolved = _config_path(path)
    if not resolved.exists() and not required and path is None:
        return WirewatchConfig()
    return load_config(resolved)


@contextmanager
def _errors() -> Iterator[None]:
    """Print our errors as messages (no traceback) and exit with their code."""
    try:
        yield
    except ConfigError as exc:
        console.print(f"[bold red]invalid configuration[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except (BrokerError, TopicError) as exc:
        console.print(f"[bold red]kafka:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_KAFKA) from None
    except WirewatchError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILURE) from None


def _setup_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
    )


def _local_broker(config: WirewatchConfig) -> LocalBroker:
    emb = config.kafka.embedded
    return LocalBroker(
        data_dir=emb.data_dir,
        port=emb.port,
        controller_port=emb.controller_port,
        heap_mb=emb.heap_mb,
        kafka_version=emb.kafka_version,
    )


def _with_port(config: WirewatchConfig, port: int) -> WirewatchConfig:
    """The config with the embedded broker's actual port (it may have been 0 = any)."""
    embedded = config.kafka.embedded.model_copy(update={"port": port})
    kafka = config.kafka.model_copy(update={"embedded": embedded})
    return config.model_copy(update={"kafka": kafka})


# ---------------------------------------------------------------- config


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="YAML file to validate.")] = Path(DEFAULT_CONFIG_FILE),
) -> None:
    """Validate FILE: print every error with its key and line, or a one-line summary."""
    with _errors():
        config = load_config(file)
    kafka = "embedded broker" if config.kafka.is_embedded else ", ".join(config.kafka.bootstrap)
    enabled = sum(f.enabled for f in config.feeds)
    out.print(
        f"{file}: OK — {len(config.feeds)} feeds ({enabled} enabled), "
        f"{len(config.detectors)} detectors, kafka: {kafka}, "
        f"topics '{config.kafka.topic_prefix}*' × {config.kafka.partitions} partitions, "
        f"model {config.pipeline.embed.model}",
        highlight=False,
    )


# ---------------------------------------------------------------- broker


@broker_app.command("install")
def broker_install(config_file: ConfigOption = None) -> None:
    """Resolve Kafka's jars from Maven Central into the machine cache (once)."""
    with _errors():
        config = _load(config_file, required=False)
        dist = KafkaDistribution(config.kafka.embedded.kafka_version)
        libs = dist.resolve(progress=lambda m: console.print(m, highlight=False))
        out.print(f"Kafka {dist.version} jars: {libs}", highlight=False)


@prometheus_app.command("install")
def prometheus_install() -> None:
    """Fetch Debian's prometheus package into the machine cache (once): the server and promtool."""
    with _errors():
        dist = PrometheusDistribution()
        root = dist.resolve(progress=lambda m: console.print(m, highlight=False))
        out.print(f"{dist.version()}: {root}", highlight=False)


@prometheus_app.command("check")
def prometheus_check(
    deploy_dir: Annotated[Path, typer.Argument(help="The folder with prometheus.yml and rules.")] = Path(
        "deploy/prometheus"
    ),
) -> None:
    """Check the scrape config and alert rules with promtool, and run the rules' unit tests."""
    with _errors():
        dist = PrometheusDistribution()
        checks = [
            ("check", "config", "prometheus.yml"),
            ("check", "rules", "rules.yml"),
            ("test", "rules", "rules_test.yml"),
        ]
        failed = 0
        for args in checks:
            result = dist.promtool_run(*args, cwd=deploy_dir)
            ok = result.returncode == 0
            failed += not ok
            out.print(f"{'ok  ' if ok else 'FAIL'} promtool {' '.join(args)}", highlight=False)
            if not ok:
                out.print((result.stdout + result.stderr).strip(), highlight=False)
        if failed:
            raise typer.Exit(1)


@broker_app.command("start")
def broker_start(config_file: ConfigOption = None) -> None:
    """Start the local broker in the background (it keeps running after this command)."""
    with _errors():
        config = _load(config_file, required=False)
        broker = _local_broker(config).start(
            attached=False, progress=lambda m: console.print(m, highlight=False)
        )
        out.print(f"bootstrap servers: {broker.bootstrap}", highlight=False)


@broker_app.command("stop")
def broker_stop(config_file: ConfigOption = None) -> None:
    """Stop the local broker started by `wirewatch broker start`."""
    with _errors():
        config = _load(config_file, required=False)
        stopped = _local_broker(config).stop()
        out.print("stopped" if stopped else "no broker was running")


@broker_app.command("status")
def broker_status(config_file: ConfigOption = None) -> None:
    """Say whether the local broker runs and answers; exit 4 when it does not."""
    with _errors():
        config = _load(config_file, required=False)
        status = _local_broker(config).status()
    if not status.running:
        out.print("not running")
        raise typer.Exit(EXIT_KAFKA)
    answer = "answering" if status.answering else "NOT answering"
    out.print(f"running (pid {status.pid}) at {status.bootstrap}, {answer}", highlight=False)
    if not status.answering:
        raise typer.Exit(EXIT_KAFKA)


# ---------------------------------------------------------------- topics


@topics_app.command("ensure")
def topics_ensure(config_file: ConfigOption = None) -> None:
    """Create missing topics; fail if an existing one has another partition count."""
    from streams.admin import ensure_topics

    with _errors():
        config = _load(config_file, required=False)
        report = asyncio.run(ensure_topics(config.kafka))
    out.print(report.summary())


@topics_app.command("list")
def topics_list(config_file: ConfigOption = None) -> None:
    """The topics Wirewatch uses, with partitions, cleanup policy and purpose."""
    from rich.table import Table

    from streams.topics import topic_specs

    with _errors():
        config = _load(config_file, required=False)
    table = Table("topic", "partitions", "cleanup", "retention", "purpose")
    for spec in topic_specs(config.kafka):
        ms = spec.configs.get("retention.ms")
        retention = f"{int(ms) // 86_400_000}d" if ms else "-"
        table.add_row(
            spec.name,
            str(spec.partitions),
            spec.configs["cleanup.policy"],
            retention,
            spec.description,
        )
    out.print(table)


# ---------------------------------------------------------------- feeds


@feeds_app.command("sync")
def feeds_sync(
    config_file: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; publish nothing.")] = False,
) -> None:
    """Make the feeds topic match the config: publish new/changed feeds, tombstone removed ones.

    `wirewatch run` does this at start-up when the config lists feeds; this
    command also empties the registry when the config lists none.
    """
    from streams.admin import ensure_topics
    from streams.registry import sync_feeds

    with _errors():
        config = _load(config_file)

        async def go() -> str:
            await ensure_topics(config.kafka)
            report = await sync_feeds(config, dry_run=dry_run)
            lines = [report.summary()]
            lines += [f"  + {f}" for f in report.added]
            lines += [f"  ~ {f}" for f in report.changed]
            lines += [f"  - {f}" for f in report.removed]
            return "\n".join(lines)

        text = asyncio.run(go())
    out.print(("(dry run) " if dry_run else "") + text, highlight=False)


@feeds_app.command("import")
def feeds_import(
    opml_file: Annotated[Path, typer.Argument(help="OPML file exported by a feed reader.", exists=True)],
    config_file: ConfigOption = None,
    interval: Annotated[str, typer.Option(help="Poll interval of the imported feeds.")] = "5m",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the YAML here instead of stdout.")
    ] = None,
) -> None:
    """Turn an OPML subscription list into `feeds:` entries for the config (YAML).

    Feeds already in the config (same URL) are left out; every outline that
    cannot become a feed is listed with the reason.
    """
    import yaml

    from monitor.durations import parse_duration
    from monitor.opml import import_opml

    try:
        seconds = parse_duration(interval)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--interval") from None
    with _errors():
        config = _load(config_file, required=False)
        result = import_opml(
            opml_file.read_bytes(),
            config.feeds,
            interval=seconds,
            source=str(opml_file),
        )
    text = yaml.safe_dump(result.as_yaml_data(), sort_keys=False, allow_unicode=True, width=100)
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
    console.print(
        f"{opml_file}: {len(result.feeds)} feeds imported, {len(result.skipped)} skipped", highlight=False
    )
    for what, reason in result.skipped:
        console.print(f"  skipped {what}: {reason}", highlight=False)


@feeds_app.command("export")
def feeds_export(
    config_file: ConfigOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the OPML here instead of stdout.")
    ] = None,
) -> None:
    """Write the configured feeds as OPML 2.0, for any feed reader (and `feeds import`)."""
    from monitor.opml import export_opml

    with _errors():
        config = _load(config_file)
    document = export_opml(config.feeds)
    if output:
        output.write_bytes(document)
    else:
        typer.echo(document.decode(), nl=False)


# ---------------------------------------------------------------- schema


# ---------------------------------------------------------------- detectors (on Kafka)


@detectors_app.command("apply")
def detectors_apply(
    file: Annotated[Path, typer.Argument(help="Detectors document (or a wirewatch.yaml) to put in force.")],
    config_file: ConfigOption = None,
) -> None:
    """Validate a detectors document and publish it to the control topic; workers switch without a restart.

    Nothing is published unless the whole document validates (errors name the key and line).
    """
    from streams.admin import ensure_topics
    from streams.control import publish_detectors

    with _errors():
        document = load_detectors(file)
        config = _load(config_file, required=False)

        async def go() -> str:
            await ensure_topics(config.kafka)
            release = await publish_detectors(config, document, file.name)
            return release.version

        version = asyncio.run(go())
    out.print(f"applied {file} as version {version}: {len(document.detectors)} detectors", highlight=False)


@detectors_app.command("current")
def detectors_current(config_file: ConfigOption = None) -> None:
    """The detectors release in force on the control topic."""
    from streams.control import current_release

    with _errors():
        config = _load(config_file, required=False)
        release = asyncio.run(current_release(config))
    if release is None:
        out.print("no release applied: workers use the detectors of their own config", highlight=False)
        return
    ids = [d.get("id") for d in release.document.get("detectors", [])]
    out.print(
        f"version {release.version}, applied {release.published_at:%Y-%m-%d %H:%M:%S %Z} from "
        f"{release.source or '?'}: {', '.join(map(str, ids))}",
        highlight=False,
    )


@schema_app.command("alert")
def schema_alert(
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


# ---------------------------------------------------------------- run


@app.command("run")
def run(config_file: ConfigOption = None) -> None:
    """Run a worker. With `kafka.bootstrap: embedded` it starts the local broker first."""
    from streams.worker import run_worker

    with _errors():
        config = _load(config_file)
        _setup_logging(config.worker.log_level)
        broker = None
        if config.kafka.is_embedded:
            broker = _local_broker(config).start(
                attached=True, progress=lambda m: console.print(m, highlight=False)
            )
            config = _with_port(config, broker.port)
        try:
            console.print(
                f"worker [bold]{config.worker.app_id}[/]: Kafka {', '.join(_bootstrap(config))}, "
                f"topics '{config.kafka.topic_prefix}*', metrics on "
                f"http://{config.metrics.host}:{config.metrics.port}/",
                highlight=False,
            )
            run_worker(config)
        finally:
            if broker is not None:
                broker.stop()


def _bootstrap(config: WirewatchConfig) -> list[str]:
    from streams.connection import bootstrap_servers

    return bootstrap_servers(config.kafka)


@app.command("demo")
def demo(
    config_file: ConfigOption = None,
    speed: Annotated[float, typer.Option(min=0.1, help="Play the demo news this many times faster.")] = 1.0,
) -> None:
    """Run the monitor on the bundled demo news with the embedded local broker."""
    from monitor.demo import DEMO_CONFIG, FEEDS_ENV, DemoFeedServer

    path = config_file or DEMO_CONFIG
    with DemoFeedServer(speed=speed) as feeds:
        os.environ[FEEDS_ENV] = feeds.url
        with _errors():
            metrics = _load(path).metrics
        feeds.start_news_when_ready(f"http://{metrics.host}:{metrics.port}/ready")
        console.print(
            f"[bold]Wirewatch demo[/]: four outlets serve the demo news from {feeds.url}; "
            f"items appear over {feeds.news.duration / speed:.0f} s once the worker is ready. "
            f"Starting the local Kafka broker and a worker with {path}. Ctrl-C stops everything.",
            highlight=False,
        )
        run(path)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
