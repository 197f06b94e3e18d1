"""The shipped Grafana dashboard and provisioning: well-formed, and every query names metrics we export.

A panel on a misspelt metric shows "No data" forever without an error, so the
metric names in the dashboard's and the alert rules' expressions are checked
against the metrics a worker registers. That the expressions evaluate on a
real Prometheus is ``tests/integration/test_prometheus.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import yaml

from monitor.metrics import Metrics
from monitor.outcomes import Outcome
from streams.app import ConsumerLag, RecoveryProgress
from tests.dashboard import DASHBOARD, panels, queries

GRAFANA = DASHBOARD.parent.parent
RULES = GRAFANA.parent / "prometheus" / "rules.yml"
METRIC = re.compile(r"\b(wirewatch_[a-z0-9_]+)")


def exported_names() -> set[str]:
    # streams.app's collectors read the live app at scrape time; on an app with no
    # consumer they still yield their (empty) families, with the names they export
    idle_app = SimpleNamespace(consumer=None, tables=None)
    collectors = [Metrics().registry, ConsumerLag(idle_app), RecoveryProgress(idle_app)]
    names: set[str] = set()
    for family in (family for collector in collectors for family in collector.collect()):
        base = family.name
        names |= {base, f"{base}_total", f"{base}_bucket", f"{base}_count", f"{base}_sum"}
    return names


def test_provisioning_points_the_dashboard_at_the_provisioned_datasource() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    assert source["type"] == "prometheus"
    for panel in panels():
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "wirewatch.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_panels_do_not_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels():
        g = panel["gridPos"]
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert g["x"] + g["w"] <= 24, panel["title"]
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_names_metrics_a_worker_exports() -> None:
    exported = exported_names()
    used = {(title, name) for title, expr in queries() for name in METRIC.findall(expr)}
    assert used
    missing = sorted((title, name) for title, name in used if name not in exported)
    assert not missing, missing


def test_every_alert_rule_names_metrics_a_worker_exports() -> None:
    rules = yaml.safe_load(Path(RULES).read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    missing = sorted({n for e in exprs for n in METRIC.findall(e)} - exported_names())
    assert not missing, missing


def test_the_dashboard_covers_what_operators_look_at() -> None:
    exprs = " ".join(expr for _, expr in queries())
    for metric in (
        "wirewatch_feed_polls_total",
        "wirewatch_articles_total",
        "wirewatch_duplicates_total",
        "wirewatch_stories_opened_total",
        "wirewatch_alerts_total",
        "wirewatch_alert_latency_seconds_bucket",
        "wirewatch_feed_last_success_timestamp_seconds",
        "wirewatch_consumer_lag",
        "wirewatch_deadletter_messages_total",
    ):
        assert metric in exprs, metric


def success_patterns() -> list[tuple[str, str]]:
    """Where a poll outcome is judged a success or a failure: ``outcome!~"…"`` in the rules and dashboard."""
    pattern = re.compile(r'outcome!~"([^"]+)"')
    rules = yaml.safe_load(RULES.read_text())["groups"]
    found = [(f"rules.yml {r.get('alert') or r.get('record')}", r["expr"]) for g in rules for r in g["rules"]]
    found += [(f"dashboard {title}", expr) for title, expr in queries()]
    return [(where, match) for where, expr in found for match in pattern.findall(expr)]


def test_poll_success_is_judged_by_the_outcome_set_in_code() -> None:
    """A 200 with an unchanged body (``unchanged``) once counted as a failed poll in the rule and panel."""
    successes = {str(outcome) for outcome in Outcome.successes()}
    patterns = success_patterns()
    assert any(where.startswith("rules.yml") for where, _ in patterns)
    assert any(where.startswith("dashboard") for where, _ in patterns)
    for where, pattern in patterns:
        assert set(pattern.split("|")) == successes, where
    assert successes == {"ok", "not_modified", "unchanged"}
    assert all(outcome.is_success == (outcome in successes) for outcome in Outcome)
