"""Detect stage: the detectors run on every sequenced article, inside the sequencer's ordered stream.

Stateful detectors (sequence, novelty, burst, cooldowns) need every article
in one place and in one order, so detection is not an agent of its own: the
dedup agent hands each batch's sequenced articles here, on the enriched
topic's single partition, and the detectors' state lives in one
changelog-backed table (``detector-state``, one partition) written once per
changed key per batch, like the sequencer's.

At-least-once without duplicate alerts: an alert's id is the hash of its
detector and event key, so a re-run yields the same id; the engine remembers
alert ids it sent, so an update of an alerted article does not alert again;
and the alerts an article caused are stored with it, so a redelivered
article (``replayed``) gets exactly those alerts re-sent (same ids) without
running the detectors twice over its state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from detectors.base import ArticleContext
from detectors.engine import FIRED_MEMORY, Engine, Firing, Outcome
from detectors.state import Expiring
from monitor.config import DetectorsDocument
from streams.app import StageContext
from streams.control import DetectorsFollower
from streams.heap import settle
from streams.records import Alert, Article, ArticleRef, EnrichedArticle, SequencedArticle
from streams.tableviews import BufferedView, TableView

log = logging.getLogger(__name__)
STATE_TABLE = "detector-state"  # on the dedup worker, within its store budget (streams.agents.dedup)


def context_of(article: Article, **decided: Any) -> ArticleContext:
    """An article as detectors see it (event time: published, never after fetched).

    ``decided`` adds what the sequencer decided (decision, story, vector); without
    it, as in a dry run, the article is its own story.
    """
    published = min(article.published_at, article.fetched_at)
    return ArticleContext(
        id=article.id,
        title=article.title,
        summary=article.summary,
        content=article.content,
        source=article.source,
        url=article.url,
        at=published.timestamp(),
        published_at=published.isoformat(),
        language=article.lang,
        **{"story_id": article.id, **decided},
    )


def article_context(out: SequencedArticle, enriched: EnrichedArticle | None) -> ArticleContext:
    """The sequenced article as detectors see it."""
    vector = enriched.vector() if enriched is not None and enriched.dim else None
    return context_of(
        out.article,
        revision=out.decision.revision,
        decision=out.decision.kind,
        duplicate_of=out.decision.duplicate_of,
        story_id=out.story.id,
        story_title=out.story.title,
        story_members=out.story.members,
        story_sources=out.story.sources,
        new_story=out.decision.new_story,
        vector=vector,
    )


def build_engine(document: DetectorsDocument, encode: Any = None) -> Engine:
    return Engine(
        list(document.detectors),
        {e.id: e for e in document.entities},
        version=document.content_version(),
        encode=encode,
    )


def alert_record(firing: Firing, article: ArticleContext, version: str) -> Alert:
    spec, finding = firing.spec, firing.finding
    refs = [ArticleRef.model_validate(r) for r in (*finding.related, article.ref())]
    refs.sort(key=lambda r: r.published_at)
    return Alert(
        id=firing.alert_id,
        detector_id=spec.id,
        detector_kind=spec.kind,
        severity=spec.severity,
        title=f"{spec.description or spec.id}: {article.title}",
        summary=article.summary[:500],
        fired_at=datetime.now(UTC),
        articles=tuple(refs),
        evidence={
            **finding.evidence,
            "story": {
                "id": article.story_id,
                "title": article.story_title,
                "members": article.story_members,
                "sources": list(article.story_sources),
            },
            "config_version": version,
            # the group this alert stands for (`group_by`): with a cooldown, the first report of a
            # group to reach the sequencer alerts for all of it
            **({"group": finding.group} if spec.group_by == "key" else {}),
        },
        story_id=article.story_id,
        labels=spec.labels,
        config_version=version,
    )


class DetectStage:
    """The engine in force and its state table, driven by the dedup agent batch by batch."""

    def __init__(self, ctx: StageContext, table: Any, engine: Engine) -> None:
        self.ctx = ctx
        self.engine = engine
        self.table = table
        self.view = self._view()
        self.releases: Releases | None = None
        self.disabled: dict[str, str] = {}  # as last reported (metrics, log)
        self._show_version(engine)

    def _show_version(self, engine: Engine) -> None:
        metrics = self.ctx.metrics
        metrics.detectors_version.clear()
        metrics.detectors_version.labels(engine.version).set(1)
        metrics.detector_disabled.clear()
        for spec in engine.specs:
            metrics.detector_disabled.labels(spec.id).set(1 if spec.id in self.disabled else 0)

    def _view(self) -> BufferedView[str, Any]:
        encode = lambda v: json.dumps(v, separators=(",", ":")).encode()  # noqa: E731
        return BufferedView(TableView(self.table, str.encode, encode, json.loads), cache_size=20_000)

    def reset(self) -> None:
        """Forget cached state (after a revocation another worker may have written the table)."""
        self.view = self._view()

    def use(self, engine: Engine) -> None:
        """Switch to another document's detectors (state of detectors kept by id)."""
        self.engine = engine
        self.disabled = {}  # learnt again from the store with the next article
        self._show_version(engine)

    def run(self, out: SequencedArticle, enriched: EnrichedArticle | None) -> list[Alert]:
        """Alerts for one sequenced article (stored with it, for a redelivery)."""
        replay_key = f"alerts/{out.article.id}/{out.decision.revision}"
        expiring = Expiring(self.view)
        if out.replayed:
            stored = expiring.get(replay_key) or []
            return [Alert.model_validate(a) for a in stored]
        metrics = self.ctx.metrics
        article = article_context(out, enriched)
        outcome = self.engine.evaluate(article, self.view)
        for detector_id in outcome.found:
            metrics.detector_matches.labels(detector_id).inc()
        for detector_id, reason in outcome.held:
            metrics.detector_held.labels(detector_id, reason.split(" ")[0]).inc()
        for detector_id, _ in outcome.errors:
            metrics.detector_errors.labels(detector_id).inc()
        for detector_id in outcome.evaluated:
            metrics.detector_evaluations.labels(detector_id).inc()
        if outcome.disabled != self.disabled:
            self._report_disabled(outcome)
        alerts = [alert_record(f, article, self.engine.version) for f in outcome.firings]
        if alerts:
            expiring.set(
                replay_key,
                [a.model_dump(mode="json") for a in alerts],
                max(article.at, expiring.clock) + FIRED_MEMORY,
            )
            now = time.time()
            since_published = max(now - article.at, 0.0)  # event time: published, never after fetched
            since_fetched = max(now - out.article.fetched_at.timestamp(), 0.0)
            for alert in alerts:
                metrics.alerts.labels(alert.detector_id, alert.severity.value).inc()
                metrics.alert_latency.labels("published").observe(since_published)
                metrics.alert_latency.labels("fetched").observe(since_fetched)
        return alerts

    def _report_disabled(self, outcome: Outcome) -> None:
        faults = self.engine.faults(self.view)
        for detector_id, error in outcome.disabled.items():
            if detector_id in self.disabled:
                continue
            errors = faults.get(detector_id, (0, error))[0]
            if detector_id in outcome.newly_disabled:
                log.error(
                    "detect: detector %s disabled after %d errors (last: %s); the others go on. "
                    "Fix its definition and apply it again (`wirewatch detectors apply`).",
                    detector_id,
                    errors,
                    error,
                )
            else:  # learnt from the state table (a restart, another worker's decision)
                log.error("detect: detector %s is disabled (%d errors, last: %s)", detector_id, errors, error)
            self.ctx.metrics.detector_disabled.labels(detector_id).set(1)
        self.disabled = dict(outcome.disabled)

    def flush(self) -> int:
        return self.view.flush()

    async def ready(self) -> None:
        """Before the first article: the latest detectors release is in force."""
        if self.releases is not None:
            await self.releases.ready()


