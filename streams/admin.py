"""Creating our topics explicitly and checking the ones that exist.

Faust creates only its own internal topics and silently accepts an existing
topic whatever its partition count; the local broker disables auto-creation.
So every command that touches Kafka first runs ``ensure_topics``. A partition
count other than ours is refused (keys would land elsewhere); a replication
factor or topic config other than ours is drift: ``ensure`` reports it, and
``topics ensure --check`` fails on it, so nobody runs on a topic that silently
keeps one copy or a day of retention when the configuration says otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from monitor.config import KafkaConfig
from monitor.errors import TopicError, TopicMismatch
from monitor.routing import RouteConfig
from streams.connection import aiokafka_options, check_access
from streams.topics import TopicSpec, topic_specs

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class Drift:
    """An existing topic's setting that differs from the configuration's."""

    topic: str
    setting: str  # "replication factor" or a topic config key
    actual: str
    configured: str

    def __str__(self) -> str:
        return (
            f"topic {self.topic}: {self.setting} is {self.actual}, the configuration says {self.configured}"
        )


@dataclass
class EnsureReport:
    """What ``ensure_topics`` found and did."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # with ``check``: not there, and not created
    drift: list[Drift] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.created)} topic(s) created, {len(self.existing)} already present"
        if self.missing:
            text += f", {len(self.missing)} missing"
        return text + (f", {len(self.drift)} setting(s) differ from the configuration" if self.drift else "")


async def ensure_topics(
    kafka: KafkaConfig,
    specs: list[TopicSpec] | None = None,
    routes: tuple[RouteConfig, ...] = (),
    *,
    check: bool = False,
) -> EnsureReport:
    """Create missing topics (the routes' too) and report drift; raise ``TopicMismatch`` if one
    has other partitions. ``check``: create nothing, only report what is missing or differs."""
    specs = topic_specs(kafka, routes) if specs is None else specs
    await check_access(kafka)  # a refused client says why, instead of "unable to bootstrap"
    admin = AIOKafkaAdminClient(**aiokafka_options(kafka), request_timeout_ms=30000)
    try:
        await admin.start()
    except KafkaError as exc:
        raise TopicError(
            f"cannot reach Kafka at {aiokafka_options(kafka)['bootstrap_servers']}: {exc}"
        ) from exc
    try:
        report = await _ensure(admin, specs, create=not check)
        if not check:  # the caller goes on with them; say so where operators look
            for drift in report.drift:
                log.warning("%s", drift)
        return report
    except KafkaError as exc:
        raise TopicError(f"topic administration failed: {exc}") from exc
    finally:
        await admin.close()


async def _ensure(admin: AIOKafkaAdminClient, specs: list[TopicSpec], create: bool = True) -> EnsureReport:
    report = EnsureReport()
    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    if not create:
        report.missing.extend(s.name for s in missing)
        specs = [s for s in specs if s.name in existing]
        missing = []
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
        described = await _check_partitions(admin, specs)
        report.drift.extend(await _drift(admin, present, described))
    return report


async def _drift(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], described: dict[str, dict[str, Any]]
) -> list[Drift]:
    """Replication factor (from ``described``, the topics' metadata) and our topic configs, as the
    brokers have them, against ``specs``."""
    if not specs:
        return []
    found: list[Drift] = []
    for spec in specs:
        factors = {len(p["replicas"]) for p in described[spec.name]["partitions"]}
        if factors and factors != {spec.replication_factor}:
            factor = "/".join(str(f) for f in sorted(factors))
            found.append(Drift(spec.name, "replication factor", factor, str(spec.replication_factor)))
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, s.name, configs=dict.fromkeys(s.configs)) for s in specs]
    )
    for response in responses:
        for error_code, error_message, _type, name, entries, *_ in response.resources:
            if error_code != 0:
                reason = error_message or f"error {error_code}"
                raise TopicError(f"describing the configs of topic {name} failed: {reason}")
            spec = next(s for s in specs if s.name == name)
            actual = {entry[0]: entry[1] for entry in entries}
            found.extend(
                Drift(name, key, actual.get(key, "unset"), value)
                for key, value in spec.configs.items()
                if actual.get(key) != value
            )
    return found


async def _check_partitions(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], within: float = 15.0
) -> dict[str, dict[str, Any]]:
    """Each topic's metadata once it is known and led; ``TopicMismatch`` on another partition count."""
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
    return {d["topic"]: d for d in described}


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
