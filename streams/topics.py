"""Every topic name and layout, derived from the configured prefix. One place.

Partition counts are fixed once a topic exists (Kafka can only add partitions,
which would move keys); ``streams.admin.ensure_topics`` refuses to run against
a topic whose count differs from the one declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.config import KafkaConfig
from monitor.routing import RouteConfig

MS_PER_SECOND = 1000


@dataclass(frozen=True)
class TopicSpec:
    """A topic as we create it: name, partitions and topic-level configs."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def compacted(self) -> bool:
        return self.configs.get("cleanup.policy") == "compact"


@dataclass(frozen=True)
class Topics:
    """Names of our topics for one prefix (``wirewatch.`` → ``wirewatch.articles.raw`` ...)."""

    prefix: str = "wirewatch."

    @property
    def feeds(self) -> str:
        return f"{self.prefix}feeds"

    @property
    def feed_polls(self) -> str:
        return f"{self.prefix}feeds.polls"

    @property
    def articles_raw(self) -> str:
        return f"{self.prefix}articles.raw"

    @property
    def articles_enriched(self) -> str:
        return f"{self.prefix}articles.enriched"

    @property
    def articles_sequenced(self) -> str:
        return f"{self.prefix}articles.sequenced"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}alerts"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}deadletter"

    @property
    def control(self) -> str:
        return f"{self.prefix}control"

    def route(self, name: str) -> str:
        """A routed alert topic (``alerts.<route>``)."""
        return f"{self.alerts}.{name}"

    @property
    def sink_deadletter(self) -> str:
        """Alerts a webhook sink gave up on, with the error (not under ``alerts.``: no route can clash)."""
        return f"{self.prefix}sinks.deadletter"


def topic_specs(kafka: KafkaConfig, routes: tuple[RouteConfig, ...] = ()) -> list[TopicSpec]:
    """The topics Wirewatch needs (``routes``: the configured ones too), with partitions and retention."""
    names = Topics(kafka.topic_prefix)
    rf = kafka.replication_factor
    n = kafka.partitions

    insync = {"min.insync.replicas": str(kafka.insync_replicas)} if kafka.insync_replicas else {}

    def retention(seconds: float) -> dict[str, str]:
        return {"cleanup.policy": "delete", "retention.ms": str(int(seconds * MS_PER_SECOND)), **insync}

    compact = {"cleanup.policy": "compact", **insync}
    return [
        TopicSpec(names.feeds, n, rf, compact, "feed registry, key = feed id"),
        TopicSpec(
            names.feed_polls,
            n,
            rf,
            retention(86400.0),
            "poll results (feed state) on their way into the feeds table, key = feed id",
        ),
        TopicSpec(
            names.articles_raw,
            n,
            rf,
            retention(kafka.article_retention),
            "normalized articles from the pollers, key = article id",
        ),
        TopicSpec(
            names.articles_enriched,
            1,
            rf,
            retention(kafka.article_retention),
            "embedded articles; one partition: the ordered dedup/detect sequencer",
        ),
        TopicSpec(
            names.articles_sequenced,
            n,
            rf,
            retention(kafka.article_retention),
            "every article after dedup, with its decision and story, key = article id",
        ),
        TopicSpec(
            names.alerts,
            n,
            rf,
            retention(kafka.alert_retention),
            "alerts, key = deterministic alert id",
        ),
        TopicSpec(
            names.deadletter,
            n,
            rf,
            retention(kafka.deadletter_retention),
            "messages a stage could not process, with the error",
        ),
        TopicSpec(names.control, 1, rf, compact, "control documents (detectors), compacted"),
        TopicSpec(
            names.sink_deadletter,
            n,
            rf,
            retention(kafka.deadletter_retention),
            "alerts a webhook sink could not deliver within its retry budget, with the error",
        ),
        *(
            TopicSpec(
                names.route(route.name),
                route.partitions or n,
                rf,
                retention(route.retention or kafka.alert_retention),
                f"alerts of route {route.name!r}, key = alert id",
            )
            for route in routes
        ),
    ]
