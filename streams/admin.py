"""Creating our topics explicitly and checking the ones that exist.

Faust creates only its own internal topics and silently accepts an existing
topic whatever its partition count; the local broker disables auto-creation.
So every command that touches Kafka first runs ``ensure_topics``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from monitor.config import KafkaConfig
from monitor.errors import TopicError, TopicMismatch
from monitor.routing import RouteConfig
from streams.connection import aiokafka_options
from streams.topics import TopicSpec, topic_specs

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


@dataclass
class EnsureReport:
    """What ``ensure_topics`` found and did."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.created)} topic(s) created, {len(self.existing)} already present"


async def ensure_topics(
    kafka: KafkaConfig, specs: list[TopicSpec] | None = None, routes: tuple[RouteConfig, ...] = ()
) -> EnsureReport:
    """Create missing topics (the routes' too); raise ``TopicMismatch`` if one has other partitions."""
    specs = topic_specs(kafka, routes) if specs is None else specs
    admin = AIOKafkaAdminClient(**aiokafka_options(kafka), request_timeout_ms=30000)
    try:
        await admin.start()
    except KafkaError as exc:
        raise TopicError(
            f"cannot reach Kafka at {aiokafka_options(kafka)['bootstrap_servers']}: {exc}"
        ) from exc
    try:
        return await _ensure(admin, specs)
    except KafkaError as exc:
        raise TopicError(f"topic administration failed: {exc}") from exc
    finally:
        await admin.close()


async def _ensure(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> EnsureReport:
    report = EnsureReport()
    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    if missing:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs) for s in missing]
        )
        for topic, code, *rest in response.topic_errors:
            if code == TOPIC_ALREADY_EXISTS:  # another worker won the race: check it below
                existing.add(topic)
            elif code != 0:
                message = rest[0] if rest else ""
                raise TopicError(f"creating topic {topic} failed: error {code} {message}".strip())
            else:
                report.created.append(topic)
                log.info("created topic %s", topic)
    present = [s for s in specs if s.name in existing]
    report.existing.extend(s.name for s in present)
    if specs:  # the new ones too: clients that start at once must find a leader for every partition
        await _check_partitions(admin, specs)
    return report


async def _check_partitions(admin: AIOKafkaAdminClient, specs: list[TopicSpec], within: float = 15.0) -> None:
    # a topic created a moment ago may not be described yet: its metadata answers "unknown" or
    # "no leader" for a while; ask again until every topic is known and every partition led
    deadline = asyncio.get_running_loop().time() + within
    while True:
        described = await admin.describe_topics([s.name for s in specs])
        counts = {
            d["topic"]: len(d["partitions"])
            for d in described
            if d["error_code"] == 0 and all(p["leader"] >= 0 for p in d["partitions"])
        }
        if len(counts) == len(specs) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    unknown = [s.name for s in specs if s.name not in counts]
    if unknown:
        raise TopicError(f"topics exist but cannot be described: {', '.join(unknown)}")
    problems = [
        f"topic {s.name} has {counts[s.name]} partitions, the configuration says {s.partitions}"
        for s in specs
        if s.name in counts and counts[s.name] != s.partitions
    ]
    if problems:
        raise TopicMismatch(
            "; ".join(problems)
            + ". A topic's partition count is fixed once it exists (changing it would move keys "
            "between partitions and break per-key state). Set kafka.partitions to the existing "
            "count, or use a new kafka.topic_prefix."
        )


async def wait_for_coordinator(kafka: KafkaConfig, group: str, within: float = 30.0) -> bool:
    """Wait until the broker can coordinate ``group`` (a fresh broker first creates its offsets topic).

    A worker that joins before that logs "GroupCoordinatorNotAvailable" errors and retries;
    waiting here keeps first starts quiet. False if it did not happen within ``within`` seconds
    (the worker then starts anyway and retries as Kafka clients do).
    """
    admin = AIOKafkaAdminClient(**aiokafka_options(kafka), request_timeout_ms=10000)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            try:
                await admin.describe_consumer_groups([group])
                return True
            except KafkaError:
                await asyncio.sleep(0.5)
        return False
    finally:
        await admin.close()
