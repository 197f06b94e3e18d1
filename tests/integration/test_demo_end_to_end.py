"""The demo's news through the whole pipeline, watched by a real Prometheus.

The bundled demo outlets (``examples/demo/news.yaml``) are served over HTTP on
their own clock (started when the worker is ready; here twice as fast as the demo), a worker with the demo's
configuration and the shipped detectors polls, embeds, sequences and detects
on the session's broker, and a real Prometheus scrapes it. Exactly the alerts
``news.yaml`` expects come out, once each; wire copy carried verbatim is an
exact duplicate, and every dashboard query evaluates with the panels this run
must fill showing data. The main panels are drawn to a PNG (the README's
picture: ``WIREWATCH_DASHBOARD_PNG=docs/dashboard.png``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from monitor.config import WirewatchConfig
from monitor.demo import DEMO_CONFIG, FEEDS_ENV, DemoFeedServer
from monitor.loading import load_config
from streams.records import Alert, SequencedArticle
from streams.topics import Topics
from tests.dashboard import queries as dashboard_queries
from tests.dashboard import render
from tests.kafka_helpers import read_all
from tests.prometheus_server import LocalPrometheus

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPEED = 2.0
# Global Desk carries Kyiv Wire's copy verbatim a few seconds later; polled in the same
# round, either copy may be sequenced first and carry the alert
COPIES = {"wire-call": "call", "wire-raid": "raid", "wire-pows": "pows"}

# panels that must show this run; dead letters rightly stay empty
MUST_HAVE_DATA = [
    "Feed polls by outcome",
    "New items by feed",
    "Articles by stage",
    "Duplicate ratio",
    "Stories: open, and opened per hour",
    "Alerts by detector and severity",
    "Alert latency",
    "Embed and dedup batch time (p95)",
    "Consumer lag by topic",
    "Feed health",
    "Dedup window index",
    "Workers up",
    "Detectors",
    "Alert routes",
    "State recovery",
    "Article pages by outcome",
    "Extraction success by feed",
    "Page wait and extraction time (p95)",
    "Extracted text length",
]
PICTURED = [
    "Feed polls by outcome",
    "Articles by stage",
    "Duplicate ratio",
    "Alert latency",
    "Embed and dedup batch time (p95)",
    "Consumer lag by topic",
]


def demo_config(wirewatch_config, feeds_url: str) -> WirewatchConfig:
    """The shipped demo configuration, on the test's broker, topics and ports."""
    demo = load_config(DEMO_CONFIG, env={FEEDS_ENV: feeds_url})
    return wirewatch_config(
        feeds=[f.model_dump(mode="json") for f in demo.feeds],
        polling=demo.polling.model_dump(mode="json"),
        entities=[e.model_dump(mode="json") for e in demo.entities],
        detectors=[
            d.model_dump(mode="json", exclude_defaults=True) | {"kind": d.kind} for d in demo.detectors
        ],
        routes=[r.model_dump(mode="json", exclude_none=True) for r in demo.routes],
        worker={"stages": list(demo.worker.stages)},
    )


