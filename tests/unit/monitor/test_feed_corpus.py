"""Every real feed file in ``../shared/feeds`` served over real HTTP through our fetch and parse path.

Each file is either parsed into articles or rejected with a named reason; none
crashes or stalls. For feedparser's corpus, each file's own ``Expect:``
expression is evaluated on what feedparser makes of the bytes and headers our
fetcher delivered — so encodings, Content-Type and Content-Location survive
the trip — and our articles account for every entry.
"""

from __future__ import annotations

import asyncio
import builtins
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from monitor.config import PollingConfig
from monitor.fetch import Fetcher, make_client
from monitor.normalize import FeedContext
from monitor.parsing import ParseResult, ParserPool, run_feedparser
from tests.feed_server import SHARED_FEEDS, FeedServer, decode_any

SETTINGS = PollingConfig(per_host_spacing=0, per_host_concurrency=16, concurrency=16, total_timeout=30)
CORPUS = SHARED_FEEDS / "feedparser"
EXPECT = re.compile(r"Expect:\s*(.*?)\s*(?:-->|\",)", re.S)

# Files whose Expect: needs something outside our fetch path, each with why.
KNOWN_LIBRARY_GAPS = {
    # the corpus is feedparser's development branch; PyPI's 6.0.x lacks these features
    "json/example.json": "JSON Feed support is not in feedparser 6.0",
    "wellformed/itunes/itunes_channel_explicit_false.xml": "6.1 changed itunes_explicit",
    "wellformed/itunes/itunes_channel_explicit_no.xml": "6.1 changed itunes_explicit",
    "wellformed/itunes/itunes_channel_explicit_true.xml": "6.1 changed itunes_explicit",
    "wellformed/itunes/itunes_item_explicit_false.xml": "6.1 changed itunes_explicit",
    "wellformed/itunes/itunes_item_explicit_no.xml": "6.1 changed itunes_explicit",
    "wellformed/itunes/itunes_item_explicit_true.xml": "6.1 changed itunes_explicit",
    "wellformed/psc/atomsimplechapter.xml": "podlove chapters are newer than 6.0",
    "wellformed/psc/rss2.0simplechapter.xml": "podlove chapters are newer than 6.0",
    "wellformed/psc/rss2.0simplechapter2items.xml": "podlove chapters are newer than 6.0",
    "wellformed/atom/entry_link_no_href_link_priority.xml": "link priority fix is newer than 6.0",
    "wellformed/atom/entry_link_rel_enclosure_no_href.xml": "link priority fix is newer than 6.0",
    "wellformed/atom10/entry_link_no_href_link_priority.xml": "link priority fix is newer than 6.0",
    "wellformed/atom10/entry_link_rel_enclosure_no_href.xml": "link priority fix is newer than 6.0",
    # feedparser sets these keys only when it does the HTTP request itself; ours does it
    "wellformed/http/headers_etag.xml": "etag is ours (FetchResult.etag), not feedparser's",
    "wellformed/http/headers_last_modified-modified.xml": "Last-Modified is ours, not feedparser's",
    "wellformed/http/headers_last_modified-modified_parsed.xml": "Last-Modified is ours, not feedparser's",
}
NEEDS_CHARDET = "illformed/chardet/"  # encoding sniffing needs the optional chardet package


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))


def expectation(raw: bytes) -> str | None:
    match = EXPECT.search(decode_any(raw))
    return " ".join(match.group(1).split()) if match else None


async def _fetch_and_parse(fetcher: Fetcher, parser: ParserPool, url: str, feed_id: str):  # type: ignore[no-untyped-def]
    fetched = await fetcher.fetch(url)
    assert fetched.outcome == "ok", (url, fetched.error)
    context = FeedContext(feed_id=feed_id, url=url)
    result = await parser.parse(fetched.body, fetched.headers, context, datetime.now(UTC))
    return fetched, result


