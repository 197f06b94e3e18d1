"""End to end on the real broker: real feeds over HTTP, the real model, the shipped detectors.

The seed report's events (the call, the 30-day ceasefire talk, the halt on
energy strikes, the air-raid alarm in Kyiv, the exchange of 175 prisoners, the
Zaporizhzhia plant) come through a wire feed, interleaved with unrelated AG
News items through a second feed, and the exchange again through a third
(an aggregator carrying the same report). One worker polls, embeds with
all-MiniLM-L6-v2, sequences and detects. Exactly the expected alerts come
out, once each, with the number of prisoners and the two articles of the
sequence.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from datetime import timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest

from monitor.config import WirewatchConfig, load_detectors
from monitor.prometheus import LocalPrometheus
from streams.records import Alert
from streams.topics import Topics
from tests.dashboard import queries as dashboard_queries
from tests.dashboard import render
from tests.feed_server import FeedServer
from tests.integration.test_dedup import ag_news
from tests.integration.test_detect import EXPECTED, SEED_STREAM, T0
from tests.kafka_helpers import read_all

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def rss(title: str, items: list[tuple[str, str, str, int]]) -> bytes:
    """RSS 2.0 with (link, title, description, minutes after T0) items."""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{escape(d)}</description>"
        f"<pubDate>{format_datetime(T0 + timedelta(minutes=m))}</pubDate></item>"
        for link, t, d, m in items
    )
    channel = f"<channel><title>{title}</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


async def alerts_on(config: WirewatchConfig, at_least: int, timeout: float = 240.0) -> list[Alert]:
    topic = Topics(config.kafka.topic_prefix).alerts
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(await read_all(config, topic)) >= at_least:
            break
        await asyncio.sleep(2)
    await asyncio.sleep(10)  # anything extra shows up now
    return [Alert.decode(r.value) for r in await read_all(config, topic)]


async def test_the_seed_report_through_feeds_alerts_exactly_once_each(
    wirewatch_config, worker_factory, feed_server: FeedServer, tmp_path: Path
) -> None:
    wire = [(f"https://wire.example/{aid}", title, summary, m) for aid, m, title, summary in SEED_STREAM]
    news = [(f"https://news.example/ag-{i}", t, d, 5 + i * 7) for i, (t, d) in enumerate(ag_news(30))]
    pows = next(item for item in wire if item[0].endswith("/pows"))
    mirror = [("https://aggregator.example/r/175-pows", pows[1], pows[2], pows[3] + 3)]
    feeds = [
        {"id": "wire", "url": feed_server.set("/seed/wire.xml", rss("Wire", wire)), "interval": "5s"},
        {"id": "news", "url": feed_server.set("/seed/news.xml", rss("News", news)), "interval": "5s"},
        {
            "id": "aggregator",
            "url": feed_server.set("/seed/agg.xml", rss("Aggregator", mirror)),
            "interval": "5s",
        },
    ]
    document = load_detectors(REPO / "examples" / "detectors.yaml")
    config = wirewatch_config(
        feeds=feeds,
        polling={"first_poll_spread": "1s", "per_host_spacing": 0},
        worker={"stages": ["poll", "embed", "dedup"]},
        entities=[e.model_dump(mode="json") for e in document.entities],
        detectors=[
            d.model_dump(mode="json", exclude_defaults=True) | {"kind": d.kind} for d in document.detectors
        ],
    )
    worker_factory(config, ready_timeout=180)
    prom = LocalPrometheus(tmp_path / "prometheus", [f"{config.metrics.host}:{config.metrics.port}"]).start()
    started = time.time()
    try:
        alerts = await alerts_on(config, len(EXPECTED))
        dashboard_shows_the_run(prom, started, tmp_path)
    finally:
        prom.stop()

    # the exchange alerts once, on whichever copy was sequenced first (the feeds are polled at once)
    same_report = {"175-pows": "pows"}
    fired = sorted((a.detector_id, a.articles[-1].url.rsplit("/", 1)[-1]) for a in alerts)
    assert sorted((d, same_report.get(a, a)) for d, a in fired) == sorted(EXPECTED), fired
    by_detector = {a.detector_id: a for a in alerts}
    assert by_detector["prisoner-exchange"].evidence["captured"] == {"prisoners": "175"}
    raid = by_detector["air-raid-after-call"]
    assert [r.url.rsplit("/", 1)[-1] for r in raid.articles] == ["call", "raid"]
    assert raid.evidence["join_key"] == "UA"
    assert "energy infrastructure" in by_detector["new-ceasefire-term"].evidence["new_terms"]
    sequenced = await read_all(config, Topics(config.kafka.topic_prefix).articles_sequenced)
    assert len(sequenced) >= len(wire) + len(news) + len(mirror), "every article went through"


# panels that must show this run; dead letters rightly stay empty
MUST_HAVE_DATA = [
    "Feed polls by outcome",
    "New items by feed",
    "Articles by stage",
    "Duplicate ratio",
    "Stories opened per hour",
    "Alerts by detector and severity",
    "Alert latency",
    "Embed and dedup batch time (p95)",
    "Consumer lag by topic",
    "Feed health",
    "Dedup window index",
    "Workers up",
]
PICTURED = [
    "Feed polls by outcome",
    "Articles by stage",
    "Duplicate ratio",
    "Alert latency",
    "Embed and dedup batch time (p95)",
    "Consumer lag by topic",
]


def dashboard_shows_the_run(prom: LocalPrometheus, started: float, tmp_path: Path) -> None:
    """Every dashboard query evaluates, the panels this run must fill have data, and a picture of them.

    ``WIREWATCH_DASHBOARD_PNG=docs/dashboard.png`` also writes the picture there (the README's).
    """
    time.sleep(6)  # two more scrapes after the last alert
    by_panel: dict[str, list[str]] = {}
    for title, expr in dashboard_queries(rate_interval="10m", range_="10m"):  # windows spanning the run
        by_panel.setdefault(title, []).append(expr)
    assert set(MUST_HAVE_DATA) <= set(by_panel)
    empty = [title for title in MUST_HAVE_DATA if not any(prom.query(e) for e in by_panel[title])]
    assert not empty, (empty, prom.log_tail())
    picture = render(prom, tmp_path / "dashboard.png", started, time.time(), PICTURED)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("WIREWATCH_DASHBOARD_PNG")
    if target:
        shutil.copyfile(picture, REPO / target)
