"""A real Prometheus server scrapes a worker, and the shipped alert rules evaluate on what it scraped.

The worker's ``/health`` and ``/ready`` answer too (``streams.app.add_health_pages``).

Prometheus is Debian's package (``monitor.prometheus``); the worker polls
real RSS over HTTP (one feed answers 500) into the real broker. The test
waits for scrapes, then asks the server itself: the worker is up, the
metrics the rules use have series (and Faust's sensor is there), every rule of
``deploy/prometheus/rules.yml`` was evaluated without error, and so does every
query of the Grafana dashboard.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from monitor.errors import PrometheusError
from monitor.outcomes import Outcome
from streams.records import Article
from streams.topics import Topics
from tests import factories
from tests.dashboard import queries as dashboard_queries
from tests.feed_server import FeedServer
from tests.integration.test_dedup import ag_news
from tests.integration.test_polling import FAST_POLLING, rss
from tests.kafka_fixtures import REPO_ROOT
from tests.kafka_helpers import produce
from tests.prometheus_server import LocalPrometheus

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"


def wait_for(prom: LocalPrometheus, expr: str, timeout: float = 90.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = prom.query(expr)
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"{expr!r} returned no data within {timeout:.0f}s:\n{prom.log_tail()}")


def test_prometheus_scrapes_a_worker_and_evaluates_every_rule(
    wirewatch_config, worker_factory, feed_server: FeedServer, tmp_path: Path
) -> None:
    feeds = [
        {"id": "wire", "url": feed_server.set("/prom/wire.xml", rss(1, 3)), "interval": "2s"},
        {"id": "daily", "url": feed_server.set("/prom/daily.xml", rss(2, 2)), "interval": "2s"},
        {"id": "broken", "url": feed_server.set("/prom/broken.xml", b"oops", status=500), "interval": "2s"},
    ]
    config = wirewatch_config(feeds=feeds, polling=FAST_POLLING, worker={"stages": ["poll"]})
    worker_factory(config)
    target = f"{config.metrics.host}:{config.metrics.port}"
    health = httpx.get(f"http://{target}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    ready = httpx.get(f"http://{target}/ready", timeout=10)  # the worker has logged "Worker ready"
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True
    assert ready.json()["assigned_partitions"] >= 1
    with LocalPrometheus(tmp_path / "prometheus", [target], rule_files=[RULES]) as prom:
        up = wait_for(prom, 'up{job="wirewatch"} == 1')
        assert up[0]["metric"]["instance"] == target

        wait_for(prom, "count(max by (feed) (wirewatch_feed_last_success_timestamp_seconds) > 0) == 2")
        intervals = prom.query("max by (feed) (wirewatch_feed_poll_interval_seconds)")
        assert {r["metric"]["feed"]: float(r["value"][1]) for r in intervals} == {
            "wire": 2.0,
            "daily": 2.0,
            "broken": 2.0,
        }
        failing = (
            f'sum by (feed, outcome) (wirewatch_feed_polls_total{{outcome!~"{Outcome.success_pattern()}"}})'
        )
        failed = wait_for(prom, failing)
        assert {r["metric"]["feed"] for r in failed} == {"broken"}
        wait_for(prom, 'sum(wirewatch_articles_total{stage="poll"}) >= 5')
        # Faust's own sensor, under a fixed prefix (not the per-deployment app id)
        wait_for(prom, "wirewatch_faust_messages_received_total > 0")

        # every rule evaluated on these series, without an error
        deadline = time.monotonic() + 30
        while True:
            groups = prom.api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules):
                break
            assert time.monotonic() < deadline, rules
            time.sleep(1)
        shipped = yaml.safe_load(RULES.read_text())["groups"]
        assert sorted(r["name"] for r in rules) == sorted(r["alert"] for g in shipped for r in g["rules"])
        unhealthy = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
        assert not unhealthy, unhealthy
        for rule in rules:
            prom.query(rule["query"])  # raises on an error
        # and every query of the shipped Grafana dashboard (its variables filled as Grafana does)
        for title, expr in dashboard_queries(rate_interval="30s", range_="5m"):
            try:
                prom.query(expr)
            except PrometheusError as exc:
                raise AssertionError(f"dashboard panel {title!r}: {exc}") from exc
        # and a rate panel has data once two scrapes of its counters are in
        wait_for(prom, "sum by (outcome) (rate(wirewatch_feed_polls_total[30s]))")


async def test_consumer_lag_rises_with_a_backlog_and_returns_to_zero(
    wirewatch_config, worker_factory, tmp_path: Path
) -> None:
    """A burst of raw articles on an embedding worker: the backlog is seen, then seen worked off."""
    config = wirewatch_config(worker={"stages": ["embed"]})
    worker_factory(config)
    target = f"{config.metrics.host}:{config.metrics.port}"
    raw = Topics(config.kafka.topic_prefix).articles_raw
    lag = f'sum(wirewatch_consumer_lag{{topic="{raw}"}})'
    with LocalPrometheus(tmp_path / "prometheus", [target]) as prom:
        wait_for(prom, f"{lag} == 0")  # the worker reports its (empty) partitions
        titles = ag_news(400)
        await produce(
            config, raw, [(f"lag-{i}".encode(), article(i, t).encode()) for i, t in enumerate(titles)]
        )
        peak = wait_for(prom, f"{lag} > 50", timeout=60)
        assert float(peak[0]["value"][1]) <= len(titles)
        wait_for(prom, f"{lag} == 0", timeout=240)
        high = prom.query(f"max_over_time({lag}[10m:1s])")
        assert float(high[0]["value"][1]) > 50


def article(i: int, title: tuple[str, str]) -> Article:
    at = factories.T0 + timedelta(seconds=i)
    return factories.article(
        f"lag-{i}", title[0], title[1], feed="ag", source="AG", url=f"https://ag.example/{i}", at=at
    )
