"""Records through the real broker: plain aiokafka, and a Faust agent in a worker process."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np

from streams.admin import ensure_topics
from streams.records import Article, DeadLetter, EnrichedArticle
from streams.topics import Topics
from tests import factories
from tests.kafka_helpers import consume, produce


def article(n: int, title: str, summary: str = "") -> Article:
    return factories.article(
        f"art-{n}",
        title,
        summary,
        feed="seed",
        source="Test Wire",
        url=f"https://example.org/{n}?utm_source=x",
        canonical_url=f"https://example.org/{n}",
        language="en",
    )


async def test_article_roundtrips_through_broker_as_plain_json(wirewatch_config) -> None:
    config = wirewatch_config()
    await ensure_topics(config.kafka)
    topic = Topics(config.kafka.topic_prefix).articles_raw
    sent = article(1, "Kremlin announces exchange of 175 prisoners of war", "Swap set for Wednesday.")
    await produce(config, topic, [(sent.id.encode(), sent.encode())])

    [received] = await consume(config, topic, 1)

    assert received.key == b"art-1"
    assert Article.decode(received.value) == sent
    payload = json.loads(received.value)
    assert "__faust" not in payload, "records must be plain JSON without framework metadata"
    assert payload["schema_version"] == 1
    assert payload["published_at"] == "2025-03-18T12:00:00Z"


async def test_embed_agent_enriches_articles_and_dead_letters_garbage(
    wirewatch_config, worker_factory
) -> None:
    config = wirewatch_config()
    topics = Topics(config.kafka.topic_prefix)
    worker_factory(config)  # runs `wirewatch run` (ensures topics itself)

    good = [
        article(1, "Trump and Putin agree to halt strikes on energy infrastructure"),
        article(2, "Putin and Trump agree to stop attacks on energy facilities"),
        article(3, "Arsenal beat Chelsea 2-0 in the Premier League"),
    ]
    empty = article(4, "", "")
    garbage = b'{"id": "broken", "title": 42'
    await produce(
        config,
        topics.articles_raw,
        [(a.id.encode(), a.encode()) for a in good]
        + [(b"broken", garbage), (empty.id.encode(), empty.encode())],
    )

    enriched_records, dead_records = await asyncio.gather(
        consume(config, topics.articles_enriched, 4, timeout=120),
        consume(config, topics.deadletter, 1, timeout=120),
    )

    enriched = {
        EnrichedArticle.decode(r.value).article.id: EnrichedArticle.decode(r.value) for r in enriched_records
    }
    assert set(enriched) == {"art-1", "art-2", "art-3", "art-4"}
    assert enriched["art-4"].dim == 0
    assert enriched["art-4"].skipped_reason
    vectors = {i: enriched[i].vector() for i in ("art-1", "art-2", "art-3")}
    for v in vectors.values():
        assert v.shape == (384,)
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-2
    same_event = float(vectors["art-1"] @ vectors["art-2"])
    unrelated = float(vectors["art-1"] @ vectors["art-3"])
    assert same_event > 0.6 > unrelated, (same_event, unrelated)
    assert all(e.model_id == "all-MiniLM-L6-v2" for e in enriched.values())
    assert len(enriched_records) == 4, "each article is enriched once"

    [dead] = [DeadLetter.decode(r.value) for r in dead_records]
    assert dead.stage == "embed"
    assert dead.topic == topics.articles_raw
    assert dead.error_type == "RecordDecodeError"
    assert base64.b64decode(dead.value or "") == garbage
