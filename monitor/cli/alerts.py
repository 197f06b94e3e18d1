"""``wirewatch alerts tail``: read an alerts topic as a subscriber, filtered, each alert id once."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from detectors.base import Severity
from monitor.cli.common import ConfigOption, as_client, console, escape, load, out, say
from monitor.errors import TopicError

alerts_app = typer.Typer(help="Read alert topics as a subscriber.", no_args_is_help=True)


@alerts_app.command("tail")
def tail(
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

    # the arguments first: a usage error is exit 2 whether or not a broker runs
    if topic and route:
        raise typer.BadParameter("give --topic or --route, not both", param_hint="--route")
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    accept = AlertFilter(frozenset(detector or ()), severity, frozenset(label or ()))
    config = as_client(load(config_file))
    topics = Topics(config.kafka.topic_prefix)
    name = topic or (topics.route(route) if route else topics.alerts)

    async def go() -> None:
        async for item in tail_alerts(config.kafka, name, since=start, follow=follow, accept=accept):
            if isinstance(item, Unreadable):
                console.print(
                    f"[yellow]skipped[/] partition {item.partition} offset {item.offset}: not an alert "
                    f"({escape(str(item.error))})"
                )
            elif as_json:
                typer.echo(alert_json(item))
            else:
                out.print(alert_text(item))

    if not as_json:
        say(f"alerts on {name} ({'following' if follow else 'up to now'}); Ctrl-C stops")
    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        pass
    except (LookupError, KafkaError) as exc:
        raise TopicError(str(exc)) from exc
