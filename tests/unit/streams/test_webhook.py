"""Webhook delivery on its own (respx stands in for the receiver): retries, Retry-After, give-up, signing."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from monitor.fetch import parse_retry_after
from monitor.routing import WebhookConfig
from streams.webhook import WebhookSender, backoff, payload, slack_message
from tests.unit.streams.test_records import make_alert

URL = "https://hooks.example/wirewatch"


class FakeTime:
    """Sleeps advance a clock instead of waiting; every wait is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


async def deliver(config: WebhookConfig, fake: FakeTime, retries: list[str] | None = None):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient() as client:
        sender = WebhookSender(
            "desk",
            config,
            client,
            sleep=fake.sleep,
            clock=fake.clock,
            rng=lambda: 1.0,  # the full backoff, so waits are exact
            on_retry=(retries if retries is not None else []).append,
        )
        return await sender.deliver(make_alert())


@respx.mock
async def test_retries_5xx_429_and_timeouts_then_delivers() -> None:
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(503, text="down for maintenance"),
            httpx.TimeoutException("read timed out"),
            httpx.Response(429),
            httpx.Response(204),
        ]
    )
    fake, retries = FakeTime(), []  # type: ignore[var-annotated]
    outcome = await deliver(WebhookConfig(url=URL, backoff_initial=1, backoff_max=3), fake, retries)
    assert outcome.delivered
    assert outcome.attempts == 4
    assert fake.waits == [1.0, 2.0, 3.0]  # doubling, capped at backoff_max
    assert retries[0] == "HTTP 503: down for maintenance"
    assert retries[1].startswith("timed out")
    assert outcome.error == "HTTP 429"  # the last failure before success, for the record
    assert route.call_count == 4


@respx.mock
async def test_every_request_carries_the_idempotency_key_and_a_valid_signature() -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(500), httpx.Response(200)])
    config = WebhookConfig(url=URL, secret="s3cret", headers={"Authorization": "Bearer t"})
    await deliver(config, FakeTime())
    alert = make_alert()
    for call in route.calls:
        request = call.request
        assert request.headers["Idempotency-Key"] == alert.id
        assert request.headers["Authorization"] == "Bearer t"
        assert request.headers["Content-Type"] == "application/json"
        expected = hmac.new(
            b"s3cret",
            request.headers["X-Wirewatch-Timestamp"].encode() + b"." + request.content,
            hashlib.sha256,
        ).hexdigest()
        assert request.headers["X-Wirewatch-Signature"] == f"sha256={expected}"
        assert json.loads(request.content)["id"] == alert.id  # generic: the alert as on the topic
    assert "X-Wirewatch-Signature" not in (await _one_request(WebhookConfig(url=URL))).headers


async def _one_request(config: WebhookConfig) -> httpx.Request:
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(200))
        await deliver(config, FakeTime())
        return route.calls.last.request


@respx.mock
async def test_retry_after_seconds_is_honoured() -> None:
    respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)])
    fake = FakeTime()
    outcome = await deliver(WebhookConfig(url=URL, backoff_initial=0.5), fake)
    assert outcome.delivered
    assert fake.waits == [7.0]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after("soon", now.timestamp()) is None
    assert parse_retry_after(None, now.timestamp()) is None


@respx.mock
async def test_a_4xx_is_refused_at_once() -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(400, text='{"error": "bad channel"}'))
    outcome = await deliver(WebhookConfig(url=URL), FakeTime())
    assert not outcome.delivered
    assert outcome.attempts == 1
    assert route.call_count == 1
    assert outcome.error == 'refused: HTTP 400: {"error": "bad channel"}'


@respx.mock
async def test_gives_up_after_max_attempts() -> None:
    respx.post(URL).mock(return_value=httpx.Response(502))
    fake = FakeTime()
    outcome = await deliver(WebhookConfig(url=URL, max_attempts=3, backoff_initial=1), fake)
    assert not outcome.delivered
    assert outcome.attempts == 3
    assert outcome.error == "gave up after 3 attempts in 3.0s: HTTP 502"
    assert fake.waits == [1.0, 2.0]


@respx.mock
async def test_gives_up_when_the_next_wait_would_pass_the_retry_budget() -> None:
    respx.post(URL).mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "3600"}), httpx.Response(200)]
    )
    fake = FakeTime()
    outcome = await deliver(WebhookConfig(url=URL, retry_budget=600), fake)
    assert not outcome.delivered
    assert outcome.attempts == 1
    assert fake.waits == []


@respx.mock
async def test_connection_errors_are_retried() -> None:
    respx.post(URL).mock(side_effect=[httpx.ConnectError("connection refused"), httpx.Response(200)])
    outcome = await deliver(WebhookConfig(url=URL), FakeTime())
    assert outcome.delivered
    assert outcome.attempts == 2
    assert outcome.error == "ConnectError: connection refused"


def test_backoff_has_full_jitter_under_a_cap() -> None:
    assert backoff(1, 0.5, 60, rng=lambda: 0.0) == 0.0
    assert backoff(3, 0.5, 60, rng=lambda: 0.5) == 1.0
    assert backoff(30, 0.5, 60, rng=lambda: 1.0) == 60.0


def test_slack_payload_is_a_message_with_the_article_link() -> None:
    alert = make_alert()
    message = slack_message(alert)
    assert message["text"] == f"[{alert.severity}] {alert.title}"
    body = message["blocks"][0]["text"]["text"]
    assert f"<{alert.articles[-1].url}|" in body
    assert alert.id in message["blocks"][1]["elements"][0]["text"]
    assert json.loads(payload(alert, "slack")) == message
    assert json.loads(payload(alert, "generic"))["id"] == alert.id
