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
import time
from datetime import timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest

from monitor.config import WirewatchConfig
from monitor.loading import load_detectors
from streams.records import Alert
from streams.topics import Topics
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
    wirewatch_config, worker_factory, feed_server: FeedServer
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
    alerts = await alerts_on(config, len(EXPECTED))

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
