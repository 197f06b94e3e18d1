"""Dedup stage: the ordered sequencer over the enriched topic's single partition.

Every enriched article gets a decision (first, update, exact or near
duplicate) and a story from ``streams.dedup.sequencer.Sequencer``, whose state
lives in five changelog-backed tables (articles, hashes, window, stories,
meta; one partition each). The result goes to the sequenced topic, and the
detectors run right here, on the same ordered stream (``streams.agents.detect``);
their alerts go to the alerts topic.

Restarts are fast: with ``dedup.store: rocksdb`` the tables persist in the
worker's data directory and recovery reads only the changelog tail, and the
vector index is snapshotted to disk every ``dedup.snapshot_interval``; after
an assignment the stage loads the snapshot and adds only the window entries
after it. Nothing is re-embedded. A worker without a snapshot (a new
machine) rebuilds the index from the window table.

At-least-once: Faust flushes the producer before it commits an offset, so an
article's outputs and table writes are in Kafka before its offset is
committed; a redelivered article gets its stored decision back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from monitor.config import DedupConfig
from monitor.errors import RecordDecodeError
from streams.agents.detect import STATE_TABLE as DETECTOR_TABLE
from streams.agents.detect import DetectStage
from streams.agents.detect import attach as attach_detect
from streams.app import StageContext
from streams.batching import as_current_event, micro_batches
from streams.deadletter import dead_letter
from streams.dedup.facts import prepare as prepare_facts
from streams.dedup.sequencer import Sequencer
from streams.dedup.tables import SequencerState
from streams.records import (
    ArticleState,
    EnrichedArticle,
    SequencedArticle,
    StoryState,
    WindowEntry,
    WireRecord,
)
from streams.tableviews import BufferedView, TableView

log = logging.getLogger(__name__)
STAGE = "dedup"

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R", bound=WireRecord)


class CachedMeta:
    """The sequencer's few numbers (clock, cursors, epoch) as one table entry, written once per article.

    They change with every article; one JSON value under one key costs one
    changelog message instead of one per number.
    """

    KEY = b"meta"

    def __init__(self, table: Any) -> None:
        self.table = table
        raw = table.get(self.KEY)
        self._values: dict[str, float] = json.loads(raw) if raw else {}
        self._dirty = False

    def get(self, key: str, /) -> float | None:
        return self._values.get(key)

    def __setitem__(self, key: str, value: float, /) -> None:
        if self._values.get(key) != value:
            self._values[key] = value
            self._dirty = True

    def delete(self, key: str, /) -> None:
        self._dirty = self._values.pop(key, None) is not None or self._dirty

    def flush(self) -> int:
        """Write the changes (inside the agent, after each batch); returns keys written (0 or 1)."""
        if not self._dirty:
            return 0
        self.table[self.KEY] = json.dumps(self._values).encode()
        self._dirty = False
        return 1


def rocksdb_options(budget: int) -> dict[str, int]:
    """One table's RocksDB settings within ``budget`` bytes: two write buffers, a block cache.

    Faust's defaults (3 x 64 MB write buffers and a 2 GB block cache per table)
    would let five tables grow past 10 GB. A fresh dict per table: Faust's store
    pops keys from the one it is given.
    """
    return {
        "write_buffer_size": budget // 4,
        "max_write_buffer_number": 2,
        "target_file_size_base": max(budget // 4, 8 * 2**20),
        "block_cache_size": budget // 2,
    }


SEQUENCER_TABLES = ("articles", "hashes", "window", "stories", "meta")


def store_options(settings: DedupConfig) -> dict[str, dict[str, int] | None]:
    """Each table's RocksDB options: ``store_memory_mb`` shared by every table the stage opens."""
    names = (*SEQUENCER_TABLES, DETECTOR_TABLE)
    if settings.store != "rocksdb":
        return dict.fromkeys(names)
    share = settings.store_memory_mb * 2**20 // len(names)
    return {name: rocksdb_options(share) for name in names}


def _record_view(table: Any, record: type[R]) -> TableView[str, R]:
    return TableView(table, str.encode, lambda v: v.encode(), record.decode)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8")


