"""The demo's news and its feed server: timed items, edits, real RSS over real HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import feedparser
import httpx

from monitor.demo import DEMO_DIR, DemoClock, DemoFeedServer, DemoNews, render_feed
from monitor.loading import load_detectors


def test_the_news_is_in_time_order_and_expects_what_the_shipped_detectors_can_fire() -> None:
    news = DemoNews.load()
    times = [i.at for i in news.items]
    assert times == sorted(times)
    assert 60 <= news.duration <= 150, "the demo fires within about two minutes"
    detectors = {d.id: d for d in load_detectors(DEMO_DIR.parent / "detectors.yaml").detectors}
    ids = {i.id for i in news.items}
    for expected in news.expect:
        assert expected.item in ids
        assert detectors[expected.detector].alert, expected
    assert {i.outlet for i in news.items} == {o.id for o in news.outlets}


class StoppedClock(DemoClock):
    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at
        self.started = 0.0
        self.started_at = datetime(2025, 3, 18, 16, 0, tzinfo=UTC)

    def elapsed(self) -> float:
        return self.at


def entries(news: DemoNews, outlet: str, at: float) -> list[feedparser.FeedParserDict]:
    feed = feedparser.parse(
        render_feed(news, next(o for o in news.outlets if o.id == outlet), StoppedClock(at))
    )
    assert not feed.bozo, feed.bozo_exception
    return list(feed.entries)


def test_items_appear_on_time_newest_first_and_an_edit_replaces_its_report() -> None:
    news = DemoNews.load()
    assert entries(news, "kyiv-wire", 0) == []
    shown = entries(news, "kyiv-wire", 66)
    assert [e.link.rsplit("/", 1)[-1] for e in shown] == ["raid", "energy", "call"]
    assert shown[0].title == "Air raid alarm in Kyiv shortly after the call"
    assert shown[0].published_parsed[:6] == (2025, 3, 18, 16, 1, 4)
    edited = entries(news, "kyiv-wire", 90)
    raids = [e for e in edited if e.link.endswith("/raid")]
    assert len(raids) == 1
    assert raids[0].title.startswith("Explosions in Kyiv")
    assert raids[0].published_parsed[:6] == (2025, 3, 18, 16, 1, 26)  # the edit's time


def test_the_news_starts_when_the_worker_is_ready_and_feeds_answer_conditional_requests() -> None:
    with DemoFeedServer(speed=1000.0) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/nope.xml").status_code == 404
        before = client.get("/city-ledger.xml")
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("application/rss+xml")
        assert feedparser.parse(before.content).entries == []  # valid and empty until the start
        # the server's own 404 page stands in for a worker that is not ready, then it is
        waiting = server.start_news_when_ready(f"{server.url}/nope.xml", timeout=1.0)
        waiting.join()
        assert server.clock.started is None
        server.start_news_when_ready(f"{server.url}/city-ledger.xml").join(timeout=10)
        assert server.clock.started is not None
        time.sleep(0.2)  # 1000× faster: every item is out
        assert server.finished
        full = client.get("/city-ledger.xml")
        assert len(feedparser.parse(full.content).entries) == sum(
            1 for i in server.news.items if i.outlet == "city-ledger"
        )
        again = client.get("/city-ledger.xml", headers={"If-None-Match": full.headers["etag"]})
        assert again.status_code == 304
