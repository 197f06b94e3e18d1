"""The detect stage on the real broker: the shipped example detectors on a stream built from the
seed report, interleaved with unrelated news — exactly the expected alerts, once each — and a
redelivered stream that brings back the same alerts (same ids, same records), never new ones."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema

from monitor.config import WirewatchConfig
from monitor.loading import load_detectors
from streams.records import Alert, Article, EnrichedArticle
from streams.topics import Topics
from tests import factories
from tests.integration.test_dedup import ag_news
from tests.kafka_helpers import produce, read_all

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 18, 14, 0, tzinfo=UTC)

SEED_STREAM = [  # (id, minutes after T0, title, summary) — the events of the seed report
    (
        "call",
        0,
        "Trump and Putin hold lengthy phone call on Ukraine war",
        "The two presidents discussed a 30-day ceasefire proposed by the U.S.",
    ),
    ("truce", 20, "Kremlin considers US plan for 30-day ceasefire", "Talks on a truce continue."),
    (
        "energy",
        60,
        "Putin agrees to halt strikes on energy infrastructure, rejects full ceasefire",
        "The agreement covers energy facilities for 30 days.",
    ),
    (
        "raid",
        95,
        "Air raid alarm in Kyiv shortly after the call, explosions heard",
        "Residents of the capital were urged to seek shelter.",
    ),
    (
        "pows",
        130,
        "Russia and Ukraine to exchange 175 prisoners of war on Wednesday",
        "23 critically injured soldiers will also be returned to Ukraine.",
    ),
    (
        "znpp",
        160,
        "Zaporizhzhia nuclear power plant not discussed, White House says",
        "The fate of the plant remains open.",
    ),
]
EXPECTED = {
    ("air-raid-after-call", "raid"),
    ("strike", "raid"),
    ("new-ceasefire-term", "energy"),
    ("prisoner-exchange", "pows"),
    ("znpp-watch", "znpp"),
}


def article(article_id: str, minute: int, title: str, summary: str, feed: str = "wire") -> Article:
    at = T0 + timedelta(minutes=minute)
    return factories.article(
        article_id, title, summary, feed=feed, at=at, fetched_after=timedelta(minutes=1), language="en"
    )


def stream() -> list[EnrichedArticle]:
    news = ag_news(30)
    articles = []
    for i, (aid, minute, title, summary) in enumerate(SEED_STREAM):
        articles.append(article(aid, minute, title, summary))
        articles.extend(article(f"ag-{i}-{j}", minute + 1 + j, *news[i * 5 + j]) for j in range(5))
    # the exchange again from another feed (same id: an exact duplicate) — no second alert
    articles.append(article("pows", 135, *SEED_STREAM[4][2:], feed="mirror"))
    now = datetime.now(UTC)
    return [
        EnrichedArticle.of(a, None, "none", now, skipped_reason="detect test: no vectors") for a in articles
    ]


async def alerts(
    config: WirewatchConfig, at_least: int, settle: float = 5.0, timeout: float = 120.0
) -> list[Alert]:
    topic = Topics(config.kafka.topic_prefix).alerts
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = await read_all(config, topic)
        if len(records) >= at_least:
            await asyncio.sleep(settle)  # anything extra would show up now
            return [Alert.decode(r.value) for r in await read_all(config, topic)]
        await asyncio.sleep(1)
    raise AssertionError(f"fewer than {at_least} alerts within {timeout}s")


async def test_seed_events_alert_exactly_once_and_a_redelivery_adds_nothing(
    wirewatch_config, worker_factory
) -> None:
    document = load_detectors(REPO / "examples" / "detectors.yaml")
    config = wirewatch_config(
        worker={"stages": ["dedup"]},
        pipeline={"dedup": {"store": "rocksdb"}},
        entities=[e.model_dump(mode="json") for e in document.entities],
        detectors=[
            d.model_dump(mode="json", exclude_defaults=True) | {"kind": d.kind} for d in document.detectors
        ],
    )
    topics = Topics(config.kafka.topic_prefix)
    records = [(e.article.id.encode(), e.encode()) for e in stream()]
    worker = worker_factory(config)
    await produce(config, topics.articles_enriched, records)
    first = await alerts(config, len(EXPECTED))
    assert {(a.detector_id, a.articles[-1].id) for a in first} == EXPECTED
    assert len(first) == len(EXPECTED), [a.id for a in first]
    by_id = {a.id: a for a in first}
    raid = next(a for a in first if a.detector_id == "air-raid-after-call")
    assert [r.id for r in raid.articles] == ["call", "raid"]
    assert raid.evidence["join_key"] == "UA"
    pows = next(a for a in first if a.detector_id == "prisoner-exchange")
    assert pows.evidence["captured"] == {"prisoners": "175"}
    assert all(a.config_version == config.detectors_document().content_version() for a in first)
    schema = json.loads((REPO / "schemas" / "alert.schema.json").read_text())
    for record in await read_all(config, topics.alerts):  # as any Kafka client reads them
        jsonschema.validate(json.loads(record.value), schema)
    scraped = scrape(config)
    assert scraped[("wirewatch_alert_latency_seconds_count", (("since", "fetched"),))] == len(EXPECTED)
    assert scraped[("wirewatch_alert_latency_seconds_count", (("since", "published"),))] == len(EXPECTED)
    assert sum(v for (name, _), v in scraped.items() if name == "wirewatch_alerts_total") == len(EXPECTED)
    for detector_id, _ in EXPECTED:  # every alerting detector ran, and matched at least what it sent
        label = (("detector", detector_id),)
        assert scraped[("wirewatch_detector_evaluations_total", label)] >= 1
        assert scraped[("wirewatch_detector_matches_total", label)] >= 1

    # the same deliveries again, after a restart: replays get their stored alerts back, nothing new
    worker.stop()
    worker_factory(config)
    await produce(config, topics.articles_enriched, records)
    await asyncio.sleep(2)
    again = await alerts(config, len(first), settle=15.0)
    assert {a.id for a in again} == set(by_id)
    for alert in again:
        assert alert == by_id[alert.id], "a re-sent alert is the stored record, not a new one"


def scrape(config) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    """The worker's /metrics as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://{config.metrics.host}:{config.metrics.port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