class DedupRuntime:
    """The stage's live objects: the sequencer is rebuilt after every (re)assignment."""

    def __init__(self, ctx: StageContext, tables: dict[str, Any]) -> None:
        self.ctx = ctx
        self.tables = tables
        self.sequencer: Sequencer | None = None
        self.meta: CachedMeta | None = None
        self.buffers: list[BufferedView[Any, Any]] = []
        self.snapshot_dir = ctx.config.worker.data_dir / "dedup-index"
        self.last_snapshot = time.monotonic()
        self.last_gauges = 0.0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dedup-snapshot")
        self.lock = asyncio.Lock()  # a batch, a snapshot or a revocation: one at a time

    def _state(self) -> SequencerState:
        t = self.tables
        self.meta = CachedMeta(t["meta"])
        articles = BufferedView(_record_view(t["articles"], ArticleState))
        hashes = BufferedView(TableView(t["hashes"], str.encode, str.encode, _text))
        window: BufferedView[int, WindowEntry] = BufferedView(  # entries are large (vector, text)
            TableView(t["window"], lambda k: str(k).encode(), lambda v: v.encode(), WindowEntry.decode),
            cache_size=20_000,
        )
        stories = BufferedView(_record_view(t["stories"], StoryState))
        self.buffers = [articles, hashes, window, stories]
        return SequencerState(
            articles=articles, hashes=hashes, window=window, stories=stories, meta=self.meta
        )

    def flush(self) -> int:
        """Write the batch's table changes (one changelog message per changed key)."""
        written = sum(buffer.flush() for buffer in self.buffers)
        return written + (self.meta.flush() if self.meta is not None else 0)

    async def ready(self, next_seq: int) -> Sequencer:
        """The sequencer, (re)built after an assignment: tables recovered, index from snapshot + tail.

        Loading and rebuilding run on a thread (a fresh machine adds the whole
        window's vectors), so the event loop keeps serving other agents.
        """
        if self.sequencer is None:
            started = time.monotonic()
            pipeline = self.ctx.config.pipeline
            sequencer = Sequencer(self._state(), pipeline.dedup, pipeline.stories)
            sequencer.epoch  # noqa: B018 — created here, inside the agent, where tables may be written
            self.flush()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.executor, prepare_facts)  # the place rule's gazetteer
            loaded = await loop.run_in_executor(self.executor, sequencer.load_snapshot, self.snapshot_dir)
            added = await loop.run_in_executor(
                self.executor, sequencer.rebuild_index, next_seq, os.cpu_count() or 1
            )
            took = time.monotonic() - started
            self.ctx.metrics.dedup_recovery_seconds.set(took)
            log.info(
                "dedup: index ready in %.1fs (%s, %d vectors added from the window table, %d total)",
                took,
                "snapshot loaded" if loaded else "no usable snapshot",
                added,
                len(sequencer.index) if sequencer.index is not None else 0,
            )
            self.sequencer = sequencer
            self.last_snapshot = time.monotonic()
        return self.sequencer

    async def maybe_snapshot(self, force: bool = False) -> None:
        sequencer = self.sequencer
        interval = self.ctx.config.pipeline.dedup.snapshot_interval
        if sequencer is None or (not force and time.monotonic() - self.last_snapshot < interval):
            return
        self.last_snapshot = time.monotonic()
        loop = asyncio.get_running_loop()
        try:  # the agent awaits this, so the index does not change while it is written
            await loop.run_in_executor(self.executor, sequencer.save_snapshot, self.snapshot_dir)
        except OSError as exc:
            log.warning("dedup: index snapshot failed (restarts will rebuild more): %s", exc)

    def update_gauges(self) -> None:
        if time.monotonic() - self.last_gauges < 1.0:  # once a second is plenty for a scrape
            return
        self.last_gauges = time.monotonic()
        index = self.sequencer.index if self.sequencer is not None else None
        self.ctx.metrics.dedup_index_vectors.set(len(index) if index is not None else 0)
        self.ctx.metrics.dedup_index_bytes.set(index.nbytes() if index is not None else 0)
        self.ctx.metrics.stories_open.set(self.sequencer.stories_open if self.sequencer is not None else 0)


def _store_url(settings: DedupConfig, name: str) -> str:
    # a table's own store URL needs a path (``rocksdb://`` alone is falsy to yarl, and
    # Faust would quietly fall back to the app's memory store); the path names the files
    return f"rocksdb:sequencer-{name}" if settings.store == "rocksdb" else "memory://"


