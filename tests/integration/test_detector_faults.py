"""Failure drill: a detector that raises at evaluation time, on a worker over the real broker. It is
disabled after its error limit and reported (log, metric); the shipped detectors keep firing; and a
restarted worker, reading the detectors' state from its changelog, keeps it disabled."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.loading import load_detectors
from streams.records import EnrichedArticle
from streams.topics import Topics
from tests.integration.test_detect import EXPECTED, REPO, alerts, article, scrape, stream
from tests.kafka_helpers import produce
from tests.plugins import install_plugin

FAULTY = {"id": "faulty", "kind": "faulty", "description": "A detector with a bug", "error_limit": 3}


async def test_a_raising_detector_is_disabled_and_reported_and_the_others_keep_firing(
    wirewatch_config, worker_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the faulty kind is installed as a third-party package would be, for the workers and the CLI
    site = install_plugin(tmp_path / "site", {"faulty": "tests.plugins.faulty_kind:FaultySpec"})
    monkeypatch.setenv("PYTHONPATH", str(site))
    document = load_detectors(REPO / "examples" / "detectors.yaml")
    config = wirewatch_config(
        worker={"stages": ["dedup"]},
        pipeline={"dedup": {"store": "rocksdb"}},
        entities=[e.model_dump(mode="json") for e in document.entities],
    )
    topics = Topics(config.kafka.topic_prefix)
    worker = worker_factory(config)

    shipped = yaml.safe_load((REPO / "examples" / "detectors.yaml").read_text())
    release = tmp_path / "with-faulty.yaml"
    detectors = [FAULTY, *shipped["detectors"]]
    release.write_text(yaml.safe_dump({**shipped, "version": "with-faulty", "detectors": detectors}))
    applied = apply(release, worker.config_path, site)
    assert applied.returncode == 0, applied
    worker.wait_for_log("switched to detectors version with-faulty", 60)

    await produce(config, topics.articles_enriched, [(e.article.id.encode(), e.encode()) for e in stream()])
    fired = await alerts(config, len(EXPECTED))
    assert {(a.detector_id, a.articles[-1].id) for a in fired} == EXPECTED
    assert len(fired) == len(EXPECTED)

    worker.wait_for_log("detector faulty disabled after 3 errors", 30)
    assert "RuntimeError: faulty detector met" in worker.log()
    metrics = scrape(config)
    faulty = (("detector", "faulty"),)
    assert metrics[("wirewatch_detector_disabled", faulty)] == 1
    assert metrics[("wirewatch_detector_errors_total", faulty)] == 3, "no evaluation after it was disabled"
    assert metrics[("wirewatch_detector_evaluations_total", faulty)] == 3
    for detector_id, _ in EXPECTED:
        assert metrics[("wirewatch_detector_disabled", (("detector", detector_id),))] == 0

    # a restarted worker learns the decision from the detectors' state, not by failing again
    worker.stop()
    restarted = worker_factory(config)
    restarted.wait_for_log("switched to detectors version with-faulty", 60)
    calm = article("late", 200, "Markets calm", "")
    late = EnrichedArticle.of(calm, None, "none", datetime.now(UTC), skipped_reason="test")
    await produce(config, topics.articles_enriched, [(b"late", late.encode())])
    restarted.wait_for_log("detector faulty is disabled (3 errors", 60)
    metrics = scrape(config)
    assert metrics[("wirewatch_detector_disabled", faulty)] == 1
    assert ("wirewatch_detector_errors_total", faulty) not in metrics


def apply(release: Path, config_path: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``wirewatch detectors apply`` with the plugin installed (the kind must validate)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "detectors", "apply", str(release), "-c", str(config_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)]), "HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
