"""How an alert looks in a terminal (``wirewatch alerts tail``, the demo) and as one JSON line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from detectors.base import Severity
from detectors.durations import parse_duration
from streams.records import Alert

SEVERITY_STYLE = {
    Severity.info: "dim",
    Severity.low: "cyan",
    Severity.medium: "yellow",
    Severity.high: "bold red",
    Severity.critical: "bold white on red",
}
EVIDENCE_SHOWN = 3  # short evidence items on the second line; --json has all of it


def alert_text(alert: Alert) -> Text:
    """Two or three lines: when, severity, detector and title; the articles; the evidence that fits."""
    severity = Severity(alert.severity)
    text = Text()
    text.append(f"{alert.fired_at.astimezone():%H:%M:%S} ", style="dim")
    text.append(f"{severity.value.upper():<8}", style=SEVERITY_STYLE[severity])
    text.append(f" {alert.detector_id}", style="bold")
    text.append(f"  {alert.title}\n")
    for ref in alert.articles:
        text.append(f"         {ref.source} · {ref.published_at.astimezone():%H:%M:%S} · ", style="dim")
        text.append(ref.url, style="underline")
        text.append("\n")
    shown = _short_evidence(alert.evidence)
    if shown:
        text.append("         " + "  ".join(f"{k}={v}" for k, v in shown), style="green")
        text.append("\n")
    text.append(f"         id {alert.id}", style="dim")
    return text


def alert_json(alert: Alert) -> str:
    """One line, the record exactly as on the topic (schema: ``wirewatch schema alert``)."""
    return json.dumps(alert.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``90s``, ``1h``, ``7d``) or an ISO 8601 time."""
    now = now or datetime.now(UTC)
    try:
        return now.fromtimestamp(now.timestamp() - parse_duration(value), UTC)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--since takes a duration (1h, 30m) or an ISO 8601 time, not {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _short_evidence(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """What a person reads first: captured values, new or matched terms, the join; then short scalars."""
    shown: list[tuple[str, str]] = []
    captured = evidence.get("captured")
    if isinstance(captured, dict):
        shown.extend((str(k), str(v)) for k, v in captured.items())
    for key in PRIORITY:
        value = evidence.get(key)
        if isinstance(value, list | tuple) and value:
            shown.append((key, ", ".join(map(str, value))))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            shown.append((key, str(value)))
    for key, value in evidence.items():
        if key not in PRIORITY and isinstance(value, int | float) and not isinstance(value, bool):
            shown.append((key, str(value)))
    return [(k, v if len(v) <= 60 else v[:57] + "...") for k, v in shown[:EVIDENCE_SHOWN]]


PRIORITY = ("new_terms", "matched_terms", "join_key", "gap_seconds", "similarity", "count")
