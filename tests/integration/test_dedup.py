"""The dedup stage on the real broker: decisions across workers, and across a killed worker."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import WirewatchConfig
from streams.dedup.sequencer import Sequencer
from streams.dedup.tables import SequencerState
from streams.records import Article, Decision, EnrichedArticle, SequencedArticle
from streams.topics import Topics
from tests import factories
from tests.feed_server import SHARED
from tests.kafka_fixtures import sibling_worker, write_config
from tests.kafka_helpers import produce, read_all

T0 = datetime(2025, 3, 18, 12, 0, tzinfo=UTC)


def article(article_id: str, feed: str, title: str, summary: str, minute: int = 0) -> Article:
    at = T0 + timedelta(minutes=minute)
    return factories.article(article_id, title, summary, feed=feed, at=at, language="en")


async def sequenced(
    config: WirewatchConfig, deliveries: int, timeout: float = 120.0
) -> list[SequencedArticle]:
    """Read the sequenced topic until ``deliveries`` distinct (article, feed, content) have arrived."""
    topic = Topics(config.kafka.topic_prefix).articles_sequenced
    deadline = time.monotonic() + timeout
    out: list[SequencedArticle] = []
    while time.monotonic() < deadline:
        out = [SequencedArticle.decode(r.value) for r in await read_all(config, topic)]
        if len({(s.article.id, s.article.feed_id, s.content_hash) for s in out}) >= deliveries:
            return out
        await asyncio.sleep(1)
    topics = Topics(config.kafka.topic_prefix)
    enriched = await read_all(config, topics.articles_enriched)
    dead = await read_all(config, topics.deadletter)
    ids = sorted(EnrichedArticle.decode(r.value).article.id for r in enriched)
    raise AssertionError(
        f"{len(out)} sequenced records, wanted {deliveries} deliveries ({len(enriched)} enriched: {ids}; "
        f"{len(dead)} dead letters): "
        f"{sorted((s.article.id, s.article.feed_id, s.decision.seq, s.replayed) for s in out)}"
    )


SWAP = (
    "Russia and Ukraine exchange 175 prisoners of war",
    "Russia and Ukraine exchanged 175 prisoners of war on Wednesday, hours after a call between "
    "Vladimir Putin and Donald Trump, officials in Kyiv and Moscow said.",
)
SWAP_REWORDED = (
    "Ukraine and Russia swap 175 prisoners of war",
    "Officials in Moscow and Kyiv said Russia and Ukraine exchanged 175 prisoners of war on Wednesday, "
    "hours after a call between Donald Trump and Vladimir Putin.",
)
SWAP_OTHER_COUNT = (
    "Russia and Ukraine exchange 90 prisoners of war",
    "Russia and Ukraine exchanged 90 prisoners of war on Wednesday, hours after a call between "
    "Vladimir Putin and Donald Trump, officials in Kyiv and Moscow said.",
)
FOOTBALL = ("Arsenal beat Chelsea 2-0", "Arsenal beat Chelsea 2-0 in the Premier League on Sunday.")


async def test_one_report_through_feeds_on_two_workers_has_one_first_seen_article(
    wirewatch_config, worker_factory, tmp_path
) -> None:
    config = wirewatch_config(worker={"stages": ["embed", "dedup"]})
    worker_factory(config)
    worker_factory(sibling_worker(config, "b"))
    topics = Topics(config.kafka.topic_prefix)

    swap = [
        article("reuters-swap", "reuters", *SWAP),
        article("reuters-swap", "yahoo", *SWAP, minute=1),  # the same URL through an aggregator's feed
        article("ap-swap", "ap", *SWAP_REWORDED, minute=2),
        article("bbc-swap", "bbc", *SWAP, minute=3),  # the wire copy under the BBC's own URL
    ]
    other = [article("tass-swap", "tass", *SWAP_OTHER_COUNT, minute=4), article("sport-1", "bbc", *FOOTBALL)]
    partitioner = DefaultPartitioner()
    raw_partitions = {partitioner(a.id.encode(), [0, 1], [0, 1]) for a in swap}
    assert raw_partitions == {0, 1}, "the copies are embedded by different workers"
    await produce(config, topics.articles_raw, [(a.id.encode(), a.encode()) for a in swap + other])

    records = await sequenced(config, len(swap) + len(other))
    by_delivery = {(s.article.id, s.article.feed_id): s for s in records if not s.replayed}
    group = [by_delivery[(a.id, a.feed_id)] for a in swap]
    firsts = [s for s in group if s.decision.kind == "first"]
    assert len(firsts) == 1, "\n".join(
        f"{s.article.id}/{s.article.feed_id}: {s.decision.kind} seq={s.decision.seq} "
        f"dup_of={s.decision.duplicate_of} replayed={s.replayed}"
        for s in records
    )
    first = firsts[0]
    for s in group:
        assert s.decision.story_id == first.decision.story_id
        if s is not first:
            assert s.decision.kind in ("exact", "near")
            assert s.decision.duplicate_of == first.article.id
    kinds = sorted(s.decision.kind for s in group)
    assert kinds.count("near") >= 1, kinds
    assert kinds.count("exact") >= 1, kinds
    latest_story = max(group, key=lambda s: s.decision.seq).story
    assert latest_story.members >= 4
    assert latest_story.source_count >= 4

    counted = by_delivery[("tass-swap", "tass")]
    assert counted.decision.kind == "first", "90 prisoners is not the report of 175: it may be news"
    assert counted.decision.story_id == first.decision.story_id, "but it is the same story"
    sport = by_delivery[("sport-1", "bbc")]
    assert sport.decision.new_story
    assert sport.decision.story_id != first.decision.story_id

    # what `wirewatch stories` shows of the live topic: the swap's story first, with every outlet
    args = ["stories", "-c", str(write_config(config, tmp_path / "w.yaml")), "--since", "1h", "--json"]
    shown = await asyncio.to_thread(CliRunner().invoke, app, args)  # the CLI runs its own event loop
    assert shown.exit_code == 0, shown.output
    stories = [json.loads(line) for line in shown.output.splitlines() if line.startswith("{")]
    assert stories[0]["story_id"] == first.decision.story_id, stories
    assert stories[0]["articles"] == len(swap) + 1  # the four copies and the report of 90
    assert {s["story_id"] for s in stories} == {first.decision.story_id, sport.decision.story_id}


def ag_news(n: int) -> list[tuple[str, str]]:
    with (SHARED / "corpus" / "ag-news-test.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1 : n + 1]
    return [(title, description.replace("\\", " ")) for _label, title, description in rows]


@pytest.mark.slow
async def test_a_killed_dedup_worker_is_replaced_and_the_replacement_decides_the_same(
    wirewatch_config, worker_factory
) -> None:
    config = wirewatch_config(worker={"stages": ["embed", "dedup"]}, pipeline={"dedup": {"store": "rocksdb"}})
    topics = Topics(config.kafka.topic_prefix)
    texts = ag_news(40)
    phase1 = [article(f"ag-{i}", "wire", *texts[i], minute=i) for i in range(20)]
    phase2 = (
        [article(f"ag-{i}", "wire", *texts[i], minute=i) for i in range(20, 30)]
        + [article(f"copy-{i}", "mirror", *texts[i], minute=30 + i) for i in range(5)]  # same text, new id
        + [
            article(f"ag-{i}", "portal", *texts[i], minute=35 + i) for i in range(5, 10)
        ]  # same id, other feed
        + [
            article(f"re-{i}", "rewrite", f"{texts[i][0]}: {texts[i][1]}", "", minute=40 + i)  # reworded
            for i in range(10, 15)
        ]
    )
    first_worker = worker_factory(config)
    await produce(config, topics.articles_raw, [(a.id.encode(), a.encode()) for a in phase1])
    await sequenced(config, len(phase1))
    worker_factory(sibling_worker(config, "b"))  # joins the group; the sequencer partition stays where it is

    await produce(config, topics.articles_raw, [(a.id.encode(), a.encode()) for a in phase2[:10]])
    first_worker.kill()  # mid-stream: some of these may be sequenced, some not, none committed for sure
    await produce(config, topics.articles_raw, [(a.id.encode(), a.encode()) for a in phase2[10:]])
    records = await sequenced(config, len(phase1) + len(phase2), timeout=180)

    # the reference: one uninterrupted sequencer over the same enriched stream, in memory
    enriched = await read_all(config, topics.articles_enriched)
    reference = Sequencer(
        SequencerState.in_memory(),
        config.pipeline.dedup,
        config.pipeline.stories,
    )
    expected = {}
    for record in sorted(enriched, key=lambda r: r.offset):
        out = reference.process(EnrichedArticle.decode(record.value), record.offset)
        expected.setdefault((out.article.id, out.article.feed_id), out.decision)

    def essence(decision: Decision) -> tuple[object, ...]:
        # similarities may differ in the last digits (int8 vectors, a graph built in another process)
        return tuple(decision.model_dump(exclude={"similarity", "probability"}).values())

    seen: dict[tuple[str, str], set[tuple[object, ...]]] = defaultdict(set)
    for s in records:
        want = expected[(s.article.id, s.article.feed_id)]
        seen[(s.article.id, s.article.feed_id)].add(essence(s.decision))
        assert essence(s.decision) == essence(want), (s.article.id, s.decision, want)
        assert (s.decision.similarity is None) == (want.similarity is None)
        if want.similarity is not None:
            assert abs((s.decision.similarity or 0) - want.similarity) < 0.01
    assert set(seen) == set(expected)
    assert all(len(v) == 1 for v in seen.values()), "a replay never changes a decision"
    kinds = defaultdict(int)
    for decision in expected.values():
        kinds[decision.kind] += 1
    assert kinds["exact"] == 10, dict(kinds)
    assert kinds["near"] >= 3, dict(kinds)
