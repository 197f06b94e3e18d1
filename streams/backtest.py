"""Detectors over an archive without Kafka: what would have fired, and when.

The same stages the workers run, in one process and in memory: the embedding
model (or none, ``embed=False``: then duplicates are only recognised by id and
content), the sequencer (dedup decisions and stories), and the detectors
engine with its state in a dict. Articles go through in publication order, so
sequences, novelty and bursts see the stream they would have seen live. Use it
to tune a detectors document before ``wirewatch detectors apply``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from detectors.store import MemoryStore
from monitor.config import DetectorsDocument, WirewatchConfig
from streams.agents.detect import alert_record, article_context, build_engine
from streams.dedup.sequencer import Sequencer
from streams.dedup.tables import SequencerState
from streams.gc_policy import relax_gc
from streams.records import Alert, Article, EnrichedArticle, SequencedArticle

if TYPE_CHECKING:
    from streams.embedder import Embedder

BATCH = 64  # articles embedded together


@dataclass
class Fired:
    """An alert and the publication time of the article that triggered it (the backtest's clock)."""

    at: datetime
    alert: Alert


@dataclass
class BacktestReport:
    articles: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    stories: int = 0
    fired: list[Fired] = field(default_factory=list)
    matches: Counter[str] = field(default_factory=Counter)  # detector → articles matched
    held: Counter[tuple[str, str]] = field(default_factory=Counter)  # (detector, reason)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (detector, article, error)
    disabled: dict[str, str] = field(default_factory=dict)  # detector → last error, past `error_limit`


def backtest(
    articles: list[Article],
    document: DetectorsDocument,
    config: WirewatchConfig,
    *,
    embed: bool = True,
    progress: Callable[[int], None] = lambda _: None,
    on_sequenced: Callable[[SequencedArticle], None] = lambda _: None,
) -> BacktestReport:
    """Run ``articles`` (in publication order) through dedup, stories and the detectors.

    ``on_sequenced`` sees every article's dedup decision and story, in order
    (``wirewatch backtest --decisions``).
    """
    encoder = None
    if embed:
        from streams.embedder import Embedder, prepare_backend

        prepare_backend(config.pipeline.embed)  # before the sequencer's index loads usearch
        encoder = Embedder(config.pipeline.embed)
    relax_gc()  # a backtest is a long run of the same stages
    engine = build_engine(document, encoder.encode if encoder is not None else None)
    sequencer = Sequencer(SequencerState.in_memory(), config.pipeline.dedup, config.pipeline.stories)
    store: MemoryStore[str, Any] = MemoryStore()
    report = BacktestReport()
    for start in range(0, len(articles), BATCH):
        batch = articles[start : start + BATCH]
        for seq, enriched in enumerate(_enrich(batch, encoder), start):
            out = sequencer.process(enriched, seq)
            on_sequenced(out)
            report.decisions[out.decision.kind] += 1
            report.stories += int(out.decision.new_story)
            context = article_context(out, enriched)
            outcome = engine.evaluate(context, store)
            report.matches.update(outcome.found.keys())
            report.held.update((d, reason.split(" ")[0]) for d, reason in outcome.held)
            report.errors.extend((d, context.id, e) for d, e in outcome.errors)
            report.disabled.update(outcome.disabled)
            at = datetime.fromtimestamp(context.at, UTC)
            for firing in outcome.firings:  # fired when its article was published: the backtest's clock
                alert = alert_record(firing, context, engine.version).model_copy(update={"fired_at": at})
                report.fired.append(Fired(at, alert))
        report.articles += len(batch)
        progress(len(batch))
    return report


def _enrich(batch: list[Article], encoder: Embedder | None) -> list[EnrichedArticle]:
    now = datetime.now(UTC)
    if encoder is None:
        return [
            EnrichedArticle.of(a, None, "none", now, skipped_reason="backtest without embeddings")
            for a in batch
        ]
    from streams.agents.embed import enrich

    return enrich(batch, encoder)
