"""The worker's event loop, uvloop against the standard library's: the loop thread's CPU per unit of I/O.

Run: ``pytest tests/benchmarks/test_event_loop_bench.py -m benchmark -s`` (about two minutes;
part of ``make bench``).

Why a benchmark of its own: ``make bench-pipeline`` cannot tell a 10-20% change
in one thread's CPU from this machine's drift between runs (the model alone
measured 132 and 111 articles/s in back-to-back runs). This one measures only
the I/O the worker's loop carries, on the loop's own thread
(``time.thread_time``), and alternates the two loops round by round, so a
drift hits both alike:

* pages: 200 article pages in the pipeline benchmark's template (~257 KB of
  navigation, inline state and styles around the text) fetched through the
  production ``Fetcher`` (httpx), 8 at a time, from a local server in another
  thread;
* Kafka: 4,000 records of ~1.5 KB (an article's size) produced with
  aiokafka (acks=all) to the session's broker and read back by a consumer.

Figures: the median of 3 rounds per loop, in CPU ms per page and per record,
and the ratio uvloop / asyncio.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from monitor.config import PollingConfig
from monitor.fetch import Fetcher, make_client
from monitor.outcomes import Outcome
from streams.admin import ensure_topics
from streams.connection import aiokafka_options
from streams.topics import Topics
from tests.benchmarks.pipeline import Story, render_page
from tests.feed_server import FeedServer

pytestmark = pytest.mark.benchmark

PAGES = 200
RECORDS = 4000
ROUNDS = 3
LOOPS = ("asyncio", "uvloop")


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_cpu_ms(kind: str, work: Callable[[], Awaitable[int]]) -> float:
    """CPU ms of the loop's thread per unit of ``work`` (which returns how many units it did)."""
    loop = new_loop(kind)
    try:
        started = time.thread_time()
        units = loop.run_until_complete(work())
        return (time.thread_time() - started) * 1000 / units
    finally:
        loop.close()


def fetch_pages(server: FeedServer, paths: list[str]) -> Callable[[], Awaitable[int]]:
    polling = PollingConfig(per_host_concurrency=8, per_host_spacing=0, concurrency=8)

    async def work() -> int:
        client = make_client(polling)
        fetcher = Fetcher(client, polling, 8)
        try:
            results = await asyncio.gather(*(fetcher.fetch(server.url(p), page=True) for p in paths))
        finally:
            await client.aclose()
        assert all(r.outcome == Outcome.OK and len(r.body) > 200_000 for r in results)
        return len(results)

    return work


def kafka_round_trip(options: dict[str, Any], topic: str, value: bytes) -> Callable[[], Awaitable[int]]:
    async def work() -> int:
        producer = AIOKafkaProducer(**options, acks="all", linger_ms=5)
        consumer = AIOKafkaConsumer(
            topic, **options, group_id=None, auto_offset_reset="latest", enable_auto_commit=False
        )
        await producer.start()
        await consumer.start()
        try:
            while not consumer.assignment():  # partitions come with the metadata; start at their end
                await consumer.getmany(timeout_ms=100)
            for tp in consumer.assignment():
                await consumer.seek_to_end(tp)
                await consumer.position(tp)
            sent = [await producer.send(topic, value, key=str(i).encode()) for i in range(RECORDS)]
            await asyncio.gather(*sent)
            got, deadline = 0, time.monotonic() + 60
            while got < RECORDS and time.monotonic() < deadline:
                got += sum(len(b) for b in (await consumer.getmany(timeout_ms=500)).values())
        finally:
            await consumer.stop()
            await producer.stop()
        assert got == RECORDS, got
        return RECORDS * 2  # each record sent once and read once

    return work


def test_uvloop_against_asyncio(wirewatch_config, record_result) -> None:  # type: ignore[no-untyped-def]
    server = FeedServer().start()
    published = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)
    paths = [f"/p/{n}" for n in range(PAGES)]
    for n, path in enumerate(paths):
        story = Story("ag", n, f"Report {n}", "A teaser of the report.", ("First paragraph.", "Second."))
        server.set(path, render_page(story, published), headers={"Content-Type": "text/html"})
    config = wirewatch_config()
    asyncio.run(ensure_topics(config.kafka))
    topic = Topics(config.kafka.topic_prefix).articles_raw
    options = aiokafka_options(config.kafka)
    value = b'{"title": "' + b"x" * 1500 + b'"}'
    pages: dict[str, list[float]] = {k: [] for k in LOOPS}
    kafka: dict[str, list[float]] = {k: [] for k in LOOPS}
    try:
        for kind in LOOPS:  # warm both: imports, connections, the broker's first writes
            loop_cpu_ms(kind, fetch_pages(server, paths[:20]))
            loop_cpu_ms(kind, kafka_round_trip(options, topic, value))
        for number in range(ROUNDS):
            for kind in LOOPS if number % 2 == 0 else LOOPS[::-1]:
                pages[kind].append(loop_cpu_ms(kind, fetch_pages(server, paths)))
                kafka[kind].append(loop_cpu_ms(kind, kafka_round_trip(options, topic, value)))
                page, record = pages[kind][-1], kafka[kind][-1]
                print(f"  round {number + 1} {kind}: page {page:.3f} ms, record {record:.4f} ms")
    finally:
        server.stop()
    figures: dict[str, Any] = {"pages": PAGES, "records": RECORDS, "rounds": ROUNDS}
    for name, runs in (("page_fetch", pages), ("kafka_record", kafka)):
        medians = {kind: statistics.median(runs[kind]) for kind in LOOPS}
        figures[name] = {
            **{f"{kind}_cpu_ms": round(medians[kind], 4) for kind in LOOPS},
            **{f"{kind}_rounds": [round(x, 4) for x in runs[kind]] for kind in LOOPS},
            "uvloop_over_asyncio": round(medians["uvloop"] / medians["asyncio"], 3),
        }
    record_result("event_loop", **figures)
