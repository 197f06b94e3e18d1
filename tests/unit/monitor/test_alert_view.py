"""What a subscriber sees: the terminal lines, the JSON line, filters, each alert id once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from detectors.base import Severity
from monitor.alert_view import alert_json, alert_text, parse_since
from streams.records import Alert
from streams.subscribe import AlertFilter, SeenIds
from tests.unit.streams.test_records import make_alert

REPO = Path(__file__).resolve().parents[3]


def rendered(alert: Alert) -> str:
    console = Console(width=200, record=True, force_terminal=False)
    console.print(alert_text(alert))
    return console.export_text()


def test_the_terminal_shows_severity_detector_title_article_evidence_and_id() -> None:
    alert = make_alert().model_copy(update={"evidence": {"captured": {"prisoners": "175"}, "join_key": "UA"}})
    text = rendered(alert)
    first = text.splitlines()[0]
    assert "HIGH" in first
    assert "air-raid-after-call" in first
    assert alert.title in first
    assert alert.articles[0].url in text
    assert "prisoners=175" in text
    assert "join_key=UA" in text
    assert f"id {alert.id}" in text


def test_long_and_nested_evidence_is_left_to_json() -> None:
    alert = make_alert().model_copy(
        update={"evidence": {"spans": [[1, 2]], "first": {"article": {"id": "x"}}, "new_terms": ["a" * 100]}}
    )
    line = rendered(alert).splitlines()[2]
    assert line.strip().startswith("new_terms=")
    assert line.strip().endswith("...")
    assert "spans" not in line


def test_the_json_line_is_the_record_and_valid_against_the_published_schema() -> None:
    alert = make_alert()
    line = alert_json(alert)
    assert "\n" not in line
    assert Alert.decode(line) == alert
    schema = json.loads((REPO / "schemas" / "alert.schema.json").read_text())
    jsonschema.validate(json.loads(line), schema)


def test_since_takes_a_duration_back_or_an_iso_time() -> None:
    now = datetime(2025, 3, 18, 18, 0, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2025-03-18T16:00:00+01:00", now) == datetime(2025, 3, 18, 15, 0, tzinfo=UTC)
    assert parse_since("2025-03-18T16:00", now) == datetime(2025, 3, 18, 16, 0, tzinfo=UTC)  # naive: UTC
    with pytest.raises(ValueError, match=r"duration .* or an ISO 8601 time"):
        parse_since("yesterday", now)


def test_filters_by_detector_minimum_severity_and_any_label() -> None:
    alert = make_alert()  # air-raid-after-call, high, labels (ukraine,)
    assert AlertFilter().accepts(alert)
    assert AlertFilter(detectors=frozenset({"air-raid-after-call", "x"})).accepts(alert)
    assert not AlertFilter(detectors=frozenset({"prisoner-exchange"})).accepts(alert)
    assert AlertFilter(min_severity=Severity.medium).accepts(alert)
    assert AlertFilter(min_severity=Severity.high).accepts(alert)
    assert not AlertFilter(min_severity=Severity.critical).accepts(alert)
    assert AlertFilter(labels=frozenset({"ukraine", "other"})).accepts(alert)
    assert not AlertFilter(labels=frozenset({"nuclear"})).accepts(alert)


def test_each_alert_id_is_shown_once_and_memory_is_bounded() -> None:
    seen = SeenIds(limit=3)
    assert [seen.first_time(i) for i in "abab"] == [True, True, False, False]
    for i in "cde":
        assert seen.first_time(i)
    assert seen.first_time("a")  # forgotten after three newer ids
    assert not seen.first_time("e")
