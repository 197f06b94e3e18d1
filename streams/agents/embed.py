"""Embed stage: raw articles → enriched articles (vector, content hash, model id).

Reads bytes in micro-batches (``pipeline.embed.batch_size`` / ``batch_wait``;
``streams.batching``, acked only after the batch is done),
decodes inside the loop (bad bytes go to the dead-letter topic), encodes on a
worker thread so heartbeats and other agents keep running, and waits for the
enriched records to be acknowledged by Kafka before the batch's offsets can be
committed: at-least-once. The next batch is queued on the model's thread while
the last one is sent (``send_in_order``), so the model does not wait for them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import RecordDecodeError
from streams.app import StageContext
from streams.batching import Acks, alongside, micro_batches
from streams.deadletter import dead_letter
from streams.embedder import Embedder
from streams.heap import settle
from streams.records import Article, EnrichedArticle

log = logging.getLogger(__name__)
STAGE = "embed"


def enrich(articles: list[Article], embedder: Embedder) -> list[EnrichedArticle]:
    """Encode the articles that have text; pass the others on with a reason."""
    texts = [a.text_for_embedding() for a in articles]
    has_text = [i for i, text in enumerate(texts) if text]
    vectors = embedder.encode([texts[i] for i in has_text])
    by_index = dict(zip(has_text, vectors, strict=True))
    now = datetime.now(UTC)
    return [
        EnrichedArticle.of(
            article,
            by_index.get(i),
            embedder.model_id,
            now,
            skipped_reason=None if i in by_index else "no title or text to embed",
        )
        for i, article in enumerate(articles)
    ]


def register(ctx: StageContext) -> None:
    settings = ctx.config.pipeline.embed
    source = ctx.raw_topic(ctx.topics.articles_raw)
    sink = ctx.raw_topic(ctx.topics.articles_enriched)
    deadletters = ctx.raw_topic(ctx.topics.deadletter)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
    state: dict[str, Embedder] = {}
    ctx.preparing[STAGE] = f"loading the embedding model {settings.model}"

    async def embedder() -> Embedder:
        if "model" not in state:  # load once per worker, off the event loop
            loop = asyncio.get_running_loop()
            state["model"] = await loop.run_in_executor(executor, ctx.embedder)
            settle("loading the embedding model")
            ctx.preparing.pop(STAGE, None)
            log.info("embedding model %s loaded (dim %d)", settings.model, state["model"].dim)
        return state["model"]

    @ctx.app.agent(source, name=f"{ctx.config.worker.app_id}.embed")  # type: ignore[untyped-decorator]
    async def embed(stream: Any) -> None:
        model = await embedder()
        loop = asyncio.get_running_loop()
        acks = Acks()
        # The batch after this one is decoded and queued on the model's thread while this one is
        # encoded, sent and acknowledged: the thread goes from one encode to the next without waiting
        # for the event loop (busy with the other stages), the sends or Kafka's acks.
        encoded: asyncio.Queue[_InFlight] = asyncio.Queue(maxsize=1)
        encodings: set[asyncio.Future[Any]] = set()
        try:
            async with alongside(send_in_order(encoded, acks)):
                async for events in micro_batches(stream, settings.batch_size, settings.batch_wait, acks):
                    articles: list[Article] = []
                    for event in events:
                        try:
                            articles.append(Article.decode(event.message.value))
                        except RecordDecodeError as exc:
                            await dead_letter(deadletters, STAGE, event.message, exc, ctx.metrics.deadletters)
                    encoding = None
                    if articles:
                        encoding = loop.run_in_executor(executor, timed_enrich, articles, model)
                        encodings.add(encoding)
                        encoding.add_done_callback(encodings.discard)
                    await encoded.put(_InFlight(events, encoding))
        finally:
            # Encodes still queued when the agent stops (shutdown, a failed send) are dropped, not
            # run: their batches are not acked, so they come again. A running one finishes into a
            # cancelled future, which is quiet even after the event loop has closed.
            for pending in list(encodings):
                pending.cancel()

    async def send_in_order(encoded: asyncio.Queue[_InFlight], acks: Acks) -> None:
        """Each batch's records sent and acknowledged by Kafka, then its events acked: in arrival order."""
        while True:
            batch = await encoded.get()
            if batch.encoding is not None:
                enriched, seconds = await batch.encoding
                ctx.metrics.embed_duration.observe(seconds)
                ctx.metrics.embed_batch_size.observe(len(enriched))
                pending = [await sink.send(key=e.article.id.encode(), value=e.encode()) for e in enriched]
                # wait, not gather: stopping this task must not cancel the sends' futures, whose
                # cancellation Faust's own callback logs as an error (Topic._on_published)
                if pending:
                    await asyncio.wait(pending)
                for sent in pending:
                    sent.result()  # a refused send ends the agent, as before
                ctx.metrics.articles.labels(STAGE).inc(len(enriched))
            await acks.ack(batch.events)


@dataclass(frozen=True)
class _InFlight:
    events: list[Any]
    encoding: asyncio.Future[tuple[list[EnrichedArticle], float]] | None  # None: nothing to encode


def timed_enrich(articles: list[Article], embedder: Embedder) -> tuple[list[EnrichedArticle], float]:
    """``enrich`` and its duration, measured on the model's thread (not the wait for the loop)."""
    started = time.perf_counter()
    enriched = enrich(articles, embedder)
    return enriched, time.perf_counter() - started
