"""`routes:` in wirewatch.yaml: matching, and errors that name the key and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from detectors.base import Severity
from monitor.config import WirewatchConfig
from monitor.errors import ConfigError
from monitor.loading import load_config, parse_config
from streams.agents.route import matching_routes, route_filter
from streams.topics import Topics, topic_specs
from tests.unit.streams.test_records import make_alert

DETECTORS = """\
detectors:
  - id: ceasefire-terms
    kind: keyword
    any: [ceasefire]
    labels: [ceasefire, ukraine]
  - id: pow-exchange
    kind: keyword
    any: [prisoners]
    severity: high
    labels: [ukraine]
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), source="w.yaml", env={})
    return caught.value.issues


def with_routes(routes: str) -> WirewatchConfig:
    """The shared detectors plus ``routes`` (indented YAML), validated."""
    return parse_config(DETECTORS + textwrap.dedent(routes), env={})


def test_routes_parse_and_make_topics() -> None:
    config = with_routes(
        """\
        routes:
          - name: ceasefire
            labels: [ceasefire]
            retention: 30d
          - name: critical
            min_severity: critical
            partitions: 1
        """
    )
    assert [r.name for r in config.routes] == ["ceasefire", "critical"]
    specs = {s.name: s for s in topic_specs(config.kafka, config.routes)}
    ceasefire = specs[Topics().route("ceasefire")]
    assert ceasefire.name == "wirewatch.alerts.ceasefire"
    assert ceasefire.partitions == config.kafka.partitions
    assert ceasefire.configs["retention.ms"] == str(30 * 86400 * 1000)
    assert specs["wirewatch.alerts.critical"].partitions == 1
    assert "wirewatch.sinks.deadletter" in specs


def test_unknown_detector_and_label_are_errors_at_their_line() -> None:
    issues = errors_of(
        DETECTORS
        + """\
routes:
  - name: desk
    detectors: [pow-exchange, ceasfire-terms]
    labels: [ukrane]
"""
    )
    assert issues == [
        "w.yaml:13:31: routes[0].detectors[1]: no detector has the id 'ceasfire-terms'",
        "w.yaml:14:14: routes[0].labels[0]: no detector has the label 'ukrane' (labels: ceasefire, ukraine)",
    ]


def test_bad_route_keys_are_named() -> None:
    issues = errors_of(
        DETECTORS
        + """\
routes:
  - name: "bad name"
    min_severity: urgent
    webhook: {url: "ftp://x.example/hook", retires: 3}
"""
    )
    assert issues == [
        "w.yaml:12:5: routes[0].name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'",
        "w.yaml:13:5: routes[0].min_severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'",
        "w.yaml:14:15: routes[0].webhook.url: Value error, must be an http:// or https:// URL",
        "w.yaml:14:44: routes[0].webhook.retires: unknown key; allowed here: backoff_initial, backoff_max, "
        "concurrency, format, headers, max_attempts, retry_budget, secret, timeout, url",
    ]


def test_duplicate_route_names_are_an_error() -> None:
    issues = errors_of(DETECTORS + "routes:\n  - name: ok\n  - name: ok\n")
    assert issues == ["w.yaml:13:5: routes[1].name: route name 'ok' is used twice"]


def test_routes_are_checked_against_a_detectors_file(tmp_path: Path) -> None:
    (tmp_path / "detectors.yaml").write_text(DETECTORS)
    (tmp_path / "w.yaml").write_text(
        "detectors_file: detectors.yaml\nroutes:\n  - name: desk\n    detectors: [nope]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "w.yaml", env={})
    assert caught.value.issues == [
        f"{tmp_path / 'w.yaml'}:4:17: routes[0].detectors[0]: no detector has the id 'nope'"
    ]
    (tmp_path / "w.yaml").write_text(
        "detectors_file: detectors.yaml\nroutes:\n  - name: desk\n    detectors: [pow-exchange]\n"
    )
    assert load_config(tmp_path / "w.yaml", env={}).routes[0].detectors == ("pow-exchange",)


def test_an_alert_goes_to_every_route_it_matches_and_no_other() -> None:
    config = with_routes(
        """\
        routes:
          - name: all
          - name: ceasefire
            labels: [ceasefire]
          - name: high
            min_severity: high
          - name: pow-high
            detectors: [pow-exchange]
            min_severity: high
          - name: ukraine-critical
            labels: [ukraine]
            min_severity: critical
        """
    )
    routes = [(r.name, route_filter(r)) for r in config.routes]

    def alert(detector: str, severity: Severity, *labels: str):  # type: ignore[no-untyped-def]
        return make_alert().model_copy(
            update={"detector_id": detector, "severity": severity, "labels": labels}
        )

    assert matching_routes(alert("ceasefire-terms", Severity.medium, "ceasefire", "ukraine"), routes) == [
        "all",
        "ceasefire",
    ]
    assert matching_routes(alert("pow-exchange", Severity.high, "ukraine"), routes) == [
        "all",
        "high",
        "pow-high",
    ]
    assert matching_routes(alert("pow-exchange", Severity.critical, "ukraine"), routes) == [
        "all",
        "high",
        "pow-high",
        "ukraine-critical",
    ]
    assert matching_routes(alert("other", Severity.low), routes) == ["all"]
