"""Route stage: alerts → route topics (``alerts.<name>``), and each route's webhook sink.

Routing reads the main alerts topic, apart from the detect stage: a slow
route or receiver never delays detection. Each alert is copied, bytes as
they are and keyed by its alert id, to every route it matches
(``monitor.routing``); its offset is acknowledged once every copy is on
Kafka: at least once. Consumers dedupe or compact by key.

A route with a ``webhook`` gets a sink agent reading its route topic. A
micro-batch of alerts is delivered concurrently (``streams.webhook``:
retries, backoff, Retry-After), and acknowledged once each alert is either
delivered or on the sink dead-letter topic with its error: never lost. A
failing receiver holds back only its own sink. Ids this worker has
delivered are remembered (``SeenIds``), so a redelivered record is not sent
twice by the same worker; across workers and restarts the
``Idempotency-Key`` header (the alert id) lets the receiver dedupe.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor.errors import RecordDecodeError
from monitor.routing import RouteConfig, WebhookConfig
from streams.app import StageContext
from streams.batching import micro_batches
from streams.deadletter import dead_letter
from streams.records import Alert, SinkDeadLetter
from streams.subscribe import AlertFilter, SeenIds
from streams.webhook import Outcome, WebhookSender

log = logging.getLogger(__name__)
STAGE = "route"
BATCH = 64  # alerts routed per micro-batch
DELIVERED_IDS = 20_000  # alert ids a sink remembers having delivered


def route_filter(route: RouteConfig) -> AlertFilter:
    """A route's criteria, tested as `alerts tail`'s filters are."""
    return AlertFilter(frozenset(route.detectors), route.min_severity, frozenset(route.labels))


def matching_routes(alert: Alert, routes: list[tuple[str, AlertFilter]]) -> list[str]:
    """Names of the routes an alert goes to, in configuration order."""
    return [name for name, accept in routes if accept.accepts(alert)]


def register(ctx: StageContext) -> None:
    routes = ctx.config.routes
    if not routes:
        return
    deadletters = ctx.raw_topic(ctx.topics.deadletter)
    source = ctx.raw_topic(ctx.topics.alerts)
    targets = {route.name: ctx.raw_topic(ctx.topics.route(route.name)) for route in routes}
    filters = [(route.name, route_filter(route)) for route in routes]

    @ctx.app.agent(source, name=f"{ctx.config.worker.app_id}.route")  # type: ignore[untyped-decorator]
    async def route_alerts(stream: Any) -> None:
        async for events in micro_batches(stream, BATCH, 0.0):
            pending = []
            for event in events:
                message = event.message
                try:
                    alert = Alert.decode(message.value)
                except RecordDecodeError as exc:
                    await dead_letter(deadletters, STAGE, message, exc, ctx.metrics.deadletters)
                    continue
                for name in matching_routes(alert, filters):
                    pending.append(await targets[name].send(key=alert.id.encode(), value=message.value))
                    ctx.metrics.routed.labels(name).inc()
            await asyncio.gather(*pending)  # every copy on Kafka before the batch is acked

    for route in routes:
        if route.webhook is not None:
            _register_sink(ctx, route.name, route.webhook, targets[route.name], deadletters)


def _register_sink(
    ctx: StageContext, name: str, webhook: WebhookConfig, source: Any, deadletters: Any
) -> None:
    sink_deadletters = ctx.raw_topic(ctx.topics.sink_deadletter)
    delivered = SeenIds(DELIVERED_IDS)
    shown_url = _origin(webhook.url)
    stage = f"sink:{name}"

    async def settle(alert: Alert, outcome: Outcome) -> Any:
        """Count the outcome; a failure goes to the sink dead-letter topic (returns its ack)."""
        ctx.metrics.sink_delivery_duration.labels(name).observe(outcome.seconds)
        if outcome.delivered:
            delivered.first_time(alert.id)
            ctx.metrics.sink_deliveries.labels(name, "delivered").inc()
            return None
        ctx.metrics.sink_deliveries.labels(name, "dead_lettered").inc()
        log.warning("sink %s: alert %s dead-lettered: %s", name, alert.id, outcome.error)
        record = SinkDeadLetter(
            sink=name,
            url=shown_url,
            alert=alert,
            attempts=outcome.attempts,
            error=outcome.error or "",
            first_attempt_at=outcome.first_attempt_at,
            failed_at=datetime.now(UTC),
        )
        return await sink_deadletters.send(key=alert.id.encode(), value=record.encode())

    @ctx.app.agent(source, name=f"{ctx.config.worker.app_id}.sink.{name}")  # type: ignore[untyped-decorator]
    async def deliver(stream: Any) -> None:
        limits = httpx.Limits(max_connections=webhook.concurrency)
        async with httpx.AsyncClient(follow_redirects=False, limits=limits) as client:
            sender = WebhookSender(
                name, webhook, client, on_retry=lambda _: ctx.metrics.sink_retries.labels(name).inc()
            )
            async for events in micro_batches(stream, webhook.concurrency * 4, 0.0):
                alerts: dict[str, Alert] = {}  # a batch may hold an alert twice (a replay): sent once
                for event in events:
                    try:
                        alert = Alert.decode(event.message.value)
                    except RecordDecodeError as exc:
                        await dead_letter(deadletters, stage, event.message, exc, ctx.metrics.deadletters)
                        continue
                    if alert.id in delivered or alert.id in alerts:
                        ctx.metrics.sink_deliveries.labels(name, "duplicate").inc()
                        continue
                    alerts[alert.id] = alert
                batch = list(alerts.values())
                outcomes = await asyncio.gather(*(sender.deliver(alert) for alert in batch))
                acks = [await settle(alert, outcome) for alert, outcome in zip(batch, outcomes, strict=True)]
                await asyncio.gather(*(ack for ack in acks if ack is not None))


def _origin(url: str) -> str:
    """A webhook URL as recorded in dead letters: scheme and host only (paths and queries carry tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