class Releases:
    """Follows the control topic and switches the stage to each valid detectors release."""

    def __init__(self, ctx: StageContext, stage: DetectStage) -> None:
        self.ctx = ctx
        self.stage = stage
        self.follower = DetectorsFollower(ctx.config, self.switch, self.rejected)

    async def switch(self, document: DetectorsDocument | None) -> None:
        document = document or self.ctx.config.detectors_document()
        if document.content_version() == self.stage.engine.version:
            return

        def build(document: DetectorsDocument = document) -> Engine:  # the model, gazetteer, examples: slow
            return build_engine(document, encoder(self.ctx) if needs_model(document) else None)

        engine = await asyncio.get_running_loop().run_in_executor(None, build)
        self.stage.use(engine)
        log.info(
            "detect: switched to detectors version %s (%d detectors)", engine.version, len(engine.detectors)
        )

    def rejected(self, reason: str) -> None:
        self.ctx.metrics.detectors_rejected.inc()

    async def ready(self, within: float = 60.0) -> None:
        """Wait (once, at start) until the control topic has been read to its end."""
        if self.follower.caught_up.is_set():
            return
        try:
            await asyncio.wait_for(self.follower.caught_up.wait(), within)
        except TimeoutError:
            log.warning(
                "detect: the control topic was not read within %.0fs; going on with version %s",
                within,
                self.stage.engine.version,
            )
            self.follower.caught_up.set()


def attach(ctx: StageContext, store: str, options: dict[str, int] | None) -> DetectStage:
    """The detect stage for the dedup agent: its state table and the configured detectors."""
    table = ctx.app.Table(
        STATE_TABLE,
        default=None,
        partitions=1,  # the enriched topic's single partition: every article, one order
        key_type=bytes,
        value_type=bytes,
        store=store,
        options=options,
        extra_topic_configs=ctx.changelog_configs,
    )
    document = ctx.config.detectors_document()
    started = time.monotonic()
    engine = build_engine(document, encoder(ctx) if needs_model(document) else None)
    settle("building the detectors")
    log.info(
        "detect: %d detectors (version %s) ready in %.1fs",
        len(engine.detectors),
        engine.version,
        time.monotonic() - started,
    )
    stage = DetectStage(ctx, table, engine)
    stage.releases = Releases(ctx, stage)
    ctx.services["detect"] = stage

    @ctx.app.task  # type: ignore[untyped-decorator]
    async def follow_control_topic() -> None:
        assert stage.releases is not None
        await stage.releases.follower.run()

    return stage


def needs_model(document: DetectorsDocument) -> bool:
    return any(d.kind == "semantic" and d.enabled for d in document.detectors)


def encoder(ctx: StageContext) -> Any:
    """The worker's embedding model, for the examples of semantic detectors (loaded once)."""
    return ctx.embedder().encode
