"""``wirewatch stories``: the largest stories, from a backtest's decisions or the live sequenced topic."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli.common import ConfigOption, as_client, console, escape, load, out, say, topics_of
from monitor.errors import TopicError

if TYPE_CHECKING:
    from monitor.story_view import StorySummary


def stories(
    decisions: Annotated[
        Path | None,
        typer.Option(
            help="A `wirewatch backtest --decisions` file (default: the live sequenced topic).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    config_file: ConfigOption = None,
    since: Annotated[
        str,
        typer.Option(help="On the live topic: articles sequenced since (a duration back or an ISO time)."),
    ] = "24h",
    top: Annotated[int, typer.Option(min=1, help="How many stories to show.")] = 20,
    show_closed: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Closed stories too (else only those with an article within `stories.window` "
            "of the newest article).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per story.")] = False,
) -> None:
    """The largest open stories: articles, outlets, time span and first titles.

    See whether grouping works: one story should hold one event's reports across outlets,
    not a topic's.
    """
    from monitor.alert_view import parse_since
    from monitor.story_view import open_at, read_decision_lines, summarize, summary_json

    try:
        start = parse_since(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    config = load(config_file, required=decisions is None)
    if decisions is not None:
        lines = list(read_decision_lines(decisions))
        origin = str(decisions)
    else:
        config = as_client(config)
        origin = topics_of(config).articles_sequenced
        lines = _live_lines(config.kafka, origin, start)
    found = summarize(lines)
    if not show_closed and found:
        newest = max(s.last_at for s in found if s.last_at is not None)
        found = open_at(found, newest, config.pipeline.stories.window)
    if as_json:
        for story in found[:top]:
            typer.echo(json.dumps(summary_json(story), ensure_ascii=False))
        return
    say(
        f"{len(lines)} articles in {len(summarize(lines))} stories ({origin}); "
        f"the {min(top, len(found))} largest {'' if show_closed else 'open '}stories:"
    )
    for story in found[:top]:
        _show(story)


def _show(story: StorySummary) -> None:
    span = ""
    if story.first_at and story.last_at:
        hours = (story.last_at - story.first_at) / timedelta(hours=1)
        span = f"{story.first_at:%Y-%m-%d %H:%M} +{hours:.0f}h"
    outlets = ", ".join(sorted(story.sources)[:4]) + (" …" if len(story.sources) > 4 else "")
    out.print(
        f"[bold]{story.articles:>4}[/] articles, {len(story.sources)} outlets ({escape(outlets)}), "
        f"{story.duplicates} duplicates, {span}  [dim]{story.story_id}[/]"
    )
    for title in story.titles:
        out.print(f"       {escape(title)}")


def _live_lines(kafka: Any, topic: str, since: datetime) -> list[dict[str, Any]]:
    from aiokafka.errors import KafkaError

    from monitor.story_view import decision_line
    from streams.subscribe import Unreadable, read_sequenced

    async def go() -> list[dict[str, Any]]:
        lines: dict[str, dict[str, Any]] = {}  # a redelivery re-sends a line: counted once
        async for item in read_sequenced(kafka, topic, since=since):
            if isinstance(item, Unreadable):
                console.print(f"[yellow]skipped[/] partition {item.partition} offset {item.offset}")
            else:
                line = decision_line(item)
                lines.setdefault(json.dumps(line, sort_keys=True), line)
        return list(lines.values())

    try:
        return asyncio.run(go())
    except (LookupError, KafkaError, OSError) as exc:
        raise TopicError(f"cannot read {topic}: {exc}") from exc
