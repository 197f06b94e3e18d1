"""``wirewatch detectors ...``: the kinds, check and list a document, dry runs, and releases on Kafka.

The dry run (``test``) needs no Kafka: the same engine the workers run, on an
in-memory state, over the articles given (in order, so sequences, novelty and
bursts behave as they would on a stream). ``apply`` and ``current`` publish
and read releases on the control topic.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from detectors.base import ArticleContext
from detectors.engine import Engine, Outcome
from detectors.registry import KINDS
from detectors.store import MemoryStore
from monitor.cli.common import ConfigOption, escape, load, say, tell
from monitor.cli.common import out as console  # results on stdout: copied and grepped
from monitor.config import DetectorsDocument
from monitor.errors import ArchiveError
from monitor.loading import load_detectors

detectors_app = typer.Typer(
    help="Detectors: kinds, validation, dry runs, and the release in force on Kafka.", no_args_is_help=True
)


@detectors_app.command("kinds")
def kinds() -> None:
    """Every detector kind with what it does and its keys."""
    for name, spec in KINDS.items():
        console.print(f"[bold]{name}[/bold] — {escape((spec.__doc__ or '').strip())}")
        for field, info in spec.model_fields.items():
            if field in ("id", "kind") or field in _COMMON:
                continue
            default = (
                "" if info.is_required() else f" (default {info.get_default(call_default_factory=True)!r})"
            )
            console.print(f"    [cyan]{field}[/cyan]{escape(default)}: {escape(info.description or '')}")
    console.print("\n[bold]every kind[/bold] also takes: " + ", ".join(sorted(_COMMON)))


_COMMON = {"description", "severity", "cooldown", "group_by", "labels", "enabled", "alert", "alert_on"}


@detectors_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Detectors document or wirewatch.yaml.")]) -> None:
    """Validate a detectors document; errors name the key and the line."""
    document = load_detectors(file)
    alerting = sum(1 for d in document.detectors if d.alert and d.enabled)
    tell(
        f"OK — {len(document.detectors)} detectors ({alerting} alerting), "
        f"{len(document.entities)} entities, version {document.content_version()}"
    )


@detectors_app.command("list")
def list_detectors(
    file: Annotated[Path, typer.Argument(help="Detectors document or wirewatch.yaml.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per detector.")] = False,
) -> None:
    """The detectors of a document: id, kind, severity, labels, what they read, and what they watch for.

    For the release in force on Kafka, see `wirewatch detectors current`.
    """
    from rich.table import Table

    document = load_detectors(file)
    if as_json:
        for d in document.detectors:
            typer.echo(json.dumps(d.model_dump(mode="json") | {"kind": d.kind}, ensure_ascii=False))
        return
    table = Table(pad_edge=False)
    for column in ("id", "kind", "severity", "labels", "alerts", "reads", "description"):
        table.add_column(column, overflow="fold")
    for d in document.detectors:
        alerts = "yes" if d.alert else "no (building block)"
        if not d.enabled:
            alerts = "disabled"
        table.add_row(
            d.id,
            d.kind,
            d.severity.value,
            escape(", ".join(d.labels)),
            alerts,
            ", ".join(sorted(d.requires())),
            escape(d.description),
        )
    console.print(table)


def _articles(texts: list[str], jsonl: Path | None, strict: bool) -> list[ArticleContext]:
    """``--text`` titles (typed together: one time for all), then the ``--jsonl`` lines in file order."""
    from monitor.archive import read_article_lines
    from streams.agents.detect import context_of

    now = datetime.now(UTC).timestamp()
    out = [ArticleContext(id=f"text-{i}", title=t, at=now, story_id=f"text-{i}") for i, t in enumerate(texts)]
    if jsonl is not None:
        lines = read_article_lines(jsonl, "test", strict=strict)
        if (message := lines.undated_message(jsonl)) is not None:
            say(f"warning: {message}")
        out += [context_of(a) for a in lines.articles]
    return out


@detectors_app.command("test")
def dry_run(
    file: Annotated[Path, typer.Argument(help="Detectors document or wirewatch.yaml.")],
    text: Annotated[
        list[str] | None, typer.Option("--text", "-t", help="An article title (repeatable).")
    ] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="Articles, one JSON object per line (Article records).")
    ] = None,
    show_held: Annotated[
        bool, typer.Option("--held", help="Also show matches that did not alert, building blocks included.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='One JSON object per line: alerts as Alert records; with --held, {"held": true, ...} too.',
        ),
    ] = False,
    strict: Annotated[
        bool, typer.Option(help="A --jsonl line without `published_at`/`published` is an error.")
    ] = False,
) -> None:
    """Run the detectors on articles, in order, and print what would fire and why (no Kafka)."""
    from monitor.alert_view import alert_json
    from streams.agents.detect import alert_record

    document: DetectorsDocument = load_detectors(file)
    try:
        articles = _articles(text or [], jsonl, strict)
    except ArchiveError as exc:
        raise typer.BadParameter(str(exc), param_hint="--jsonl") from None
    if not articles:
        raise typer.BadParameter("give articles with --text or --jsonl")
    encode = None
    if any(d.kind == "semantic" and d.enabled for d in document.detectors):
        from monitor.config import EmbedConfig
        from streams.embedder import Embedder

        embedder = Embedder(EmbedConfig())
        encode = embedder.encode
        vectors = embedder.encode([f"{a.title}\n{a.summary or a.content}".strip() for a in articles])
        for article, vector in zip(articles, vectors, strict=True):
            article.vector = vector
    entities = {e.id: e for e in document.entities}
    engine = Engine(list(document.detectors), entities, document.content_version(), encode)
    store: MemoryStore[str, Any] = MemoryStore()
    fired = 0
    for article in articles:
        outcome = engine.evaluate(article, store)
        fired += len(outcome.firings)
        held = [*outcome.held, *_building_blocks(engine, outcome)] if show_held else []
        if as_json:
            for firing in outcome.firings:
                typer.echo(alert_json(alert_record(firing, article, engine.version)))
            for detector_id, reason in held:
                line = {"held": True, "detector_id": detector_id, "article_id": article.id, "reason": reason}
                typer.echo(json.dumps(line, ensure_ascii=False))
        else:
            _print_outcome(article, outcome, held)
        for detector_id, error in outcome.errors:
            say(f"error {detector_id} on {article.id}: {error}")
    summary = f"{fired} alert(s) from {len(articles)} article(s), version {engine.version}"
    (say if as_json else tell)(summary)


def _building_blocks(engine: Engine, outcome: Outcome) -> list[tuple[str, str]]:
    """Matches of ``alert: false`` detectors: found, never alerting (the engine holds no reason for them)."""
    silent = {s.id for s in engine.specs if not s.alert}
    return [(d, "building block (alert: false)") for d in outcome.found if d in silent]


def _print_outcome(article: ArticleContext, outcome: Outcome, held: list[tuple[str, str]]) -> None:
    for firing in outcome.firings:
        spec = firing.spec
        console.print(
            f"[bold red]ALERT[/bold red] {spec.id} \\[{spec.severity.value}] on {escape(article.id)}: "
            + escape(article.title)
        )
        tell(f"      id {firing.alert_id}")
        for related in firing.finding.related:
            tell(f"      with {related['id']}: {related['title']}")
        tell("      why: " + json.dumps(firing.finding.evidence, ensure_ascii=False))
    for detector_id, reason in held:
        console.print(f"[dim]held  {escape(detector_id)} on {escape(article.id)}: {escape(reason)}[/dim]")


@detectors_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="Detectors document (or a wirewatch.yaml) to put in force.")],
    config_file: ConfigOption = None,
) -> None:
    """Validate a detectors document and publish it to the control topic; workers switch without a restart.

    Nothing is published unless the whole document validates (errors name the key and line).
    """
    from streams.admin import ensure_topics
    from streams.control import publish_detectors

    document = load_detectors(file)
    config = load(config_file, required=False)

    async def go() -> str:
        await ensure_topics(config.kafka, routes=config.routes)
        release = await publish_detectors(config, document, file.name)
        return release.version

    version = asyncio.run(go())
    tell(f"applied {file} as version {version}: {len(document.detectors)} detectors")


@detectors_app.command("current")
def current(config_file: ConfigOption = None) -> None:
    """The detectors release in force on the control topic."""
    from streams.control import current_release

    config = load(config_file, required=False)
    release = asyncio.run(current_release(config))
    if release is None:
        tell("no release applied: workers use the detectors of their own config")
        return
    ids = [d.get("id") for d in release.document.get("detectors", [])]
    tell(
        f"version {release.version}, applied {release.published_at:%Y-%m-%d %H:%M:%S %Z} from "
        f"{release.source or '?'}: {', '.join(map(str, ids))}"
    )
