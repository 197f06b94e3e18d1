"""``monitor.outcomes.Outcome``: the closed set of poll outcomes the metrics, rules and dashboard share."""

from __future__ import annotations

import pytest

from monitor.outcomes import Outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (300, "http_3xx"),
        (403, "http_4xx"),
        (451, "http_4xx"),
        (500, "http_5xx"),
        (599, "http_5xx"),
        (700, "http_error"),
    ],
)
def test_a_failed_status_maps_to_its_class(status: int, outcome: str) -> None:
    assert Outcome.of_status(status) == outcome
    assert not Outcome.of_status(status).is_success


def test_the_success_pattern_names_exactly_the_successes() -> None:
    assert Outcome.success_pattern() == "not_modified|ok|unchanged"
    assert {o for o in Outcome if o.is_success} == Outcome.successes()


def test_outcomes_are_label_values() -> None:
    """Prometheus label values and FeedState.last_outcome: plain lowercase words, unique."""
    values = [str(o) for o in Outcome]
    assert len(set(values)) == len(values)
    assert all(v == v.lower() and " " not in v for v in values)
