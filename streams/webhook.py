"""Delivering one alert to a webhook: until the receiver takes it, or given up with the reason.

What each outcome of a request leads to::

    2xx                                   delivered
    timeout, connection error             retried
    408, 425, 429, 5xx                    retried; a Retry-After header sets the wait
    any other status (3xx, 4xx)           given up at once: the receiver refuses this
                                          alert, and asking again cannot change that
    max_attempts or retry_budget spent    given up

Retries wait ``backoff_initial * 2**(attempt-1)`` capped at ``backoff_max``,
with full jitter (a random wait up to that), so receivers coming back after
an outage are not hit by every sender at the same instant. A Retry-After is
honoured as given, as long as it fits the retry budget. A retry waiting does
not hold one of the route's ``concurrency`` slots.

Every request carries ``Idempotency-Key: <alert id>``: the alert id is
deterministic, so a receiver that keeps the keys it has seen takes each
alert once, however often a restart or a retry sends it. The caller (the
sink agent) dead-letters what is given up; nothing here touches Kafka.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.fetch import parse_retry_after
from monitor.routing import WebhookConfig
from streams.records import Alert

RETRYABLE = frozenset({408, 425, 429})
USER_AGENT = "wirewatch-webhook/1"


@dataclass(frozen=True)
class Outcome:
    """How one alert's delivery ended."""

    delivered: bool
    attempts: int
    error: str | None  # the last failed attempt's reason; None when delivered at once
    first_attempt_at: datetime
    seconds: float  # from the first attempt to the outcome


def payload(alert: Alert, format: str) -> bytes:
    """The request body: the alert as on the topic (``generic``), or a Slack message."""
    if format == "slack":
        return json.dumps(slack_message(alert), ensure_ascii=False).encode("utf-8")
    return alert.encode()


def slack_message(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message: a plain ``text`` fallback and ``blocks`` with the article link."""
    article = alert.articles[-1] if alert.articles else None
    headline = f"[{alert.severity}] {alert.title}"
    lines = [f"*{_slack_escape(headline)}*"]
    if alert.summary:
        lines.append(_slack_escape(alert.summary))
    if article is not None:
        lines.append(f"<{article.url}|{_slack_escape(article.title)}> ({_slack_escape(article.source)})")
    context = f"detector `{alert.detector_id}` · alert `{alert.id}`"
    return {
        "text": headline,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>.<body>"``; receivers reject forged or old requests."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempt: int, initial: float, maximum: float, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff before attempt ``attempt + 1`` (``attempt`` >= 1)."""
    return float(rng() * min(maximum, initial * 2 ** (attempt - 1)))


def retryable(status: int) -> bool:
    return status in RETRYABLE or 500 <= status <= 599


class WebhookSender:
    """One route's webhook: POSTs alerts with at most ``concurrency`` requests in flight."""

    def __init__(
        self,
        name: str,
        config: WebhookConfig,
        client: httpx.AsyncClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        on_retry: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.name = name
        self.config = config
        self._client = client
        self._sleep, self._clock, self._rng = sleep, clock, rng
        self._on_retry = on_retry
        self._slots = asyncio.Semaphore(config.concurrency)

    async def deliver(self, alert: Alert) -> Outcome:
        """Never raises for the receiver's sake: the outcome says delivered or why not."""
        config = self.config
        body = payload(alert, config.format)
        first_at, started = datetime.now(UTC), self._clock()
        failure: str | None = None
        attempt = 0
        while True:
            attempt += 1
            async with self._slots:
                status, what, wait = await self._attempt(alert, body)
            if status is not None and 200 <= status <= 299:
                return Outcome(True, attempt, failure, first_at, self._clock() - started)
            failure = what
            permanent = status is not None and not retryable(status)
            if wait is None:
                wait = backoff(attempt, config.backoff_initial, config.backoff_max, self._rng)
            spent = self._clock() - started
            if permanent or attempt >= config.max_attempts or spent + wait > config.retry_budget:
                reason = "refused" if permanent else f"gave up after {attempt} attempts in {spent:.1f}s"
                return Outcome(False, attempt, f"{reason}: {failure}", first_at, spent)
            self._on_retry(failure)
            await self._sleep(wait)

    async def _attempt(self, alert: Alert, body: bytes) -> tuple[int | None, str, float | None]:
        """(status or None, what happened, Retry-After seconds or None)."""
        config = self.config
        timestamp = str(int(time.time()))
        headers = {
            **config.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": alert.id,
            "X-Wirewatch-Alert-Id": alert.id,
            "X-Wirewatch-Timestamp": timestamp,
        }
        if config.secret is not None:
            headers["X-Wirewatch-Signature"] = signature(config.secret.get_secret_value(), timestamp, body)
        try:
            response = await self._client.post(
                config.url, content=body, headers=headers, timeout=config.timeout
            )
        except httpx.TimeoutException:
            return None, f"timed out after {config.timeout:g}s", None
        except httpx.TransportError as exc:
            return None, f"{type(exc).__name__}: {exc}", None
        text = response.text[:200].strip().replace("\n", " ")
        described = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        return response.status_code, described, parse_retry_after(response.headers.get("Retry-After"))
