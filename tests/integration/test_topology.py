"""The production topology as local processes: one broker, two workers, Prometheus, the demo news.

What docker-compose.yml runs (Kafka, ``--scale worker=2``, Prometheus with the
shipped rules), started by the test on this machine: the two workers share the
feeds and partitions, the demo news fires exactly the expected alerts once
each, Prometheus scrapes both workers, and the totals across workers add up.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from monitor.demo import DemoFeedServer, wait_until_ready
from tests.integration.test_demo_end_to_end import COPIES, alerts_after_the_news, demo_config
from tests.integration.test_prometheus import wait_for
from tests.kafka_fixtures import sibling_worker
from tests.prometheus_server import LocalPrometheus

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules.yml"


async def test_two_workers_share_the_demo_news_and_prometheus_sees_both(
    wirewatch_config, worker_factory, tmp_path: Path
) -> None:
    with DemoFeedServer(speed=2.0) as feeds:
        first = demo_config(wirewatch_config, feeds.url)
        second = sibling_worker(first, "second")
        workers = [worker_factory(c, ready_timeout=180) for c in (first, second)]
        targets = [f"{c.metrics.host}:{c.metrics.port}" for c in (first, second)]
        for target in targets:  # both prepared and settled in one group before the news starts
            assert wait_until_ready(f"http://{target}/ready", threading.Event(), timeout=180)
        feeds.clock.start()
        prom = LocalPrometheus(tmp_path / "prometheus", targets, rule_files=[RULES]).start()
        try:
            alerts = await alerts_after_the_news(first, feeds, len(feeds.news.expect))
            await asyncio.sleep(4)  # a last scrape of both
            assert len(wait_for(prom, 'up{job="wirewatch"} == 1')) == 2
            owned = prom.query("sum(wirewatch_feeds_owned)")
            assert float(owned[0]["value"][1]) == len(feeds.news.outlets), "every feed polled, by one worker"
            sent = prom.query("sum(wirewatch_alerts_total)")
            assert float(sent[0]["value"][1]) == len(feeds.news.expect)
            polled = prom.query('sum(wirewatch_articles_total{stage="poll"})')
            assert float(polled[0]["value"][1]) == len(feeds.news.items)
            embedded = prom.query('count(wirewatch_articles_total{stage="embed"} > 0)')
            assert embedded, "the embed stage ran"
        finally:
            prom.stop()
    assert all(w.proc is not None and w.proc.poll() is None for w in workers), "both workers still run"

    item = {feeds.link(i): i.id for i in feeds.news.items}
    on = [item[a.articles[-1].url] for a in alerts]
    fired = sorted((a.detector_id, COPIES.get(i, i)) for a, i in zip(alerts, on, strict=True))
    assert fired == sorted((e.detector, e.item) for e in feeds.news.expect), fired
    assert len({a.id for a in alerts}) == len(alerts)