class DedupStage:
    """The dedup stage on one worker: sequence each batch, run the detectors, send what they made.

    Outputs and table writes are not awaited one by one: Faust flushes the
    producer before it commits an offset, so an offset is committed only after
    its outputs and changelog messages are in Kafka.
    """

    def __init__(self, ctx: StageContext, runtime: DedupRuntime, detect: DetectStage) -> None:
        self.ctx, self.runtime, self.detect = ctx, runtime, detect
        self.metrics = ctx.metrics
        self.threads = os.cpu_count() or 1
        self.sink = ctx.raw_topic(ctx.topics.articles_sequenced)
        self.alerts = ctx.raw_topic(ctx.topics.alerts)
        self.deadletters = ctx.raw_topic(ctx.topics.deadletter)
        self._articles = ctx.metrics.articles.labels(STAGE)
        self._by_kind: dict[str, tuple[Any, Any]] = {}

    async def process(self, events: list[Any]) -> None:
        """One micro-batch: decode (bad bytes to dead letters), sequence, detect, flush the tables."""
        runtime, metrics = self.runtime, self.metrics
        sequencer = await runtime.ready(events[0].message.offset)
        await self.detect.ready()
        items: list[tuple[EnrichedArticle, Any]] = []
        for event in events:
            try:
                items.append((EnrichedArticle.decode(event.message.value), event.message))
            except RecordDecodeError as exc:
                await dead_letter(self.deadletters, STAGE, event.message, exc, metrics.deadletters)
        if not items:
            return
        started = time.perf_counter()
        detect_time = 0.0
        # the batch's index search runs on all cores, off the event loop (usearch releases the GIL)
        await asyncio.get_running_loop().run_in_executor(
            runtime.executor, sequencer.begin_batch, [(e, m.offset) for e, m in items], self.threads
        )
        try:
            for enriched, message in items:
                detect_time += await self._one(sequencer, enriched, message)
        finally:
            sequencer.end_batch()
            metrics.dedup_table_writes.inc(runtime.flush() + self.detect.flush())
        metrics.detect_duration.observe(detect_time)
        metrics.dedup_batch_duration.observe(time.perf_counter() - started)
        metrics.dedup_batch_size.observe(len(items))
        runtime.update_gauges()
        await runtime.maybe_snapshot()

    async def _one(self, sequencer: Sequencer, enriched: EnrichedArticle, message: Any) -> float:
        """Sequence one article and run the detectors on it; returns the detectors' time."""
        try:
            out = sequencer.process(enriched, message.offset)
        except Exception as exc:  # a bug or a hostile record: dead-letter it, keep going
            log.exception("dedup: could not sequence %s@%d", message.topic, message.offset)
            await dead_letter(self.deadletters, STAGE, message, exc, self.metrics.deadletters)
            return 0.0
        self._count(out)
        await self.sink.send(key=out.article.id.encode(), value=out.encode())
        detect_started = time.perf_counter()
        try:
            alerts = self.detect.run(out, enriched)
        except Exception:  # the article is sequenced; a detection bug must not stop the stage
            log.exception("detect: failed on %s@%d", message.topic, message.offset)
            self.metrics.detector_errors.labels("(stage)").inc()
            alerts = []
        spent = time.perf_counter() - detect_started
        for alert in alerts:
            await self.alerts.send(key=alert.id.encode(), value=alert.encode())
        return spent

    def _count(self, out: SequencedArticle) -> None:
        metrics = self.metrics
        self._articles.inc()
        if out.replayed:
            metrics.dedup_replays.inc()
            return
        kind = out.decision.kind
        counters = self._by_kind.get(kind)
        if counters is None:  # a labelled child once per kind: ``labels()`` costs more than ``inc()``
            duplicates = metrics.duplicates.labels(kind) if kind in ("exact", "near") else None
            counters = self._by_kind[kind] = (metrics.dedup_decisions.labels(kind), duplicates)
        counters[0].inc()
        if counters[1] is not None:
            counters[1].inc()
        if out.decision.new_story:
            metrics.stories_opened.inc()

    async def on_shutdown(self) -> None:
        # a clean stop may not revoke first: snapshot here too, so a restart adds little
        if self.runtime.sequencer is not None:
            async with self.runtime.lock:
                await self.runtime.maybe_snapshot(force=True)

    async def on_revoked(self, revoked: set[Any]) -> None:
        runtime = self.runtime
        if any(tp.topic == self.ctx.topics.articles_enriched for tp in revoked) and runtime.sequencer:
            async with runtime.lock:
                await runtime.maybe_snapshot(force=True)
                runtime.sequencer = None  # another worker may sequence meanwhile: rebuild on return
                self.detect.reset()  # and its detector state may change meanwhile: read it afresh


def register(ctx: StageContext) -> None:
    app = ctx.app
    settings = ctx.config.pipeline.dedup
    options = store_options(settings)
    tables = {
        name: app.Table(
            f"sequencer-{name}",
            default=None,
            partitions=1,  # like the enriched topic: one ordered sequence, whole state in one place
            key_type=bytes,
            value_type=bytes,
            store=_store_url(settings, name),
            options=options[name],
            extra_topic_configs=ctx.changelog_configs,
        )
        for name in SEQUENCER_TABLES
    }
    runtime = DedupRuntime(ctx, tables)
    ctx.services["dedup"] = runtime
    detect = attach_detect(ctx, _store_url(settings, DETECTOR_TABLE), options[DETECTOR_TABLE])
    stage = DedupStage(ctx, runtime, detect)

    source = ctx.raw_topic(ctx.topics.articles_enriched)

    @app.agent(source, name=f"{ctx.config.worker.app_id}.dedup")  # type: ignore[untyped-decorator]
    async def dedup(stream: Any) -> None:
        # micro-batches acknowledged after processing (``micro_batches``; not take_events,
        # whose buffer lost an event across a rebalance in our drill)
        async for events in micro_batches(stream, settings.batch_size, settings.batch_wait):
            async with runtime.lock:
                with as_current_event(events[-1]):
                    await stage.process(events)

    @app.on_before_shutdown.connect  # type: ignore[untyped-decorator]
    async def _shutdown(app: Any, **kwargs: Any) -> None:
        await stage.on_shutdown()

    @app.on_partitions_revoked.connect  # type: ignore[untyped-decorator]
    async def _revoked(app: Any, revoked: set[Any], **kwargs: Any) -> None:
        await stage.on_revoked(revoked)
