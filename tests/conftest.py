"""Test tiers: ``tests/unit`` (pure logic, no Kafka), ``tests/integration`` (the real broker)."""

from __future__ import annotations

import os

import pytest

from monitor.config import EmbedConfig
from streams.embedder import prepare_backend

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.kafka_fixtures", "tests.feed_server"]

# the test process runs the dedup index and the OpenVINO backend, as a worker may:
# OpenVINO must be loaded first (see streams.embedder.prepare_backend)
prepare_backend(EmbedConfig(backend="openvino"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
