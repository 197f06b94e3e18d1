"""Alert routes: which alerts go to which further topic, and which webhook each route delivers to.

Every alert is on the main alerts topic; a route copies the alerts it
matches to ``{prefix}alerts.{name}`` (``streams.topics.Topics.route``), so a
newsroom desk subscribes to ``alerts.ceasefire`` and an on-call analyst to
``alerts.critical``. A route matches on detector ids (any of), labels (any
of) and a minimum severity; the criteria it gives must all hold, and a route
with none takes every alert. The same test as ``wirewatch alerts tail``'s
filters: ``streams.subscribe.AlertFilter``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from detectors.base import Severity
from detectors.durations import Duration
from detectors.registry import DetectorSpec

Problem = tuple[tuple[str | int, ...], str]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookConfig(_Section):
    """POST each alert of a route to a URL: signed, idempotent, retried, dead-lettered after the budget."""

    url: str = Field(description="Where alerts are POSTed (`http://` or `https://`).")
    format: Literal["generic", "slack"] = Field(
        "generic",
        description="`generic`: the alert as on the topic (JSON Schema `schemas/alert.schema.json`); "
        "`slack`: a Slack incoming-webhook message (`text` and `blocks`).",
    )
    secret: SecretStr | None = Field(
        None,
        description="Signs each request: `X-Wirewatch-Signature: sha256=<hex HMAC-SHA256 of "
        '"<X-Wirewatch-Timestamp>.<body>">`; use `${ENV_VAR}` rather than the secret itself.',
    )
    headers: dict[str, str] = Field({}, description="Extra request headers (an `Authorization`, say).")
    timeout: Duration = Field(10.0, gt=0, description="Time limit of one request, connecting included.")
    max_attempts: int = Field(8, ge=1, le=100, description="Requests per alert before it is dead-lettered.")
    retry_budget: Duration = Field(
        600.0, gt=0, description="Longest time from an alert's first attempt to its last; then dead-lettered."
    )
    backoff_initial: Duration = Field(
        0.5, gt=0, description="First retry delay; doubles each attempt, with full jitter."
    )
    backoff_max: Duration = Field(
        60.0,
        gt=0,
        description="Longest computed wait (a receiver's `Retry-After` is honoured as given, within budget).",
    )
    concurrency: int = Field(4, ge=1, le=256, description="Requests in flight at once for this route.")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value


class RouteConfig(_Section):
    """A further alert topic and the alerts it takes, optionally delivered to a webhook.

    Every alert goes to `<prefix>alerts`; a route also copies the alerts it
    matches to `<prefix>alerts.<name>`, keyed by alert id. The criteria a route
    gives must all hold (detectors: any of; labels: any of); a route with none
    takes every alert. A route naming a detector id or a label no detector has
    is a config error at its key and line (checked against the detectors the
    file starts with; a detectors document applied later that drops them
    leaves the route matching nothing).

    ```yaml
    routes:
      - name: ceasefire            # topic wirewatch.alerts.ceasefire
        labels: [ceasefire]
      - name: critical
        min_severity: critical
        webhook:
          url: https://hooks.slack.com/services/${SLACK_PATH}
          format: slack
      - name: desk
        detectors: [pow-exchange, ceasefire-new-term]
        retention: 30d
        webhook: {url: "https://desk.example/wirewatch", secret: "${DESK_WEBHOOK_SECRET}"}
    ```

    Webhook delivery: timeouts, connection errors, 408, 425, 429 and 5xx are
    retried; any other status is the receiver refusing the alert and is not.
    Every request carries `Idempotency-Key: <alert id>` (and
    `X-Wirewatch-Alert-Id`): alert ids are deterministic, so a receiver that
    keeps the keys it has taken gets each alert once, whatever a restart or a
    retry resends (a worker itself does not resend an id it has delivered).
    After `max_attempts` or `retry_budget` the alert goes to
    `<prefix>sinks.deadletter` with the last error (record `SinkDeadLetter`:
    sink, URL origin, the alert, attempts, error, times); a sink acknowledges
    its alerts only once each is delivered or dead-lettered, so nothing is
    lost, and a failing receiver holds back only its own route.
    """

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="The topic is `{topic_prefix}alerts.{name}`; letters, digits, `.`, `_`, `-`.",
    )
    detectors: tuple[str, ...] = Field((), description="Alerts of these detector ids (any of).")
    labels: tuple[str, ...] = Field((), description="Alerts carrying any of these labels.")
    min_severity: Severity | None = Field(None, description="Alerts of this severity and above.")
    partitions: int | None = Field(
        None, ge=1, le=1000, description="Partitions of the route topic; default `kafka.partitions`."
    )
    retention: Duration | None = Field(
        None, gt=0, description="Retention of the route topic; default `kafka.alert_retention`."
    )
    webhook: WebhookConfig | None = Field(None, description="Deliver this route's alerts to a URL too.")


def route_problems(routes: tuple[RouteConfig, ...], detectors: tuple[DetectorSpec, ...]) -> list[Problem]:
    """Duplicate route names, and detector ids or labels no detector has, each at its document path."""
    problems: list[Problem] = []
    ids = {d.id for d in detectors}
    labels = {label for d in detectors for label in d.labels}
    seen: set[str] = set()
    for i, route in enumerate(routes):
        if route.name in seen:
            problems.append((("routes", i, "name"), f"route name {route.name!r} is used twice"))
        seen.add(route.name)
        for j, detector in enumerate(route.detectors):
            if detector not in ids:
                problems.append((("routes", i, "detectors", j), f"no detector has the id {detector!r}"))
        for j, label in enumerate(route.labels):
            if label not in labels:
                known = ", ".join(sorted(labels)) or "none"
                problems.append(
                    (("routes", i, "labels", j), f"no detector has the label {label!r} (labels: {known})")
                )
    return problems
