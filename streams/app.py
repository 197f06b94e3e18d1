"""The Faust application, built from a validated ``WirewatchConfig``.

Topics carry raw bytes (``value_serializer="raw"``): agents decode inside
their loop so a malformed message is dead-lettered, never a crashed agent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import faust
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from monitor.config import WirewatchConfig
from monitor.metrics import Metrics
from streams.connection import faust_broker_url, ssl_context
from streams.faust_fixes import FlowControl, Transport
from streams.topics import Topics

if TYPE_CHECKING:
    from streams.embedder import Embedder


@dataclass(frozen=True)
class StageContext:
    """What every stage module needs to register its agents."""

    app: Any  # faust.App (untyped library)
    config: WirewatchConfig
    topics: Topics
    metrics: Metrics = field(default_factory=Metrics)
    services: dict[str, Any] = field(default_factory=dict)  # per-stage helpers, for tests and health
    # what a stage still prepares before it can process (stage → reason): ``/ready`` waits for it
    preparing: dict[str, str] = field(default_factory=dict)

    _model_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def embedder(self) -> Embedder:
        """The worker's one embedding model, loaded on first use (blocking: call it off the loop).

        The embed stage and semantic detectors' examples share it: a second
        copy would cost the worker another few hundred MB.
        """
        with self._model_lock:
            if "embedder" not in self.services:
                from streams.embedder import Embedder

                self.services["embedder"] = Embedder(self.config.pipeline.embed)
            return cast("Embedder", self.services["embedder"])

    @property
    def changelog_configs(self) -> dict[str, str]:
        """Configs of the changelog topics Faust creates for our tables: our ``min.insync.replicas``."""
        replicas = self.config.kafka.insync_replicas
        return {"min.insync.replicas": str(replicas)} if replicas else {}

    def raw_topic(self, name: str) -> Any:
        """A Faust topic of bytes keys and values; partitions come from our topic specs."""
        return self.app.topic(
            name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        )


class WirewatchApp(faust.App):
    """faust.App with the rebalance fixes of ``streams.faust_fixes``."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return FlowControl(loop=self.loop)

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)


def _credentials(config: WirewatchConfig) -> Any:
    sec = config.kafka.security
    if sec.protocol.startswith("SASL_"):
        assert sec.sasl_password is not None
        return faust.SASLCredentials(
            username=sec.sasl_username,
            password=sec.sasl_password.get_secret_value(),
            mechanism=sec.sasl_mechanism,
            ssl_context=ssl_context(config.kafka),
        )
    if sec.protocol == "SSL":
        return faust.SSLCredentials(ssl_context(config.kafka))
    return None


def create_app(config: WirewatchConfig) -> Any:
    """A Faust app for this config; agents are registered by ``streams.agents.register_all``."""
    worker = config.worker
    return WirewatchApp(
        worker.app_id,
        broker=faust_broker_url(config.kafka),
        broker_credentials=_credentials(config),
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        datadir=str(worker.data_dir),
        autodiscover=False,
        web_enabled=True,
        web_bind=config.metrics.host,
        web_host=config.metrics.host,
        web_port=config.metrics.port,
        topic_partitions=config.kafka.partitions,
        topic_replication_factor=config.kafka.replication_factor,
        broker_session_timeout=worker.session_timeout,
        broker_heartbeat_interval=max(worker.session_timeout / 10, 0.5),
        broker_rebalance_timeout=worker.rebalance_timeout,
        table_standby_replicas=worker.standby_replicas,
        broker_max_poll_records=worker.max_poll_records,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=config.kafka.producer.linger,
        producer_compression_type=config.kafka.producer.compression_type,
        producer_max_batch_size=config.kafka.producer.max_batch_bytes,
        stream_wait_empty=False,
    )


FAUST_METRICS_PREFIX = "wirewatch_faust"  # fixed: Faust's default is the app id, which differs per deployment


def add_faust_sensor(app: Any, metrics: Metrics) -> None:
    """Faust's own Prometheus sensor (messages, events, sends, rebalances, offsets) on our registry.

    Its table counters look their labelled child up on every get, set and
    delete; the dedup stage makes several table writes per article, and that
    lookup cost 3% of the stage's time (py-spy), so the children are kept.
    """
    from faust.sensors.monitor import Monitor
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    class CachedLabelsMonitor(PrometheusMonitor):
        def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
            super().__init__(metrics=metrics, **kwargs)
            self._label_children: dict[tuple[str, str], Any] = {}

        def _table_counter(self, table: Any, operation: str) -> Any:
            key = (table.name, operation)
            child = self._label_children.get(key)
            if child is None:
                child = self._label_children[key] = self._metrics.table_operations.labels(
                    table=f"table.{table.name}", operation=operation
                )
            return child

        def on_table_get(self, table: Any, key: Any) -> None:
            Monitor.on_table_get(self, table, key)
            self._table_counter(table, self.KEYS_RETRIEVED).inc()

        def on_table_set(self, table: Any, key: Any, value: Any) -> None:
            Monitor.on_table_set(self, table, key, value)
            self._table_counter(table, self.KEYS_UPDATED).inc()

        def on_table_del(self, table: Any, key: Any) -> None:
            Monitor.on_table_del(self, table, key)
            self._table_counter(table, self.KEYS_DELETED).inc()

    app.monitor = CachedLabelsMonitor(metrics=FaustMetrics.create(metrics.registry, FAUST_METRICS_PREFIX))


