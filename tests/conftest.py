"""Test tiers: ``tests/unit`` (pure logic, no Kafka), ``tests/integration`` (the real broker)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from monitor.config import EmbedConfig
from streams.embedder import prepare_backend

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Property tests: the test command replays the same generated examples every run
# (``derandomize``), so CI is reproducible and a red run is always our change.
# ``HYPOTHESIS_PROFILE=explore`` searches fresh random input, ten times longer;
# whatever it finds becomes an ``@example`` so the default profile keeps it.
_PROPERTY_DEFAULTS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "database": None}
settings.register_profile("repeatable", max_examples=300, derandomize=True, **_PROPERTY_DEFAULTS)
settings.register_profile("explore", max_examples=3000, **_PROPERTY_DEFAULTS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

pytest_plugins = ["tests.kafka_fixtures", "tests.secured_kafka", "tests.feed_server"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Load OpenVINO before any test runs, when a selected test encodes in this process.

    A process that runs the dedup index and the OpenVINO backend, as a worker
    may, must load OpenVINO first (``streams.embedder.prepare_backend``); usearch
    is imported on first use, so this comes before it. Pure-logic runs (no test
    marked ``model``) never load OpenVINO; an unmarked test that encodes after
    usearch fails with the load-order error, which names the cure.
    """
    if any(item.get_closest_marker("model") for item in session.items):
        prepare_backend(EmbedConfig(backend="openvino"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.quality import write_figures

    write_figures()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
