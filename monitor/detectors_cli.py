"""``wirewatch detectors ...``: list the kinds, check a document, dry-run detectors on articles.

The dry run needs no Kafka: the same engine the workers run, on an in-memory
state, over the articles given (in order, so sequences, novelty and bursts
behave as they would on a stream).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.registry import KINDS
from detectors.store import MemoryStore
from monitor.config import DetectorsDocument
from monitor.config import load_detectors as _load_detectors
from monitor.errors import ConfigError

EXIT_CONFIG = 3  # as every `wirewatch` command: an invalid file


def load_detectors(file: Path) -> DetectorsDocument:
    """The document, or its errors printed (each with key and line) and exit code 3."""
    try:
        return _load_detectors(file)
    except ConfigError as exc:
        console.print(f"[bold red]invalid detectors[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


detectors_app = typer.Typer(help="Detectors: kinds, validation and dry runs.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)  # long lines stay whole: they are copied and grepped


@detectors_app.command("kinds")
def kinds() -> None:
    """Every detector kind with what it does and its keys."""
    for name, spec in KINDS.items():
        console.print(f"[bold]{name}[/bold] — {(spec.__doc__ or '').strip()}")
        for field, info in spec.model_fields.items():
            if field in ("id", "kind") or field in _COMMON:
                continue
            default = (
                "" if info.is_required() else f" (default {info.get_default(call_default_factory=True)!r})"
            )
            console.print(f"    [cyan]{field}[/cyan]{default}: {info.description or ''}")
    console.print("\n[bold]every kind[/bold] also takes: " + ", ".join(sorted(_COMMON)))


_COMMON = {"description", "severity", "cooldown", "group_by", "labels", "enabled", "alert", "alert_on"}


@detectors_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Detectors document or wirewatch.yaml.")]) -> None:
    """Validate a detectors document; errors name the key and the line."""
    document = load_detectors(file)
    alerting = sum(1 for d in document.detectors if d.alert and d.enabled)
    console.print(
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
            ", ".join(d.labels),
            alerts,
            ", ".join(sorted(d.requires())),
            escape(d.description),
        )
    console.print(table)


def _articles(texts: list[str], jsonl: Path | None) -> list[ArticleContext]:
    now = datetime.now(UTC)
    out = [
        ArticleContext(id=f"text-{i}", title=t, at=now.timestamp() + i, story_id=f"text-{i}")
        for i, t in enumerate(texts)
    ]
    if jsonl is not None:
        for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(f"{jsonl}:{n}: not JSON: {exc}", param_hint="--jsonl") from None
            raw = raw.get("article", raw)  # a SequencedArticle or EnrichedArticle line works too
            published = raw.get("published_at")
            at = datetime.fromisoformat(published).timestamp() if published else now.timestamp() + n
            out.append(
                ArticleContext(
                    id=str(raw.get("id", f"line-{n}")),
                    title=raw.get("title", ""),
                    summary=raw.get("summary", ""),
                    content=raw.get("content", ""),
                    source=raw.get("source", ""),
                    url=raw.get("url", ""),
                    at=at,
                    published_at=published or "",
                    story_id=str(raw.get("id", f"line-{n}")),
                )
            )
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
    show_held: Annotated[bool, typer.Option("--held", help="Also show matches that did not alert.")] = False,
) -> None:
    """Run the detectors on articles, in order, and print what would fire and why (no Kafka)."""
    document: DetectorsDocument = load_detectors(file)
    articles = _articles(text or [], jsonl)
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
        for firing in outcome.firings:
            fired += 1
            spec = firing.spec
            console.print(
                f"[bold red]ALERT[/bold red] {spec.id} \\[{spec.severity.value}] on {article.id}: "
                + escape(article.title)
            )
            console.print(f"      id {firing.alert_id}")
            for related in firing.finding.related:
                console.print(f"      with {related['id']}: {related['title']}")
            console.print("      why: " + json.dumps(firing.finding.evidence, ensure_ascii=False))
        if show_held:
            for detector_id, reason in outcome.held:
                console.print(f"[dim]held  {detector_id} on {article.id}: {reason}[/dim]")
        for detector_id, error in outcome.errors:
            console.print(f"[yellow]error {detector_id} on {article.id}: {error}[/yellow]")
    console.print(f"{fired} alert(s) from {len(articles)} article(s), version {engine.version}")