async def test_the_demo_news_fire_the_expected_alerts_and_fill_the_dashboard(
    wirewatch_config, worker_factory, tmp_path: Path
) -> None:
    with DemoFeedServer(speed=SPEED) as feeds:
        config = demo_config(wirewatch_config, feeds.url)
        worker_factory(config, ready_timeout=180)
        feeds.start_news_when_ready(f"http://{config.metrics.host}:{config.metrics.port}/ready")
        prom = LocalPrometheus(tmp_path / "prometheus", [f"{config.metrics.host}:{config.metrics.port}"])
        prom.start()
        started = time.time()
        try:
            alerts = await alerts_after_the_news(config, feeds, len(feeds.news.expect))
            dashboard_shows_the_run(prom, started, tmp_path)
        finally:
            prom.stop()

    item = {feeds.link(i): i.id for i in feeds.news.items}
    on = [item[a.articles[-1].url] for a in alerts]
    fired = sorted((a.detector_id, COPIES.get(i, i)) for a, i in zip(alerts, on, strict=True))
    assert fired == sorted((e.detector, e.item) for e in feeds.news.expect), fired
    assert len({a.id for a in alerts}) == len(alerts)
    by_detector = {a.detector_id: a for a in alerts}
    assert by_detector["prisoner-exchange"].evidence["captured"] == {"prisoners": "175"}

    records = await read_all(config, Topics(config.kafka.topic_prefix).articles_sequenced)
    sequenced = [SequencedArticle.decode(r.value) for r in records]
    first_seen: dict[str, SequencedArticle] = {}
    for s in sorted((s for s in sequenced if not s.replayed), key=lambda s: s.decision.seq):
        first_seen.setdefault(item[s.article.url], s)
    assert set(first_seen) == set(item.values()), "every item went through"
    # each outlet's language is read from its articles' text, beside the language its feed declares
    outlet_language = {o.id: o.language for o in feeds.news.outlets}
    languages = {(s.article.feed_id, s.article.language, s.article.detected_language) for s in sequenced}
    assert languages == {(feed, lang, lang) for feed, lang in outlet_language.items()}, languages
    for copy, original in COPIES.items():  # of each verbatim pair, the later one is an exact duplicate
        pair = sorted(first_seen[i].decision.kind for i in (copy, original))
        assert pair == ["exact", "first"], (copy, original, pair)
    assert "update" in {s.decision.kind for s in sequenced}, "the edited raid report is an update"
    # the rewrites of Continental Post are near duplicates of the wire's reports; the swap's page,
    # reworded further than its teaser, makes it a report of the wire's story, not a duplicate
    near = {i: first_seen[i].decision for i in ("leaders-talk", "energy-pause")}
    assert {i: d.kind for i, d in near.items()} == dict.fromkeys(near, "near"), near
    assert first_seen["swap"].decision.story_id == first_seen["pows"].decision.story_id
    # every item's page was read: the English stories extracted, the stub pages left the feed's text
    bodies = {i.id: i.body for i in reversed(feeds.news.items)}  # an item's first version
    for name, s in first_seen.items():
        page = s.article.fulltext
        assert page is not None, name
        assert page.status == ("extracted" if bodies[name] else "no_text"), (name, page)
        if bodies[name]:
            assert page.extractor is not None
            assert page.extractor.startswith("trafilatura")
            assert s.article.content.startswith(bodies[name][0][:40]), (name, s.article.content)


async def alerts_after_the_news(
    config: WirewatchConfig, feeds: DemoFeedServer, at_least: int, timeout: float = 200.0
) -> list[Alert]:
    """The alerts once every item is out and at least ``at_least`` fired, plus time for extras.

    ``timeout`` must end before pytest's (300 s; the demo's news take about a minute), so a
    run short of alerts fails on its test's assertions, which name what is missing.
    """
    topic = Topics(config.kafka.topic_prefix).alerts
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if feeds.finished and len(await read_all(config, topic)) >= at_least:
            break
        await asyncio.sleep(2)
    await asyncio.sleep(10)  # anything extra (a second alert for an edit or a copy) shows up now
    return [Alert.decode(r.value) for r in await read_all(config, topic)]


def dashboard_shows_the_run(prom: LocalPrometheus, started: float, tmp_path: Path) -> None:
    """Every dashboard query evaluates, the panels this run must fill have data, and a picture of them."""
    time.sleep(6)  # two more scrapes after the last alert
    by_panel: dict[str, list[str]] = {}
    for title, expr in dashboard_queries(rate_interval="10m", range_="10m"):  # windows spanning the run
        by_panel.setdefault(title, []).append(expr)
    assert set(MUST_HAVE_DATA) <= set(by_panel)
    empty = [title for title in MUST_HAVE_DATA if not all(prom.query(e) for e in by_panel[title])]
    assert not empty, (empty, prom.log_tail())
    picture = render(prom, tmp_path / "dashboard.png", started, time.time(), PICTURED)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("WIREWATCH_DASHBOARD_PNG")
    if target:
        shutil.copyfile(picture, REPO / target)
