"""The ``wirewatch`` command line.

Exit codes scripts can rely on: 0 success, 1 unexpected failure, 2 usage
error, 3 invalid configuration, 4 Kafka or broker problem.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from detectors.base import Severity
from monitor.broker import KafkaDistribution, LocalBroker
from monitor.config import DEFAULT_CONFIG_FILE, WirewatchConfig, load_config, load_detectors
from monitor.detectors_cli import detectors_app
from monitor.errors import ArchiveError, BrokerError, ConfigError, TopicError, WirewatchError
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
alerts_app = typer.Typer(help="Read alert topics as a subscriber.", no_args_is_help=True)
prometheus_app = typer.Typer(
    help="Prometheus and promtool from Debian's package, on which the shipped rules are proven.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(schema_app, name="schema")
app.add_typer(feeds_app, name="feeds")
app.add_typer(alerts_app, name="alerts")
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


def _as_client(config: WirewatchConfig) -> WirewatchConfig:
    """For a client command: an embedded broker's actual port, from its pid file (it may be 0 = any)."""
    if not config.kafka.is_embedded:
        return config
    status = _local_broker(config).status()
    if status.bootstrap is None:
        raise BrokerError(
            f"no local broker is running for {config.kafka.embedded.data_dir} "
            "(start `wirewatch run` or `wirewatch demo` with this config first)"
        )
    return _with_port(config, int(status.bootstrap.rsplit(":", 1)[1]))


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
        report = asyncio.run(ensure_topics(config.kafka, routes=config.routes))
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


@feeds_app.command("check")
def feeds_check(
    source: Annotated[str, typer.Argument(help="A feed URL, or a saved feed file.")],
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The articles as JSON lines, for piping.")] = False,
) -> None:
    """Fetch and parse one feed as a poller would: what it would publish, and why any entry is skipped.

    Limits and timeouts come from the config's `polling:` section (defaults without a config); a
    URL of a configured feed gets that feed's id, so the article ids shown are the real ones.
    Exit code 1 when nothing would be published (fetch failed, not a feed).
    """
    from monitor.feedcheck import CHECK_FEED_ID, check_file, check_url

    with _errors():
        config = _load(config_file, required=False)
    feed_id = next((f.id for f in config.feeds if f.url == source), CHECK_FEED_ID)
    if source.startswith(("http://", "https://")):
        report = asyncio.run(check_url(source, config.polling, feed_id))
    elif Path(source).is_file():
        report = check_file(Path(source), config.polling, feed_id)
    else:
        raise typer.BadParameter("not an http(s) URL nor a file", param_hint="SOURCE")
    if as_json:
        for item in report.published:
            typer.echo(item.article.encode().decode())
    else:
        _print_feed_check(report)
    if not report.usable:
        if as_json:
            console.print(f"[bold red]{source}:[/] {report.problem}", highlight=False)
        raise typer.Exit(EXIT_FAILURE)


def _print_feed_check(report: Any) -> None:
    fetch = report.fetch
    parts = [report.source]
    if fetch is not None:
        parts.append(f"HTTP {fetch.status or '-'}, {len(fetch.body):,} bytes in {fetch.elapsed:.2f}s")
    if report.parse is not None and report.parse.kind == "feed":
        parts.append(f"{report.parse.version or 'feed'} “{report.parse.feed_title}”")
        if report.parse.bozo:
            parts.append(f"[yellow]not well-formed, read leniently: {report.parse.bozo}[/]")
    out.print(" — ".join(parts), highlight=False)
    if not report.usable:
        out.print(f"[bold red]nothing would be published:[/] {report.problem}", highlight=False)
        return
    if report.published:
        _print_articles(report.published)
    out.print(
        f"{len(report.published)} articles would be published, {len(report.skipped)} entries skipped",
        highlight=False,
    )
    for reason in report.skipped:
        out.print(f"  skipped: {reason}", highlight=False)


def _print_articles(published: list[Any]) -> None:
    from rich.table import Table

    table = Table(show_lines=False, pad_edge=False)
    for column in ("#", "published (UTC)", "title", "id", "notes"):
        table.add_column(column, overflow="fold")
    for number, item in enumerate(published, 1):
        a = item.article
        table.add_row(
            str(number), f"{a.published_at:%Y-%m-%d %H:%M}", a.title or "–", a.id, "; ".join(item.notes)
        )
    out.print(table)


