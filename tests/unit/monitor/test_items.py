"""Reading only a feed's new items decides exactly what reading the whole body does (``monitor.items``).

Each check replays bodies twice, once as a poll does (cut into items, the
known ones skipped) and once reading every body whole, and compares what
would be published, the counts and the seen index byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from monitor.items import ItemMemory, KnownItems, item_key, split_items
from monitor.normalize import FeedContext
from monitor.parsing import ParseResult, parse_feed
from monitor.polling import Recall, diff_entries
from streams.records import Article, FeedState
from tests.feed_server import SHARED_FEEDS

CONTEXT = FeedContext(feed_id="f", url="https://example.com/feed.xml")
HEADERS = {"content-type": "application/rss+xml"}
START = datetime(2025, 3, 19, 10, tzinfo=UTC)
LIMIT = 5000


def cut_poll(
    state: FeedState, body: bytes, at: datetime
) -> tuple[ParseResult, tuple[list[Article], FeedState, int, int, int]]:
    """One poll as ``poll_feed`` does it: the known items skipped, the diff told which they were."""
    recall = Recall.of(state)
    parsed = parse_feed(body, HEADERS, CONTEXT, at, recall.items)
    return parsed, recall.diff(parsed, state, at.timestamp(), LIMIT)


def replay(bodies: Sequence[tuple[bytes, datetime]], *, cut: bool) -> tuple[list[tuple[object, ...]], int]:
    """Per poll: (published ids, revisions and titles, new, updated, unchanged, seen blob); items skipped."""
    state = FeedState(feed_id="f")
    polls: list[tuple[object, ...]] = []
    skipped = 0
    for body, at in bodies:
        if cut:
            parsed, (publish, state, *counts) = cut_poll(state, body, at)
            skipped += sum(1 for _, index in parsed.items if index is None)
        else:
            parsed = parse_feed(body, HEADERS, CONTEXT, at)
            publish, state, *counts = diff_entries(parsed.articles, state, at.timestamp(), LIMIT)
        polls.append(([(a.id, a.revision, a.title, a.summary) for a in publish], *counts, state.seen))
    return polls, skipped


def assert_same_decisions(bodies: Sequence[tuple[bytes, datetime]]) -> int:
    whole, _ = replay(bodies, cut=False)
    cut, skipped = replay(bodies, cut=True)
    for number, (expected, got) in enumerate(zip(whole, cut, strict=True)):
        assert got == expected, f"poll {number}: reading only the new items decided differently"
    return skipped


def rss(*items: str, title: str = "Outlet", base: str = "") -> bytes:
    attributes = f' xml:base="{base}"' if base else ""
    body = "".join(items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{attributes}><channel>'
        f"<title>{title}</title><link>https://example.com/</link>{body}</channel></rss>"
    ).encode()


def item(n: int, title: str | None = None, link: str | None = None) -> str:
    return (
        f"<item><title>{title or f'Report {n}'}</title><link>{link or f'/news/{n}'}</link>"
        f"<description>Text of report {n}.</description></item>"
    )


def polls(*bodies: bytes) -> list[tuple[bytes, datetime]]:
    return [(body, START + timedelta(minutes=i)) for i, body in enumerate(bodies)]


def snapshots(name: str, count: int) -> list[tuple[bytes, datetime]]:
    paths = sorted((SHARED_FEEDS / "snapshots" / name).glob("*.xml"))[:count]
    assert len(paths) == count, f"the {name} snapshots are missing under {SHARED_FEEDS}"
    return [(p.read_bytes(), datetime.strptime(p.name[:20], "%Y%m%dT%H%M%S%z")) for p in paths]


@pytest.mark.parametrize("name", ["bbc-news-home", "aljazeera-english-youtube"])
def test_real_polls_decide_the_same_and_skip_what_they_saw(name: str) -> None:
    skipped = assert_same_decisions(snapshots(name, 60))
    assert skipped > 0, "unchanged items of consecutive polls were read again"


def test_a_feed_that_adds_one_item_a_poll_reads_one_item() -> None:
    first, second = rss(item(2), item(1)), rss(item(3), item(2), item(1))
    recall = Recall.of(replay_state(first))
    parsed = parse_feed(second, HEADERS, CONTEXT, START, recall.items)
    assert [a.title for a in parsed.articles] == ["Report 3"]
    assert [index for _, index in parsed.items] == [0, None, None]


def replay_state(*bodies: bytes) -> FeedState:
    state = FeedState(feed_id="f")
    for body, at in polls(*bodies):
        _, (_, state, *_) = cut_poll(state, body, at)
    return state


@pytest.mark.parametrize(
    "case",
    [
        # an edited item is an update; a removed and re-added item is still known
        [
            rss(item(2), item(1)),
            rss(item(2, "Report 2, edited"), item(1)),
            rss(item(1)),
            rss(item(2), item(1)),
        ],
        # the same link twice with different text: the first wins, and when it goes the second is an update
        [rss(item(1), item(9, "Second copy", "/news/1")), rss(item(9, "Second copy", "/news/1"))],
        # a new copy of a known link ahead of the known item, then the known item alone again
        [rss(item(1)), rss(item(9, "Second copy", "/news/1"), item(1)), rss(item(1))],
        # the channel's title is the articles' source: a new title reads every item again
        [rss(item(2), item(1)), rss(item(2), item(1), title="Renamed outlet")],
        # a new xml:base moves every relative link: every item is read again
        [rss(item(1), base="https://a.example/"), rss(item(1), base="https://b.example/")],
        # an item with nothing in it gives no article and is read every time
        [rss("<item></item>", item(1)), rss("<item></item>", item(1))],
    ],
    ids=["edit-remove-readd", "same-link-twice", "copy-ahead", "renamed", "new-base", "empty-item"],
)
def test_edge_cases_decide_the_same(case: list[bytes]) -> None:
    assert_same_decisions(polls(*case))


def test_a_new_scope_reads_every_item_again() -> None:
    state = replay_state(rss(item(2), item(1)))
    parsed = parse_feed(
        rss(item(2), item(1), title="Renamed"), HEADERS, CONTEXT, START, Recall.of(state).items
    )
    assert [a.source for a in parsed.articles] == ["Renamed", "Renamed"]
    assert all(index is not None for _, index in parsed.items)


def test_an_item_the_seen_index_forgot_is_read_again() -> None:
    body = rss(item(1))
    state = replay_state(body)
    assert Recall.of(state).known, "the item was remembered"
    forgotten = state.model_copy(update={"seen": "", "seen_count": 0})
    assert Recall.of(forgotten).known == {}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<rss><channel><item><title>a</title></item>", "not well-formed"),
        (
            '<?xml version="1.0" encoding="utf-16"?><rss><channel><item/></channel></rss>'.encode("utf-16"),
            "utf-16",
        ),
        (b'<rss><channel><item title="a>b"/></channel></rss>', "self-closing item"),
        (b"<rdf:RDF><items><item/></items><item>a</item></rdf:RDF>", "self-closing item before </items>"),
        (b'<!DOCTYPE rss [<!ENTITY x "y">]><rss><channel><item>&x;</item></channel></rss>', "entities"),
        (b"<rss><channel><title>No items</title></channel></rss>", "no items"),
    ],
)
def test_bodies_that_cannot_be_cut_are_read_whole(body: bytes, why: str) -> None:
    assert split_items(body) is None, why
    whole = parse_feed(body, HEADERS, CONTEXT, START)
    known = parse_feed(body, HEADERS, CONTEXT, START, KnownItems(b"", frozenset({item_key(body)})))
    assert known.articles == whole.articles
    assert known.kind == whole.kind
    assert known.items == ()


def test_an_entry_the_cut_does_not_see_leaves_the_body_uncut() -> None:
    """A prefixed Atom entry in an RSS channel is an entry to feedparser but not an item to the cut,
    so items and articles cannot be paired: the body is read whole, even with its item known."""
    body = rss(
        item(1),
        '<atom:entry xmlns:atom="http://www.w3.org/2005/Atom"><atom:title>x</atom:title></atom:entry>',
    )
    whole = parse_feed(body, HEADERS, CONTEXT, START)
    assert [a.title for a in whole.articles] == ["Report 1", "x"]
    split = split_items(body)
    assert split is not None
    assert len(split.spans) == 1
    for known in (frozenset(), frozenset(split.keys(body))):
        cut = parse_feed(body, HEADERS, CONTEXT, START, KnownItems(whole.scope, known))
        assert cut.articles == whole.articles
        assert cut.items == ()


def test_the_cut_keeps_everything_between_items() -> None:
    body = rss(item(2), "<!-- a comment --><ttl>5</ttl>", item(1))
    split = split_items(body)
    assert split is not None
    assert len(split.spans) == 2
    assert split.without(body, set()) == body
    assert split.without(body, {0, 1}) == rss("<!-- a comment --><ttl>5</ttl>")


def test_feedparser_corpus_reads_the_same_cut_or_whole() -> None:
    """Every file of feedparser's corpus: cut with nothing known reads as whole; with every other
    item known, it reads exactly the articles of the others."""
    paired = 0
    for path in sorted((SHARED_FEEDS / "feedparser").rglob("*.xml")):
        body = path.read_bytes()
        whole = parse_feed(body, {}, CONTEXT, START)
        first = parse_feed(body, {}, CONTEXT, START, KnownItems(b"", frozenset()))
        assert (first.kind, first.articles) == (whole.kind, whole.articles), path
        if not first.items:
            continue
        paired += 1
        keys = [key for key, _ in first.items]
        half = frozenset(keys[::2])
        second = parse_feed(body, {}, CONTEXT, START, KnownItems(first.scope, half))
        expected = [
            whole.articles[index] for key, index in first.items if key not in half and index is not None
        ]
        assert second.articles == expected, path
    assert paired > 400, f"only {paired} corpus files were cut into items"


def test_item_memory_round_trips_and_is_bounded() -> None:
    pairs = [(bytes([i]) * 8, 2**64 - 1 - i) for i in range(10)]
    packed = ItemMemory.pack(b"s" * 8, pairs, 4)
    memory = ItemMemory.unpack(packed)
    assert memory.scope == b"s" * 8
    assert list((memory.articles or {}).items()) == pairs[:4]
    assert ItemMemory.pack(b"s" * 8, [], 4) == ""
    assert ItemMemory.unpack("").articles is None


def test_known_items_cross_to_the_parser_process() -> None:
    """The poll hands ``KnownItems`` to a parser process: it must pickle."""
    import pickle

    known = KnownItems(b"x" * 8, frozenset({b"k" * 8}))
    assert pickle.loads(pickle.dumps(known)) == known
