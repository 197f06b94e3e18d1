"""Poll stage: every worker polls the feeds of the feeds-topic partitions it owns.

Faust's rules shape this module (see DESIGN.md):

* table writes happen only inside agents: the ``registry`` agent (feeds topic)
  stores each feed's spec, the ``poll_state`` agent (feeds.polls topic) stores
  the state a poll produced — the scheduler itself never writes the table;
* the scheduler takes ownership from the assignment: on revocation it cancels
  in-flight fetches at once (a poll already publishing gets ``PUBLISH_GRACE``
  to finish); on ``on_rebalance_complete`` (sent after the table's active
  partitions recovered) it loads the feeds whose key falls in an owned
  partition — the memory store also holds standby data, so the table is
  filtered by partition, never iterated blindly;
* poll state goes through Kafka, so a restart or a move resumes from the
  table: ETags, seen entries and failure counts survive; the next due time
  too, within ``STATE_HEARTBEAT`` (an unchanged state is not rewritten per
  poll: it carries the seen index, up to 90 KB).

At-least-once: a poll's articles are acknowledged by Kafka before its state is
published; a worker that dies in between makes the next owner poll again and
publish some entries twice (same ids; the sequencer drops exact duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2
from aiokafka.structs import TopicPartition

from monitor.errors import RecordDecodeError
from monitor.fetch import Fetcher, make_client
from monitor.fulltext import FullText, PageResult
from monitor.metrics import Metrics
from monitor.outcomes import Outcome
from monitor.parsing import ParserPool
from monitor.polling import PollOutcome, first_poll_at, poll_feed
from streams.app import StageContext
from streams.connection import aiokafka_options
from streams.deadletter import dead_letter
from streams.records import Article, FeedEntry, FeedSpec, FeedState

log = logging.getLogger(__name__)
STAGE = "poll"
STATE_HEARTBEAT = 3600.0  # republish an unchanged state at least this often
PUBLISH_GRACE = 5.0  # longest wait, during a rebalance, for polls that are publishing


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java's and aiokafka's) gives ``key``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass
class OwnedFeed:
    spec: FeedSpec
    state: FeedState
    written_at: float = 0.0  # when our last state for it went to Kafka
    task: asyncio.Task[None] | None = None
    generation: int = 0
    publishing: bool = False


def _newer(a: FeedState | None, b: FeedState | None) -> FeedState | None:
    if a is None or b is None:
        return a or b
    return a if (a.last_attempt_at or 0) >= (b.last_attempt_at or 0) else b


def _state_changed(before: FeedState, after: FeedState, outcome: PollOutcome) -> bool:
    if outcome.articles:
        return True
    keys = (
        "etag",
        "last_modified",
        "body_hash",
        "seen",
        "consecutive_failures",
        "consecutive_404",
        "disabled_reason",
    )
    return any(getattr(before, k) != getattr(after, k) for k in keys)


class PollScheduler:
    """Per-worker scheduler of the owned feeds' polls."""

    def __init__(self, ctx: StageContext, table: Any) -> None:
        self.ctx = ctx
        self.table = table
        self.settings = ctx.config.polling
        self.metrics: Metrics = ctx.metrics
        self.partitions = ctx.config.kafka.partitions
        self.feeds: dict[str, OwnedFeed] = {}
        self.owned: set[int] = set()
        self._cache: dict[str, FeedState] = {}  # our latest state per feed, across rebalances
        self._heap: list[tuple[float, int, str]] = []
        self._wake = asyncio.Event()
        self._ready = False
        self._rng = random.Random()
        self.fetcher: Fetcher | None = None
        self.parser: ParserPool | None = None
        self.fulltext: FullText | None = None
        self.articles_topic = ctx.raw_topic(ctx.topics.articles_raw)
        self.polls_topic = ctx.raw_topic(ctx.topics.feed_polls)

    # ---------------------------------------------------------- ownership

    async def on_revoked(self, revoked: set[Any]) -> None:
        """Stop polling the lost partitions' feeds before the rebalance completes.

        A fetch in flight is cancelled; a poll already publishing is allowed to
        finish (briefly), so its state is on the poll-state topic before the
        next owner reads it — cancelling it there would make the next owner
        publish the same entries again.
        """
        lost = {tp.partition for tp in revoked if tp.topic == self.ctx.topics.feeds}
        if not lost:
            return
        self.owned -= lost
        self._ready = False
        finishing = []
        for feed_id in [f for f in self.feeds if self._partition(f) in lost]:
            owned = self.feeds[feed_id]
            if owned.publishing and owned.task is not None:
                finishing.append(owned.task)
                self.feeds.pop(feed_id)
                self.metrics.forget_feed(feed_id)
            else:
                self._drop(feed_id)
        if finishing:
            await asyncio.wait(finishing, timeout=PUBLISH_GRACE)
            for task in finishing:
                task.cancel()
        self.metrics.feeds_owned.set(len(self.feeds))

    async def on_assigned(self, assignment: set[Any]) -> None:
        """After recovery: load every feed of an owned partition from the table.

        Poll results still in flight on the poll-state topic (published by the
        previous owner, not yet applied to the table by the poll-state agent)
        are newer than the table. They are read here, from the group's
        committed offset to the end, before any feed of the partition is
        polled — else the new owner would poll with stale state and publish
        entries again.
        """
        self.owned = {tp.partition for tp in assignment if tp.topic == self.ctx.topics.feeds}
        for feed_id in [f for f in self.feeds if self._partition(f) not in self.owned]:
            self._drop(feed_id)
        for state in (await self._unapplied_states(sorted(self.owned))).values():
            self._cache[state.feed_id] = _newer(state, self._cache.get(state.feed_id)) or state
        for key, value in list(self.table.items()):
            feed_id = key.decode() if isinstance(key, bytes) else str(key)
            if self._partition(feed_id) in self.owned and value is not None:
                try:
                    entry = FeedEntry.decode(value)
                except RecordDecodeError:
                    log.warning("feeds table: unreadable entry for %s ignored", feed_id)
                    continue
                self._adopt(entry.spec, entry.state)
        self._ready = True
        self.metrics.feeds_owned.set(len(self.feeds))
        log.info("polling %d feeds of partitions %s", len(self.feeds), sorted(self.owned))
        self._wake.set()

    async def _unapplied_states(self, partitions: list[int]) -> dict[str, FeedState]:
        """The newest state per feed on the poll-state topic past the group's committed offsets."""
        if not partitions:
            return {}
        topic = self.ctx.topics.feed_polls
        tps = [TopicPartition(topic, p) for p in partitions]
        options = aiokafka_options(self.ctx.config.kafka)
        newest: dict[str, FeedState] = {}
        try:
            admin = AIOKafkaAdminClient(**options)
            await admin.start()
            try:
                committed = await admin.list_consumer_group_offsets(
                    self.ctx.config.worker.app_id, partitions=tps
                )
            finally:
                await admin.close()
            consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
            await consumer.start()
            try:
                consumer.assign(tps)
                ends = await consumer.end_offsets(tps)
                for tp in tps:
                    meta = committed.get(tp)
                    if meta is not None and meta.offset >= 0:
                        consumer.seek(tp, meta.offset)
                    else:
                        await consumer.seek_to_beginning(tp)
                starts = {tp.partition: await consumer.position(tp) for tp in tps}
                async with asyncio.timeout(30):
                    while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                        for records in (await consumer.getmany(*tps, timeout_ms=500)).values():
                            for record in records:
                                with contextlib.suppress(RecordDecodeError):
                                    state = FeedState.decode(record.value)
                                    newest[state.feed_id] = _newer(state, newest.get(state.feed_id)) or state
            finally:
                await consumer.stop()
            log.info(
                "read %d in-flight poll states (partition: from → to %s)",
                len(newest),
                {p: f"{starts[p]} → {ends[TopicPartition(topic, p)]}" for p in starts},
            )
        except Exception as exc:  # never stop polling over this; at worst some entries go out twice
            log.warning("could not read in-flight poll state (%s); the table's state is used", exc)
        return newest

    def _partition(self, feed_id: str) -> int:
        return partition_of(feed_id.encode(), self.partitions)

    def _drop(self, feed_id: str) -> None:
        owned = self.feeds.pop(feed_id, None)
        if owned and owned.task and not owned.task.done():
            owned.task.cancel()  # a move cancels the in-flight fetch
        self.metrics.forget_feed(feed_id)

    def _adopt(self, spec: FeedSpec, state: FeedState | None) -> None:
        current = self.feeds.get(spec.id)
        candidates = (state, self._cache.get(spec.id), current.state if current else None)
        state = None
        for candidate in candidates:  # the newest state that belongs to this URL
            if candidate is not None and candidate.url in (None, spec.url):
                state = _newer(state, candidate)
        if state is None:
            state = FeedState(feed_id=spec.id, url=spec.url)  # new feed, or its URL changed: start afresh
        elif state.url is None:
            state = state.model_copy(update={"url": spec.url})
        now = time.time()
        if state.next_poll_at is None:
            state = state.model_copy(
                update={"next_poll_at": first_poll_at(now, self.settings, spec, self._rng)}
            )
        elif state.next_poll_at < now - spec.interval_seconds:
            # long overdue (an unchanged state is only written hourly, or the feed sat unowned):
            # spread such feeds out instead of firing them all at once
            spread = min(spec.interval_seconds, self.settings.first_poll_spread)
            state = state.model_copy(update={"next_poll_at": now + self._rng.uniform(0, spread)})
        owned = current or OwnedFeed(spec, state)
        owned.spec, owned.state = spec, state
        owned.generation += 1
        self.feeds[spec.id] = owned
        self._publish_gauges(owned)
        if spec.enabled and not state.disabled_reason:
            heapq.heappush(self._heap, (state.next_poll_at or 0.0, owned.generation, spec.id))
            self._wake.set()

    # ---------------------------------------------------------- agent callbacks

    def on_spec(self, feed_id: str, spec: FeedSpec | None) -> None:
        """The registry agent saw a change for a feed of an owned partition."""
        if spec is None:
            self._drop(feed_id)
            self._cache.pop(feed_id, None)
        elif self._ready:
            self._adopt(spec, None)
        self.metrics.feeds_owned.set(len(self.feeds))

    def on_state(self, state: FeedState) -> None:
        """A poll state reached the table (ours, or a previous owner's still in flight)."""
        owned = self.feeds.get(state.feed_id)
        if (
            owned is not None
            and owned.task is None
            and _newer(state, owned.state) is state
            and state is not owned.state
        ):
            owned.state = state
            self._publish_gauges(owned)

    # ---------------------------------------------------------- the loop

    async def run(self) -> None:
        pages = self.ctx.config.fulltext
        self.fetcher = Fetcher(make_client(self.settings), self.settings, page_concurrency=pages.concurrency)
        self.parser = ParserPool(self.settings.parse_workers, self.settings.parse_timeout)
        self.fulltext = FullText(pages, self.fetcher, self.settings.user_agent)
        try:
            while True:
                await self._dispatch_due()
        finally:
            for owned in self.feeds.values():
                if owned.task:
                    owned.task.cancel()
            await self.fetcher.client.aclose()
            self.parser.close()
            self.fulltext.close()

    async def _dispatch_due(self) -> None:
        self._wake.clear()
        now = time.time()
        while self._ready and self._heap and self._heap[0][0] <= now:
            _, generation, feed_id = heapq.heappop(self._heap)
            owned = self.feeds.get(feed_id)
            if owned is None or owned.generation != generation or owned.task is not None:
                continue  # dropped, rescheduled since, or already polling
            owned.task = asyncio.create_task(self._poll(owned), name=f"poll:{feed_id}")
        delay = (self._heap[0][0] - now) if (self._ready and self._heap) else 60.0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, min(delay, 60.0)))

    async def _poll(self, owned: OwnedFeed) -> None:
        assert self.fetcher is not None
        assert self.parser is not None
        spec, before = owned.spec, owned.state
        next_at = time.time() + spec.interval_seconds
        outcome: PollOutcome | None = None
        failed: Outcome | None = None
        try:
            outcome = await poll_feed(spec, before, self.fetcher, self.parser, self.settings, rng=self._rng)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("poll of %s raised (a bug); retrying in %.0fs", spec.id, spec.interval_seconds)
            failed = Outcome.INTERNAL_ERROR
        if outcome is not None:
            try:
                await self._publish(spec, before, outcome, owned)
            except asyncio.CancelledError:
                raise
            except Exception:
                # the broker is away or refused: keep the old state, poll again next interval
                log.exception(
                    "publishing the poll of %s failed; retrying in %.0fs", spec.id, spec.interval_seconds
                )
                outcome, failed = None, Outcome.PUBLISH_ERROR
        owned.task = None
        if outcome is not None:
            self._cache[spec.id] = outcome.state
        if self.feeds.get(spec.id) is not owned:
            return  # dropped (moved, removed) while polling: its series are gone, record nothing
        if failed is not None:
            self.metrics.feed_polls.labels(spec.id, failed).inc()
        if owned.spec.url != spec.url:
            return  # the URL changed mid-poll: _adopt reset the state and scheduled the new URL
        if outcome is not None:
            self._record(spec, outcome)
            owned.state = outcome.state
            self._publish_gauges(owned)
            if outcome.state.disabled_reason:
                return
            next_at = outcome.state.next_poll_at or next_at
        if not owned.spec.enabled:
            return  # disabled in the registry while polling
        owned.generation += 1
        heapq.heappush(self._heap, (next_at, owned.generation, spec.id))
        self._wake.set()

    async def _publish(
        self, spec: FeedSpec, before: FeedState, outcome: PollOutcome, owned: OwnedFeed
    ) -> None:
        # each article goes out the moment its page is done (or needs none); until the state is
        # written a revocation cancels the poll: the next owner polls again and republishes
        # (same ids and revisions: the sequencer gives them their stored decisions back)
        deadline = time.monotonic() + self.ctx.config.fulltext.budget
        now = datetime.now(UTC)
        pending: list[asyncio.Future[Any]] = []

        async def send(article: Article) -> None:
            pending.append(await self.articles_topic.send(key=article.id.encode(), value=article.encode()))

        async def fill_and_send(article: Article) -> None:
            assert self.fulltext is not None
            page = await self.fulltext.fill(article, deadline)
            self._record_page(spec, page)
            await send(page.article)

        wants = self.fulltext.wants if self.fulltext is not None else (lambda *_: False)
        waiting = [a for a in outcome.articles if wants(a, spec, now)]
        waits = {id(a) for a in waiting}
        for article in outcome.articles:  # those that need no page first, one after another, in feed order
            if id(article) not in waits:
                await send(article)
        async with asyncio.TaskGroup() as group:  # the others as their pages are done
            for article in waiting:
                group.create_task(fill_and_send(article))
        owned.publishing = True  # from here on a revocation lets the poll finish (see on_revoked)
        try:
            await asyncio.gather(*pending)  # articles acknowledged before the state that records them
            now_s = time.time()
            if _state_changed(before, outcome.state, outcome) or now_s - owned.written_at > STATE_HEARTBEAT:
                delivered = await self.polls_topic.send(key=spec.id.encode(), value=outcome.state.encode())
                await delivered
                owned.written_at = now_s
        finally:
            owned.publishing = False

    def _record_page(self, spec: FeedSpec, page: PageResult) -> None:
        m = self.metrics
        m.fulltext_pages.labels(spec.id, page.outcome).inc()
        m.fulltext_wait.labels("true" if page.extracted else "false").observe(page.seconds)
        if page.extract_seconds is not None:
            m.fulltext_extract_duration.observe(page.extract_seconds)
        if page.extracted:
            m.fulltext_chars.observe(page.chars)
        if page.bytes:
            m.fulltext_bytes.inc(page.bytes)
        log.debug("page %s: %s %s", page.article.url, page.outcome, page.detail)

    def _record(self, spec: FeedSpec, outcome: PollOutcome) -> None:
        m = self.metrics
        m.feed_polls.labels(spec.id, outcome.outcome).inc()
        if outcome.fetch is not None:
            m.feed_fetch_duration.labels(outcome.fetch.outcome).observe(outcome.fetch.elapsed)
        if outcome.parse_seconds is not None:
            m.feed_parse_duration.observe(outcome.parse_seconds)
        for kind, count in (("new", outcome.new), ("updated", outcome.updated), ("seen", outcome.seen)):
            if count:
                m.feed_items.labels(spec.id, kind).inc(count)
        if outcome.articles:
            m.articles.labels(STAGE).inc(len(outcome.articles))
        level = logging.WARNING if not outcome.succeeded else logging.DEBUG
        log.log(level, "poll %s: %s %s", spec.id, outcome.outcome, outcome.detail)
        if outcome.state.disabled_reason and outcome.outcome in ("http_410", "http_404"):
            log.error("feed %s disabled: %s (%s)", spec.id, outcome.state.disabled_reason, spec.url)

    def _publish_gauges(self, owned: OwnedFeed) -> None:
        if owned.state.last_success_at:
            self.metrics.feed_last_success.labels(owned.spec.id).set(owned.state.last_success_at)
        self.metrics.feed_disabled.labels(owned.spec.id).set(1 if owned.state.disabled_reason else 0)
        self.metrics.feed_poll_interval.labels(owned.spec.id).set(owned.spec.interval_seconds)


