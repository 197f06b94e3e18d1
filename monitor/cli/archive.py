"""``wirewatch replay`` and ``wirewatch backtest``: an archive into the pipeline, or through it in memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.common import ConfigOption, as_client, console, escape, load, out, progress, say, topics_of
from monitor.config import WirewatchConfig
from monitor.errors import ArchiveError, TopicError
from monitor.loading import load_detectors

if TYPE_CHECKING:
    from streams.records import Article, SequencedArticle

ArchivePath = Annotated[
    Path,
    typer.Argument(
        help="A .jsonl file of articles, a saved feed (.xml, .rss, .atom), or a folder of saved polls.",
        exists=True,
    ),
]


def _archive(path: Path, config: WirewatchConfig, feed_id: str | None) -> list[Article]:
    from monitor.archive import load_archive

    say(f"reading {path}…")
    articles = load_archive(path, config.polling, feed_id)
    if not articles:
        raise ArchiveError(f"{path}: no articles in this archive")
    first, last = articles[0].published_at, articles[-1].published_at
    say(f"{len(articles)} articles published {first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} UTC")
    return articles


def _decision_writer(stack: contextlib.ExitStack, path: Path | None) -> Callable[[SequencedArticle], None]:
    """Writes each sequenced article's decision line to ``path`` (nothing without one)."""
    if path is None:
        return lambda _: None
    from monitor.story_view import decision_line

    try:
        f = stack.enter_context(path.open("w", encoding="utf-8"))
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot write the decisions ({exc.strerror})") from None

    def write(sequenced: SequencedArticle) -> None:
        f.write(json.dumps(decision_line(sequenced), ensure_ascii=False) + "\n")

    return write


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

    config = as_client(load(config_file))
    articles = _archive(archive, config, feed_id)

    async def go() -> None:
        await ensure_topics(config.kafka, routes=config.routes)
        with progress() as bar:
            task = bar.add_task("replaying", total=len(articles))
            await send_articles(config, articles, lambda n: bar.advance(task, n))

    try:
        asyncio.run(go())
    except (OSError, TimeoutError) as exc:
        raise TopicError(f"cannot reach Kafka: {exc}") from exc
    say(f"sent {len(articles)} articles to {topics_of(config).articles_raw}")


def backtest(
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
    decisions: Annotated[
        Path | None,
        typer.Option(
            help="Also write every article's dedup decision and story here, one JSON object per line "
            "(id, url, decision, duplicate_of, story_id, …); read it with `wirewatch stories`.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run detectors over an archive without Kafka: what fires, on which article, and when.

    The workers' own stages, in memory: the model, dedup and stories, then the detectors, in
    publication order. Tune a document here, then `wirewatch detectors apply` it.
    """
    from monitor.alert_view import alert_json, alert_text
    from streams.backtest import backtest as run_backtest

    config = load(config_file, required=False)
    document = load_detectors(detectors_file)
    articles = _archive(archive, config, feed_id)
    with contextlib.ExitStack() as stack:
        write = _decision_writer(stack, decisions)
        bar = stack.enter_context(progress())
        task = bar.add_task("backtest", total=len(articles))
        report = run_backtest(
            articles,
            document,
            config,
            embed=embed,
            progress=lambda n: bar.advance(task, n),
            on_sequenced=write,
        )
    if decisions is not None:
        say(f"decisions of {report.articles} articles in {decisions}")
    for fired in report.fired:
        if as_json:
            typer.echo(alert_json(fired.alert))
        else:
            out.print(f"[bold]{fired.at:%Y-%m-%d}[/] ", end="")
            out.print(alert_text(fired.alert))
    kinds = ", ".join(f"{n} {kind}" for kind, n in report.decisions.most_common())
    by_detector = Counter(f.alert.detector_id for f in report.fired)
    say(
        f"{report.articles} articles ({kinds}), {report.stories} stories, {len(report.fired)} alerts"
        + (": " + ", ".join(f"{d} {n}" for d, n in by_detector.most_common()) if by_detector else "")
    )
    for detector_id, count in report.matches.most_common():
        held = {r: n for (d, r), n in report.held.items() if d == detector_id}
        say(f"  {detector_id}: {count} matches, held {held or 0}")
    for detector_id, article_id, error in report.errors[:10]:
        console.print(f"  [red]{escape(detector_id)} failed on {escape(article_id)}[/]: {escape(str(error))}")
    for detector_id, error in report.disabled.items():
        console.print(
            f"  [red]{escape(detector_id)} disabled[/] after its error limit (last: {escape(str(error))}); "
            "a worker would stop running it too"
        )