async def test_an_applied_document_takes_over_without_a_restart_and_a_bad_one_is_refused(
    wirewatch_config, worker_factory, tmp_path
) -> None:
    config = wirewatch_config(
        worker={"stages": ["dedup"]},
        detectors=[{"id": "ceasefire", "kind": "keyword", "any": ["ceasefire"]}],
    )
    topics = Topics(config.kafka.topic_prefix)
    worker = worker_factory(config)

    async def send(*articles: Article) -> None:
        now = datetime.now(UTC)
        records = [EnrichedArticle.of(a, None, "none", now, skipped_reason="no vectors") for a in articles]
        await produce(
            config, topics.articles_enriched, [(e.article.id.encode(), e.encode()) for e in records]
        )

    await send(article("c1", 0, "Ceasefire talks begin", ""))
    (before,) = await alerts(config, 1, settle=1.0)
    assert before.detector_id == "ceasefire"
    assert before.config_version == config.detectors_document().content_version()

    good = tmp_path / "detectors.yaml"
    good.write_text(
        "version: hot-2\ndetectors:\n  - id: pows\n    kind: keyword\n    query: prisoners NEAR/4 exchange*\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("detectors:\n  - id: pows\n    kind: keyword\n    querry: prisoners\n")
    refused = cli("detectors", "apply", str(bad), "-c", str(worker.config_path))
    assert refused.returncode == 3, refused
    assert "bad.yaml:4:5: detectors[0].querry: unknown key (did you mean 'query'?)" in refused.stderr
    assert await read_all(config, topics.control) == [], "nothing is published from an invalid file"

    applied = cli("detectors", "apply", str(good), "-c", str(worker.config_path))
    assert applied.returncode == 0, applied
    assert "version hot-2" in applied.stdout
    worker.wait_for_log("switched to detectors version hot-2", 60)
    await send(
        article("c2", 10, "Ceasefire holds", ""),  # its detector is gone
        article("p1", 20, "Prisoners exchanged: 90 return home", ""),
    )
    after = await alerts(config, 2, settle=3.0)
    new = [(a.detector_id, a.articles[-1].id, a.config_version) for a in after if a.id != before.id]
    assert new == [("pows", "p1", "hot-2")]
    current = cli("detectors", "current", "-c", str(worker.config_path))
    assert "version hot-2" in current.stdout

    # a restarted worker starts with the release in force, before its first article
    worker.stop()
    restarted = worker_factory(config)
    restarted.wait_for_log("switched to detectors version hot-2", 60)


async def test_a_sequence_half_seen_before_a_kill_completes_on_another_worker_once(
    wirewatch_config, worker_factory
) -> None:
    """The call is seen, the worker is killed; a new worker on another machine (no local state)
    recovers the sequence's partial match from the changelog and fires when the alarm comes."""
    document = load_detectors(REPO / "examples" / "detectors.yaml")
    config = wirewatch_config(
        worker={"stages": ["dedup"]},
        entities=[e.model_dump(mode="json") for e in document.entities],
        detectors=[
            d.model_dump(mode="json", exclude_defaults=True) | {"kind": d.kind} for d in document.detectors
        ],
    )
    topics = Topics(config.kafka.topic_prefix)
    now = datetime.now(UTC)

    def enriched(aid: str) -> tuple[bytes, bytes]:
        _, minute, title, summary = next(s for s in SEED_STREAM if s[0] == aid)
        e = EnrichedArticle.of(article(aid, minute, title, summary), None, "none", now, skipped_reason="test")
        return aid.encode(), e.encode()

    first = worker_factory(config)
    await produce(config, topics.articles_enriched, [enriched("call")])
    deadline = time.monotonic() + 60
    while not await read_all(config, topics.articles_sequenced):
        assert time.monotonic() < deadline, "the call was not sequenced"
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # its offset and state committed
    first.kill()
    elsewhere = config.worker.model_copy(update={"data_dir": config.worker.data_dir.with_name("b")})
    worker_factory(config.model_copy(update={"worker": elsewhere}))
    await produce(config, topics.articles_enriched, [enriched("raid")])
    fired = await alerts(config, 2, settle=10.0)  # the sequence, and the alarm as a strike
    assert sorted((a.detector_id, [r.id for r in a.articles]) for a in fired) == [
        ("air-raid-after-call", ["call", "raid"]),
        ("strike", ["raid"]),
    ]