def _decode_entry(key: bytes | None, value: bytes | None) -> FeedEntry | None:
    """A table entry, or None when absent or unreadable (e.g. written by a newer version)."""
    if value is None:
        return None
    try:
        return FeedEntry.decode(value)
    except RecordDecodeError as exc:
        log.warning("feeds table: unreadable entry for %r is replaced: %s", key, exc)
        return None


def register(ctx: StageContext) -> None:
    app = ctx.app
    table = app.Table(
        "feeds",
        default=None,
        partitions=ctx.config.kafka.partitions,
        key_type=bytes,
        value_type=bytes,
        extra_topic_configs=ctx.changelog_configs,
    )
    scheduler = PollScheduler(ctx, table)
    ctx.services["poll"] = scheduler
    deadletters = ctx.raw_topic(ctx.topics.deadletter)

    @app.agent(ctx.raw_topic(ctx.topics.feeds), name=f"{ctx.config.worker.app_id}.registry")  # type: ignore[untyped-decorator]
    async def registry(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            key = message.key or b""
            try:
                spec = None if message.value is None else FeedSpec.decode(message.value)
                if spec is not None and spec.id.encode() != key:
                    raise RecordDecodeError(f"FeedSpec id {spec.id!r} does not match its key {key!r}")
            except RecordDecodeError as exc:
                await dead_letter(deadletters, "registry", message, exc, ctx.metrics.deadletters)
                continue
            if spec is None:
                table.pop(key, None)
            else:
                before = _decode_entry(key, table.get(key))
                state = before.state if before and before.spec.url == spec.url else None
                table[key] = FeedEntry(spec=spec, state=state).encode()
            scheduler.on_spec(key.decode(), spec)

    @app.agent(ctx.raw_topic(ctx.topics.feed_polls), name=f"{ctx.config.worker.app_id}.poll_state")  # type: ignore[untyped-decorator]
    async def poll_state(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            try:
                state = FeedState.decode(message.value)
            except RecordDecodeError as exc:
                await dead_letter(deadletters, "poll_state", message, exc, ctx.metrics.deadletters)
                state = None
            entry = _decode_entry(message.key, table.get(message.key)) if state is not None else None
            # no entry: the feed was removed meanwhile; another URL: a poll of the old URL
            if state is not None and entry is not None and state.url in (None, entry.spec.url):
                table[message.key] = entry.model_copy(update={"state": state}).encode()
                scheduler.on_state(state)

    @app.on_partitions_revoked.connect  # type: ignore[untyped-decorator]
    async def _revoked(app: Any, revoked: set[Any], **kwargs: Any) -> None:
        await scheduler.on_revoked(revoked)

    @app.on_rebalance_complete.connect  # type: ignore[untyped-decorator]
    async def _rebalanced(app: Any, **kwargs: Any) -> None:
        await scheduler.on_assigned(set(app.consumer.assignment()))

    @app.task  # type: ignore[untyped-decorator]
    async def _scheduler() -> None:
        await scheduler.run()
