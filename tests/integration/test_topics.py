"""``topics ensure`` against the real broker: idempotent, and strict about partition counts."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from monitor.errors import TopicError, TopicMismatch
from streams.admin import ensure_topics
from streams.connection import aiokafka_options
from streams.topics import Topics, topic_specs
from tests.kafka_fixtures import write_config


async def _describe(config, names):
    admin = AIOKafkaAdminClient(**aiokafka_options(config.kafka))
    await admin.start()
    try:
        return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
    finally:
        await admin.close()


async def test_ensure_creates_every_topic_once(wirewatch_config) -> None:
    config = wirewatch_config(kafka={"partitions": 3})
    first = await ensure_topics(config.kafka)
    second = await ensure_topics(config.kafka)

    specs = topic_specs(config.kafka)
    assert sorted(first.created) == sorted(s.name for s in specs)
    assert second.created == []
    assert sorted(second.existing) == sorted(s.name for s in specs)
    counts = await _describe(config, [s.name for s in specs])
    topics = Topics(config.kafka.topic_prefix)
    assert counts[topics.articles_raw] == 3
    assert counts[topics.articles_enriched] == 1, "the sequencer topic has one partition"


async def test_ensure_refuses_topic_with_other_partition_count(wirewatch_config, tmp_path) -> None:
    config = wirewatch_config(kafka={"partitions": 4})
    raw = Topics(config.kafka.topic_prefix).articles_raw
    admin = AIOKafkaAdminClient(**aiokafka_options(config.kafka))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(raw, 2, 1)])
    finally:
        await admin.close()

    with pytest.raises(TopicMismatch) as caught:
        await ensure_topics(config.kafka)
    assert f"topic {raw} has 2 partitions, the configuration says 4" in str(caught.value)

    # the CLI says the same and exits 4 (Kafka problem)
    path = write_config(config, tmp_path / "wirewatch.yaml")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "monitor.cli", "topics", "ensure", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4, result.stderr
    assert f"topic {raw} has 2 partitions" in result.stderr


async def test_drift_is_reported_and_check_fails_without_creating(wirewatch_config, tmp_path) -> None:
    """A topic keeping a day where the configuration says a week is drift: listed; ``--check`` fails."""
    config = wirewatch_config(kafka={"partitions": 2, "article_retention": "7d"})
    topics = Topics(config.kafka.topic_prefix)
    admin = AIOKafkaAdminClient(**aiokafka_options(config.kafka))
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topics.articles_raw, 2, 1, topic_configs={"retention.ms": str(86_400_000)})]
        )
    finally:
        await admin.close()
    path = write_config(config, tmp_path / "wirewatch.yaml")

    def topics_ensure(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor.cli", "topics", "ensure", "-c", str(path), *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )

    differs = (
        f"differs: topic {topics.articles_raw}: retention.ms is 86400000, the configuration says 604800000"
    )
    checked = await asyncio.to_thread(topics_ensure, "--check")
    assert checked.returncode == 4, checked.stderr
    assert differs in checked.stdout
    assert f"missing: {topics.alerts}" in checked.stdout
    assert "setting(s) differing from the configuration" in checked.stderr
    assert (await _describe(config, [topics.alerts])).get(topics.alerts, 0) == 0, "--check creates nothing"

    ensured = await asyncio.to_thread(topics_ensure)  # creates the missing ones, lists the drift, goes on
    assert ensured.returncode == 0, ensured.stderr
    assert differs in ensured.stdout
    report = await ensure_topics(config.kafka)
    assert [str(d) for d in report.drift] == [differs.removeprefix("differs: ")]
    assert report.created == []


async def test_a_replication_factor_the_cluster_cannot_meet_is_a_clear_error(wirewatch_config) -> None:
    """On one broker a replication factor of 3 cannot be met: Kafka's reason, not a hang."""
    config = wirewatch_config(kafka={"replication_factor": 3})
    with pytest.raises(TopicError, match="replication factor"):
        await ensure_topics(config.kafka)