def readiness(app: Any, preparing: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Ready once every stage is prepared (the model loaded), recovery is done, and not rebalancing.

    While the worker restores its tables, the reason says how many changelog
    records are left: a restore on a fresh machine takes minutes.
    """
    if preparing:
        return False, "; ".join(f"{stage}: {reason}" for stage, reason in sorted(preparing.items()))
    left = recovery_remaining(app)
    to_read = f": {left:,} changelog records to read" if left else ""
    if not app.tables.recovery.completed.is_set():
        return False, f"recovering state (first assignment not done){to_read}"
    if app.rebalancing:
        return False, f"rebalancing{to_read}"
    return True, "processing"


def recovery_remaining(app: Any) -> int:
    """Changelog records this worker still reads before it processes again (0 when not recovering)."""
    recovery = app.tables.recovery
    if not getattr(recovery, "in_recovery", False):
        return 0
    return max(int(recovery.active_remaining_total()), 0)


def add_health_pages(app: Any, ctx: StageContext) -> None:
    """``GET /health`` (liveness: the event loop answers) and ``GET /ready`` (503 until ready).

    Orchestrators restart on a failing ``/health`` and route or count only
    ``/ready`` workers; a rebalance makes a worker briefly not ready, never
    unhealthy.
    """

    @app.page("/health")  # type: ignore[untyped-decorator]
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "app_id": ctx.config.worker.app_id})

    @app.page("/ready")  # type: ignore[untyped-decorator]
    async def ready(web: Any, request: Any) -> Any:
        ok, state = readiness(app, ctx.preparing)
        body = {
            "ready": ok,
            "state": state,
            "stages": list(ctx.config.worker.stages),
            "assigned_partitions": len(app.consumer.assignment()) if ok else None,
        }
        return web.json(body, status=200 if ok else 503)


class ConsumerLag:
    """``wirewatch_consumer_lag{topic, partition}``: messages not yet committed on this worker's partitions.

    Computed at scrape time from the consumer's current assignment (highwater
    minus the group's committed offset), so a revoked partition's series goes
    with it and the group's lag per topic is ``sum by (topic)`` over workers.
    Changelog and assignor partitions are left out: their consumption is
    recovery, not lag.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def describe(self) -> list[Any]:
        return []  # no collect() at registration: the consumer is not running yet

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "wirewatch_consumer_lag",
            "Messages not yet committed on the partitions this worker consumes now (highwater - committed, "
            "read at scrape time; changelogs left out). The group's lag on a topic: sum by (topic).",
            labels=["topic", "partition"],
        )
        for topic, partition, lag in self.lags():
            family.add_metric([topic, str(partition)], lag)
        yield family

    def lags(self) -> list[tuple[str, int, int]]:
        consumer = self.app.consumer
        try:
            assignment = consumer.assignment()
        except Exception:  # not started, or stopping: nothing to report
            return []
        skip = set(self.app.tables.changelog_topics)
        out = []
        for tp in sorted(assignment):
            if tp.topic in skip or tp.topic.endswith("__assignor-__leader"):
                continue
            try:
                high = consumer.highwater(tp)
            except Exception:  # a partition mid-revoke: it is reported by its next owner
                continue
            if high is None:
                continue  # no fetch answered yet
            committed = consumer._committed_offset.get(tp) or 0
            out.append((tp.topic, tp.partition, max(int(high) - int(committed), 0)))
        return out


class RecoveryProgress:
    """``wirewatch_recovery_remaining_records``: changelog records left before this worker processes again.

    Collected at scrape time from Faust's recovery. 0 when not recovering; a
    value above 0 that does not fall is a stalled restore (the
    ``WirewatchRecoveryStalled`` rule), the failure ``streams.faust_fixes``
    fixed one cause of.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def describe(self) -> list[Any]:
        return []  # no collect() at registration: the app's tables are not built yet

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            left = recovery_remaining(self.app)
        except Exception:  # not started, or stopping: nothing to read
            left = 0
        yield GaugeMetricFamily(
            "wirewatch_recovery_remaining_records",
            "Changelog records this worker still reads to restore its tables after an assignment (read "
            "from Faust's recovery at scrape time; 0 when not recovering).",
            value=left,
        )


def add_metrics_page(app: Any, metrics: Metrics) -> None:
    """``GET /metrics`` on the worker's web port, in Prometheus text format."""
    from prometheus_client import generate_latest

    @app.page("/metrics")  # type: ignore[untyped-decorator]
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp wants the charset apart from the content type; UTF-8 is the default anyway
        return web.bytes(generate_latest(metrics.registry), content_type="text/plain; version=0.0.4")
