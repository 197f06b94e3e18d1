"""``wirewatch feeds ...``: check one feed as a poller would, the registry on Kafka, OPML in and out."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.common import ConfigOption, ExitCode, as_client, console, escape, load, out, say, tell
from monitor.errors import TopicError

if TYPE_CHECKING:
    from monitor.feedcheck import FeedCheck, Published
    from streams.records import FeedState

feeds_app = typer.Typer(help="The feed registry: sync to Kafka, OPML import/export.", no_args_is_help=True)


@feeds_app.command("check")
def check(
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

    config = load(config_file, required=False)
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
            console.print(f"[bold red]{escape(source)}:[/] {escape(report.problem or '')}")
        raise typer.Exit(ExitCode.FAILURE)


def _print_feed_check(report: FeedCheck) -> None:
    fetch = report.fetch
    parts = [escape(report.source)]
    if fetch is not None:
        parts.append(f"HTTP {fetch.status or '-'}, {len(fetch.body):,} bytes in {fetch.elapsed:.2f}s")
    if report.parse is not None and report.parse.kind == "feed":
        parts.append(escape(f"{report.parse.version or 'feed'} “{report.parse.feed_title}”"))
        if report.parse.bozo:
            parts.append(f"[yellow]not well-formed, read leniently: {escape(str(report.parse.bozo))}[/]")
    out.print(" — ".join(parts))
    if not report.usable:
        out.print(f"[bold red]nothing would be published:[/] {escape(report.problem or '')}")
        return
    if report.published:
        _print_articles(report.published)
    tell(f"{len(report.published)} articles would be published, {len(report.skipped)} entries skipped")
    for reason in report.skipped:
        tell(f"  skipped: {reason}")


def _print_articles(published: list[Published]) -> None:
    from rich.table import Table

    from monitor.feedcheck import language_cell

    table = Table(show_lines=False, pad_edge=False)
    for column in ("#", "published (UTC)", "title", "language", "id", "notes"):
        table.add_column(column, overflow="fold")
    for number, item in enumerate(published, 1):
        a = item.article
        table.add_row(
            str(number),
            f"{a.published_at:%Y-%m-%d %H:%M}",
            escape(a.title or "–"),
            escape(language_cell(a)),
            escape(a.id),
            escape("; ".join(item.notes)),
        )
    out.print(table)


@feeds_app.command("list")
def list_feeds(
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """The feed registry on Kafka with each feed's health: last success, failures, disabled, next poll."""
    from streams.registry import feed_health
    from streams.topics import Topics

    config = as_client(load(config_file))
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
            f"{escape(f.spec.id)}\n[dim]{escape(f.spec.url)}[/]",
            _span(f.spec.interval_seconds),
            f"{_span(now - st.last_success_at)} ago" if st and st.last_success_at else "never",
            escape(st.last_outcome or "–") if st else "not polled yet",
            str(st.consecutive_failures if st else 0),
            _next_poll(st.next_poll_at if st else None, now),
            _feed_status(f.spec.enabled, st),
        )
    out.print(table)
    tell(f"{len(feeds)} feeds on {Topics(config.kafka.topic_prefix).feeds}")


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


def _feed_status(enabled: bool, state: FeedState | None) -> str:
    if state is not None and state.disabled_reason:
        return f"[red]disabled[/]: {escape(state.disabled_reason)}"
    if not enabled:
        return "off (enabled: false)"
    if state is not None and state.consecutive_failures:
        return f"[yellow]failing[/]: {escape(state.last_error or state.last_outcome or '')}"
    return "ok"


@feeds_app.command("sync")
def sync(
    config_file: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; publish nothing.")] = False,
) -> None:
    """Make the feeds topic match the config: publish new/changed feeds, tombstone removed ones.

    `wirewatch run` does this at start-up when the config lists feeds; this
    command also empties the registry when the config lists none.
    """
    from streams.admin import ensure_topics
    from streams.registry import sync_feeds

    config = load(config_file)

    async def go() -> str:
        await ensure_topics(config.kafka, routes=config.routes)
        report = await sync_feeds(config, dry_run=dry_run)
        lines = [report.summary()]
        lines += [f"  + {f}" for f in report.added]
        lines += [f"  ~ {f}" for f in report.changed]
        lines += [f"  - {f}" for f in report.removed]
        return "\n".join(lines)

    text = asyncio.run(go())
    tell(("(dry run) " if dry_run else "") + text)


@feeds_app.command("import")
def import_feeds(
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

    from detectors.durations import parse_duration
    from monitor.opml import import_opml

    try:
        seconds = parse_duration(interval)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--interval") from None
    config = load(config_file, required=False)
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
    say(f"{opml_file}: {len(result.feeds)} feeds imported, {len(result.skipped)} skipped")
    for what, reason in result.skipped:
        say(f"  skipped {what}: {reason}")


@feeds_app.command("export")
def export(
    config_file: ConfigOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the OPML here instead of stdout.")
    ] = None,
) -> None:
    """Write the configured feeds as OPML 2.0, for any feed reader (and `feeds import`)."""
    from monitor.opml import export_opml

    config = load(config_file)
    document = export_opml(config.feeds)
    if output:
        output.write_bytes(document)
    else:
        typer.echo(document.decode(), nl=False)
