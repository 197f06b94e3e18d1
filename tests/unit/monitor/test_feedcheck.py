"""``wirewatch feeds check``: the poller's own fetch, parse and diff on one feed, explained (no Kafka)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import PollingConfig
from monitor.feedcheck import check_body, check_file
from tests.feed_server import SHARED_FEEDS, FeedServer

runner = CliRunner()
BBC = sorted((SHARED_FEEDS / "snapshots" / "bbc-news-home").glob("*.xml"))[4]

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Kept</title><link>https://wire.example/a?utm_source=rss</link>
<pubDate>Tue, 18 Mar 2025 16:00:00 GMT</pubDate><description>Text.</description></item>
<item><title>Again</title><link>https://wire.example/a</link></item>
<item><title></title></item>
<item><title>Undated</title><link>https://wire.example/b</link></item>
</channel></rss>"""


def test_each_entry_is_published_or_skipped_with_its_reason() -> None:
    report = check_body(
        RSS, {"content-type": "application/rss+xml"}, "https://wire.example/feed", PollingConfig()
    )
    assert report.usable
    assert [p.article.title for p in report.published] == ["Kept", "Undated"]
    kept, undated = report.published
    assert any("canonical URL https://wire.example/a" in n for n in kept.notes)  # tracking dropped
    assert any("no usable date" in n for n in undated.notes)
    assert "entry 3: no title, text or link" in report.skipped
    assert any("repeat an earlier entry's link" in s for s in report.skipped)


def test_a_real_feed_file_and_the_cli_json_agree() -> None:
    report = check_file(BBC, PollingConfig())
    assert report.usable
    assert report.published
    result = runner.invoke(app, ["feeds", "check", str(BBC), "--json"])
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in result.output.splitlines()]
    assert ids == [p.article.id for p in report.published]


def test_over_http_a_feed_is_explained_and_a_broken_server_is_a_failure(feed_server: FeedServer) -> None:
    url = feed_server.set("/check/wire.xml", RSS)
    result = runner.invoke(app, ["feeds", "check", url])  # no config: polling defaults
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.output
    assert "2 articles would be published, 2 entries skipped" in result.output
    assert "skipped: entry 3: no title, text or link" in result.output

    for kind, words in [
        ("500", "500"),
        ("html", "HTML page"),
        ("huge-50mb", "exceeds the 10485760-byte limit"),
    ]:
        result = runner.invoke(app, ["feeds", "check", feed_server.hostile(f"/check/{kind}", kind)])
        assert result.exit_code == 1, (kind, result.output)
        assert "nothing would be published" in result.output
        assert words in result.output, (kind, result.output)
