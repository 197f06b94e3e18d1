"""The shipped Grafana dashboard's queries, as Prometheus evaluates them (Grafana's variables filled in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "dashboards" / "wirewatch.json"


def panels() -> list[dict[str, Any]]:
    return list(json.loads(DASHBOARD.read_text())["panels"])


def queries(rate_interval: str = "1m", range_: str = "10m") -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target; ``$__rate_interval`` and ``$__range`` filled as Grafana does."""
    out = []
    for panel in panels():
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", rate_interval).replace("$__range", range_)
            out.append((panel["title"], expr))
    return out