@feeds_app.command("list")
def feeds_list(
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """The feed registry on Kafka with each feed's health: last success, failures, disabled, next poll."""
    from streams.registry import feed_health
    from streams.topics import Topics

    with _errors():
        config = _as_client(_load(config_file))
        try:
            feeds = asyncio.run(feed_health(config))
        except (OSError, TimeoutError) as exc:
            raise TopicError(f"cannot read the feed registry: {exc}") from exc
    if as_json:
        for f in feeds:
            state = f.state.model_dump(mode="json", exclude={"seen"}) if f.state else None
            typer.echo(json.dumps({"spec": f.spec.model_dump(mode="json"), "state": state}))
        return
    from rich.table import Table

    table = Table(pad_edge=False)
    for column in ("feed", "every", "last success", "last outcome", "failures", "next poll", "status"):
        table.add_column(column, overflow="fold")
    now = time.time()
    for f in feeds:
        st = f.state
        table.add_row(
            f"{f.spec.id}\n[dim]{f.spec.url}[/]",
            _span(f.spec.interval_seconds),
            f"{_span(now - st.last_success_at)} ago" if st and st.last_success_at else "never",
            (st.last_outcome or "–") if st else "not polled yet",
            str(st.consecutive_failures if st else 0),
            _next_poll(st.next_poll_at if st else None, now),
            _feed_status(f.spec.enabled, st),
        )
    out.print(table)
    out.print(f"{len(feeds)} feeds on {Topics(config.kafka.topic_prefix).feeds}", highlight=False)


def _span(seconds: float) -> str:
    """Rounded for people: 42s, 12m, 3h 5m, 2d 4h."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _next_poll(at: float | None, now: float) -> str:
    if at is None:
        return "–"
    return f"in {_span(at - now)}" if at > now else "due"


def _feed_status(enabled: bool, state: Any) -> str:
    if state is not None and state.disabled_reason:
        return f"[red]disabled[/]: {state.disabled_reason}"
    if not enabled:
        return "off (enabled: false)"
    if state is not None and state.consecutive_failures:
        return f"[yellow]failing[/]: {state.last_error or state.last_outcome}"
    return "ok"


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
            await ensure_topics(config.kafka, routes=config.routes)
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
            await ensure_topics(config.kafka, routes=config.routes)
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


# ---------------------------------------------------------------- alerts


@alerts_app.command("tail")
def alerts_tail(
    config_file: ConfigOption = None,
    detector: Annotated[
        list[str] | None, typer.Option("--detector", "-d", help="Only this detector (repeatable).")
    ] = None,
    severity: Annotated[
        Severity | None, typer.Option("--severity", "-s", help="Only this severity and above.")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Only alerts with this label (repeatable: any).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start with alerts made since: a duration back (1h, 30m) or an ISO 8601 time."),
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="The alerts topic to read (default: the config's main alerts topic).")
    ] = None,
    route: Annotated[
        str | None, typer.Option(help="Read a route's topic (`<prefix>alerts.<route>`) instead.")
    ] = None,
    follow: Annotated[bool, typer.Option(help="Keep waiting for new alerts (else stop at the end).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON alert per line, for piping.")] = False,
) -> None:
    """Show alerts as they fire: filtered, each alert id once (a replayed alert is never shown twice)."""
    from aiokafka.errors import KafkaError

    from monitor.alert_view import alert_json, alert_text, parse_since
    from streams.subscribe import AlertFilter, Unreadable, tail_alerts
    from streams.topics import Topics

    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    accept = AlertFilter(frozenset(detector or ()), severity, frozenset(label or ()))
    with _errors():
        config = _as_client(_load(config_file))
        if topic and route:
            raise typer.BadParameter("give --topic or --route, not both", param_hint="--route")
        topics = Topics(config.kafka.topic_prefix)
        name = topic or (topics.route(route) if route else topics.alerts)

        async def go() -> None:
            async for item in tail_alerts(config.kafka, name, since=start, follow=follow, accept=accept):
                if isinstance(item, Unreadable):
                    console.print(
                        f"[yellow]skipped[/] partition {item.partition} offset {item.offset}: not an alert "
                        f"({item.error})",
                        highlight=False,
                    )
                elif as_json:
                    typer.echo(alert_json(item))
                else:
                    out.print(alert_text(item))

        if not as_json:
            console.print(
                f"alerts on {name} ({'following' if follow else 'up to now'}); Ctrl-C stops", highlight=False
            )
        try:
            asyncio.run(go())
        except KeyboardInterrupt:
            pass
        except (LookupError, KafkaError) as exc:
            raise TopicError(str(exc)) from exc


# ---------------------------------------------------------------- archives

ArchivePath = Annotated[
    Path,
    typer.Argument(
        help="A .jsonl file of articles, a saved feed (.xml, .rss, .atom), or a folder of saved polls.",
        exists=True,
    ),
]


def _archive(path: Path, config: WirewatchConfig, feed_id: str | None) -> list[Any]:
    from monitor.archive import load_archive

    console.print(f"reading {path}…", highlight=False)
    articles = load_archive(path, config.polling, feed_id)
    if not articles:
        raise ArchiveError(f"{path}: no articles in this archive")
    first, last = articles[0].published_at, articles[-1].published_at
    console.print(
        f"{len(articles)} articles published {first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )
    return articles


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command("replay")
def replay(
    archive: ArchivePath,
    config_file: ConfigOption = None,
    feed_id: Annotated[
        str | None, typer.Option(help="Feed id for the articles (default: from the file name).")
    ] = None,
) -> None:
    """Push archived articles into the pipeline (the raw articles topic) in publication order.

    They are sent as the poller sends them (keyed by article id), so running workers embed,
    deduplicate and detect on them; alert ids are deterministic, so replaying twice alerts once.
    """
    from streams.admin import ensure_topics
    from streams.replay import send_articles

    with _errors():
        config = _as_client(_load(config_file))
        articles = _archive(archive, config, feed_id)

        async def go() -> None:
            await ensure_topics(config.kafka, routes=config.routes)
            with _progress() as bar:
                task = bar.add_task("replaying", total=len(articles))
                await send_articles(config, articles, lambda n: bar.advance(task, n))

        try:
            asyncio.run(go())
        except (OSError, TimeoutError) as exc:
            raise TopicError(f"cannot reach Kafka: {exc}") from exc
    console.print(f"sent {len(articles)} articles to {_topics(config).articles_raw}", highlight=False)


@app.command("backtest")
def backtest_command(
    detectors_file: Annotated[
        Path, typer.Argument(help="Detectors document (or a wirewatch.yaml).", exists=True)
    ],
    archive: ArchivePath,
    config_file: ConfigOption = None,
    feed_id: Annotated[
        str | None, typer.Option(help="Feed id for the articles (default: from the file name).")
    ] = None,
    embed: Annotated[
        bool,
        typer.Option(help="Embed with the configured model (near duplicates, stories, semantic detectors)."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="The alerts as JSON lines.")] = False,
) -> None:
    """Run detectors over an archive without Kafka: what fires, on which article, and when.

    The workers' own stages, in memory: the model, dedup and stories, then the detectors, in
    publication order. Tune a document here, then `wirewatch detectors apply` it.
    """
    from monitor.alert_view import alert_json, alert_text
    from streams.backtest import backtest

    with _errors():
        config = _load(config_file, required=False)
        document = load_detectors(detectors_file)
        articles = _archive(archive, config, feed_id)
        with _progress() as bar:
            task = bar.add_task("backtest", total=len(articles))
            report = backtest(
                articles, document, config, embed=embed, progress=lambda n: bar.advance(task, n)
            )
    for fired in report.fired:
        if as_json:
            typer.echo(alert_json(fired.alert))
        else:
            out.print(f"[bold]{fired.at:%Y-%m-%d}[/] ", end="", highlight=False)
            out.print(alert_text(fired.alert))
    decisions = ", ".join(f"{n} {kind}" for kind, n in report.decisions.most_common())
    by_detector = Counter(f.alert.detector_id for f in report.fired)
    console.print(
        f"{report.articles} articles ({decisions}), {report.stories} stories, {len(report.fired)} alerts"
        + (": " + ", ".join(f"{d} {n}" for d, n in by_detector.most_common()) if by_detector else ""),
        highlight=False,
    )
    for detector_id, count in report.matches.most_common():
        held = {r: n for (d, r), n in report.held.items() if d == detector_id}
        console.print(f"  {detector_id}: {count} matches, held {held or 0}", highlight=False)
    for detector_id, article_id, error in report.errors[:10]:
        console.print(f"  [red]{detector_id} failed on {article_id}[/]: {error}", highlight=False)
    for detector_id, error in report.disabled.items():
        console.print(
            f"  [red]{detector_id} disabled[/] after its error limit (last: {error}); "
            "a worker would stop running it too",
            highlight=False,
        )


def _topics(config: WirewatchConfig) -> Any:
    from streams.topics import Topics

    return Topics(config.kafka.topic_prefix)


# ---------------------------------------------------------------- run


@app.command("run")
def run(config_file: ConfigOption = None) -> None:
    """Run a worker. With `kafka.bootstrap: embedded` it starts the local broker first."""
    with _errors():
        _serve(_load(config_file))


def _serve(
    config: WirewatchConfig, beside: Callable[[WirewatchConfig], Callable[[], None]] | None = None
) -> None:
    """The broker (when embedded), then the worker until Ctrl-C.

    ``beside(config)`` starts something next to the worker (the demo's display) and returns
    its stop function, called after the worker stopped and before the broker does.

    The broker runs in its own process group, so the terminal's Ctrl-C reaches
    only the worker: it leaves its group and commits while the broker is still
    up, and the broker is stopped after it.
    """
    from streams.worker import run_worker

    _setup_logging(config.worker.log_level)
    broker = None
    stop_beside: Callable[[], None] | None = None
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
        if beside is not None:
            stop_beside = beside(config)
        run_worker(config)
    finally:
        if stop_beside is not None:
            stop_beside()
        if broker is not None:
            console.print("stopping the local broker…", highlight=False)
            broker.stop()


def _bootstrap(config: WirewatchConfig) -> list[str]:
    from streams.connection import bootstrap_servers

    return bootstrap_servers(config.kafka)


@app.command("demo")
def demo(
    config_file: ConfigOption = None,
    speed: Annotated[float, typer.Option(min=0.1, help="Play the demo news this many times faster.")] = 1.0,
    keep_state: Annotated[
        bool, typer.Option(help="Keep the last demo's broker and worker data (the news is then not new).")
    ] = False,
) -> None:
    """Run the monitor on the bundled demo news with the embedded local broker; alerts show as they fire."""
    from monitor.alert_view import alert_text
    from monitor.demo import DEMO_CONFIG, FEEDS_ENV, DemoFeedServer, DemoWatch

    path = config_file or DEMO_CONFIG
    watch: list[DemoWatch] = []
    with DemoFeedServer(speed=speed) as feeds:
        os.environ[FEEDS_ENV] = feeds.url
        with _errors():
            config = _load(path)
            if not keep_state and config_file is None:  # the bundled demo starts afresh every time
                for directory in (config.kafka.embedded.data_dir, config.worker.data_dir):
                    shutil.rmtree(directory, ignore_errors=True)
            console.print(
                f"[bold]Wirewatch demo[/]: four outlets serve the demo news from {feeds.url}; "
                f"items appear over {feeds.news.duration / speed:.0f} s once the worker is ready. "
                f"Starting the local Kafka broker and a worker with {path}. Ctrl-C stops everything.",
                highlight=False,
            )

            def show(alert: Any) -> None:
                out.print(alert_text(alert))

            def beside(running: WirewatchConfig) -> Callable[[], None]:
                watch.append(DemoWatch(running, feeds, show).start())
                return watch[0].stop

            try:
                _serve(config, beside)
            finally:
                if watch:
                    console.print(f"[bold]demo summary[/]: {watch[0].summary()}", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
