"""Replaying 364 real BBC polls in order through the real HTTP path publishes each article once.

Links come back with tracking parameters and edited titles: the same link is
one article id; an edited entry is an update (same id, next revision), never a
second new article.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from monitor.config import PollingConfig
from monitor.fetch import Fetcher, make_client
from monitor.parsing import ParserPool
from monitor.polling import poll_feed
from streams.records import FeedSpec, FeedState
from tests.feed_server import SHARED_FEEDS, FeedServer

SNAPSHOTS = sorted((SHARED_FEEDS / "snapshots" / "bbc-news-home").glob("*.xml"))
ITEM_LINK = re.compile(rb"<item>.*?<link>([^<]*)</link>", re.S)


def unique_links() -> set[str]:
    """Independent count: item links without query string or fragment."""
    links = set()
    for path in SNAPSHOTS:
        for raw in ITEM_LINK.findall(path.read_bytes()):
            parts = urlsplit(raw.decode().strip().replace("&amp;", "&"))
            links.add(f"{parts.scheme}://{parts.netloc.lower()}{parts.path}")
    return links


@pytest.mark.slow
async def test_bbc_polls_replayed_in_order_publish_each_article_once(feed_server: FeedServer) -> None:
    assert len(SNAPSHOTS) > 300, f"the BBC snapshots are missing under {SHARED_FEEDS} (set WIREWATCH_SHARED)"
    settings = PollingConfig(per_host_spacing=0)
    client = make_client(settings)
    parser = ParserPool(workers=1, timeout=30)
    spec = FeedSpec(id="bbc", url=feed_server.url("/bbc/rss.xml"), interval_seconds=300)
    state = FeedState(feed_id="bbc")
    published: list[tuple[str, int, str]] = []
    outcomes: Counter[str] = Counter()
    try:
        for path in SNAPSHOTS:
            feed_server.set("/bbc/rss.xml", path.read_bytes())
            polled_at = datetime.strptime(path.name[:20], "%Y%m%dT%H%M%S%z").timestamp()
            result = await poll_feed(
                spec, state, Fetcher(client, settings), parser, settings, now=polled_at, rng=random.Random(0)
            )
            outcomes[result.outcome] += 1
            state = result.state
            published += [(a.id, a.revision, a.title) for a in result.articles]
    finally:
        await client.aclose()
        parser.close()

    firsts = Counter(article_id for article_id, revision, _ in published if revision == 0)
    assert max(firsts.values()) == 1, "an article was published as new twice"
    assert len(firsts) == len(unique_links()), "every unique link is one article, none missing"
    revisions: dict[str, list[int]] = {}
    for article_id, revision, _ in published:
        revisions.setdefault(article_id, []).append(revision)
    for article_id, revs in revisions.items():
        assert revs == list(range(len(revs))), f"{article_id}: revisions {revs} must count up from 0"
    updates = sum(len(r) - 1 for r in revisions.values())
    assert updates > 0, "the BBC history has edited titles: they must come through as updates"
    # byte-identical consecutive polls and the empty poll are recognised
    assert outcomes["not_modified"] + outcomes["unchanged"] > 0, outcomes
    assert outcomes["empty_body"] == 1, outcomes
    print(f"\n{len(SNAPSHOTS)} polls: {len(firsts)} articles, {updates} updates, outcomes {dict(outcomes)}")