@pytest.mark.slow
async def test_feedparser_corpus_parses_as_each_file_expects(feed_server: FeedServer) -> None:
    files = corpus_files()
    expectations = {p: expectation(p.read_bytes()) for p in files}
    assert len(files) > 2000, f"the shared corpus is missing at {SHARED_FEEDS} (set WIREWATCH_SHARED)"
    client = make_client(SETTINGS)
    parser = ParserPool(workers=2, timeout=30)
    gate = asyncio.Semaphore(16)
    failures: dict[str, str] = {}
    kinds: dict[str, int] = {}
    started = time.monotonic()

    async def check(path: Path) -> None:
        relative = str(path.relative_to(CORPUS))
        async with gate:
            fetched, result = await _fetch_and_parse(
                Fetcher(client, SETTINGS), parser, feed_server.url(f"/shared/feedparser/{relative}"), "corpus"
            )
        kinds[result.kind] = kinds.get(result.kind, 0) + 1
        # feedparser's own harness gives a document URL only to the http_* files; the others
        # expect relative references to stay relative
        document_url = fetched.url if "http" in (path.parent.name, path.name[:4]) else ""
        reference = run_feedparser(fetched.body, fetched.headers, document_url)
        if result.kind == "feed":
            entries = len(run_feedparser(fetched.body, fetched.headers, fetched.url).get("entries") or [])
            if len(result.articles) + result.skipped != entries:
                failures[relative] = (
                    f"{len(result.articles)} articles + {result.skipped} skipped != {entries}"
                )
        else:
            assert result.reason, relative
        expect = expectations[path]
        if expect is None or relative.startswith(NEEDS_CHARDET):
            return
        expect = expect.replace("127.0.0.1:8097", f"127.0.0.1:{feed_server.port}")
        try:
            good = eval(expect, {"__builtins__": builtins, "time": time, "feedparser": feedparser}, reference)
        except Exception as exc:
            good, expect = False, f"{expect} raised {exc!r}"
        if not good:
            failures[relative] = f"Expect: {expect}"

    try:
        await asyncio.gather(*(check(p) for p in files))
    finally:
        await client.aclose()
        parser.close()
    unexpected = {k: v for k, v in failures.items() if k not in KNOWN_LIBRARY_GAPS}
    assert not unexpected, f"{len(unexpected)} files not parsed as expected: {list(unexpected.items())[:10]}"
    still_gaps = set(KNOWN_LIBRARY_GAPS) - set(failures)
    assert not still_gaps, f"these now pass; remove them from KNOWN_LIBRARY_GAPS: {still_gaps}"
    assert kinds.get("feed", 0) > 1900, kinds
    print(f"\n{len(files)} corpus files in {time.monotonic() - started:.1f}s: {kinds}")


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["bbc-news-home", "aljazeera-english-youtube"])
async def test_real_feed_snapshots_parse_into_articles(feed_server: FeedServer, folder: str) -> None:
    files = sorted((SHARED_FEEDS / "snapshots" / folder).glob("*.xml"))
    client = make_client(SETTINGS)
    parser = ParserPool(workers=2, timeout=30)
    gate = asyncio.Semaphore(8)

    async def one(path: Path) -> ParseResult:
        async with gate:
            url = feed_server.url(f"/shared/snapshots/{folder}/{path.name}")
            return (await _fetch_and_parse(Fetcher(client, SETTINGS), parser, url, folder))[1]

    try:
        results = await asyncio.gather(*(one(p) for p in files))
    finally:
        await client.aclose()
        parser.close()
    empty = [r for r in results if r.kind == "empty"]
    parsed = [r for r in results if r.kind == "feed"]
    assert len(parsed) + len(empty) == len(files)
    assert len(empty) <= 1  # the BBC history has one empty poll
    assert all(r.articles for r in parsed)
    for article in (a for r in parsed for a in r.articles):
        assert article.canonical_url.startswith("https://")
        assert "utm_" not in article.canonical_url
        assert "at_medium" not in article.canonical_url
        assert article.title
