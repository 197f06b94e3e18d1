"""OPML import/export: real-world shapes (folders, categories, junk outlines), round trips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.config import FeedConfig
from monitor.errors import ConfigError
from monitor.opml import export_opml, feed_id_for, import_opml

REPO = Path(__file__).resolve().parents[3]

READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions from a feed reader</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC News - World" title="BBC News - World"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" htmlUrl="https://www.bbc.co.uk/news/world"/>
      <outline type="rss" text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"
               category="/middle-east,/english" language="en"/>
      <outline type="rss" text="Українська правда" title="Українська правда"
               xmlUrl="https://www.pravda.com.ua/rss/"/>
    </outline>
    <outline type="rss" text="Dup of BBC" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    <outline type="rss" text="Relative" xmlUrl="feed.xml"/>
    <outline type="rss" text="FTP" xmlUrl="ftp://example.org/feed.xml"/>
    <outline text="A folder without feeds"/>
  </body>
</opml>
""".encode()


def test_import_reads_feeds_with_folders_as_tags_and_skips_junk_with_reasons() -> None:
    result = import_opml(READER_EXPORT, interval=600)
    by_url = {str(f.url): f for f in result.feeds}
    assert list(by_url) == [
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        "https://www.aljazeera.com/xml/rss/all.xml",
        "https://www.pravda.com.ua/rss/",
    ]
    bbc = by_url["https://feeds.bbci.co.uk/news/world/rss.xml"]
    assert bbc.id == "bbc-news-world"
    assert bbc.tags == ("World",)
    assert bbc.interval == 600
    aj = by_url["https://www.aljazeera.com/xml/rss/all.xml"]
    assert set(aj.tags) == {"middle-east", "english", "World"}
    assert aj.language == "en"
    # a non-Latin title gives no ASCII slug: the id comes from the URL
    assert by_url["https://www.pravda.com.ua/rss/"].id == "pravda-com-ua-rss"
    reasons = dict(result.skipped)  # the BBC feed listed twice is one feed (listparser merges them)
    assert set(reasons) == {"feed.xml", "ftp://example.org/feed.xml"}
    assert "url" in reasons["feed.xml"]
    assert "url" in reasons["ftp://example.org/feed.xml"]


def test_import_skips_feeds_already_in_the_config_and_keeps_ids_unique() -> None:
    existing = [
        FeedConfig(id="bbc-news-world", url="https://example.org/other.xml"),  # type: ignore[arg-type]
        FeedConfig(id="aj", url="https://www.aljazeera.com/xml/rss/all.xml"),  # type: ignore[arg-type]
    ]
    result = import_opml(READER_EXPORT, existing)
    ids = [f.id for f in result.feeds]
    assert ids == ["bbc-news-world-2", "pravda-com-ua-rss"]
    assert ("https://www.aljazeera.com/xml/rss/all.xml", "already configured") in result.skipped


def test_export_then_import_round_trips_every_key() -> None:
    feeds = [
        FeedConfig(
            id="kyiv-independent",
            url="https://kyivindependent.com/feed/",  # type: ignore[arg-type]
            title="The Kyiv Independent",
            interval=120,
            tags=("ukraine", "english"),
            language="en",
        ),
        FeedConfig(id="paused", url="https://example.org/rss", enabled=False),  # type: ignore[arg-type]
        FeedConfig(id="fortnightly", url="https://example.org/slow", interval=14 * 86400),  # type: ignore[arg-type]
        FeedConfig(id="odd", url="https://example.org/odd", interval=1234.5678),  # type: ignore[arg-type]
    ]
    document = export_opml(feeds)
    assert document.startswith(b"<?xml")
    back = import_opml(document)
    assert back.skipped == []
    assert back.feeds == feeds


def test_import_data_is_yaml_ready_and_valid_config() -> None:
    data = import_opml(READER_EXPORT).as_yaml_data()
    assert data["feeds"][0] == {
        "id": "bbc-news-world",
        "url": "https://feeds.bbci.co.uk/news/world/rss.xml",
        "title": "BBC News - World",
        "tags": ["World"],
    }
    assert [FeedConfig.model_validate(row) for row in data["feeds"]]


@pytest.mark.parametrize(
    "document",
    [b"<rss version='2.0'><channel><title>x</title></channel></rss>", b"not xml at all", b""],
)
def test_something_that_is_not_opml_is_refused_clearly(document: bytes) -> None:
    with pytest.raises(ConfigError, match="not an OPML"):
        import_opml(document)


def test_entity_expansion_is_not_performed() -> None:
    entities = "".join(f'<!ENTITY e{i} "{"".join(f"&e{i - 1};" for _ in range(10))}">' for i in range(1, 9))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY e0 "lol">{entities}]>'
        '<opml version="2.0"><body><outline text="&e8;" xmlUrl="https://example.org/f.xml"/></body></opml>'
    ).encode()
    result = import_opml(bomb)
    assert [str(f.url) for f in result.feeds] == ["https://example.org/f.xml"]
    assert len(result.feeds[0].title) < 100


def test_feed_ids_are_valid_and_bounded() -> None:
    taken: set[str] = set()
    long_id = feed_id_for("x" * 200, "https://example.org", taken)
    assert len(long_id) <= 64
    assert feed_id_for("", "https://www.Example.org/News/RSS.xml", taken) == "example-org-news-rss-xml"
    assert feed_id_for("!!!", "", taken) == "feed"


def test_cli_export_then_import_against_the_same_config_imports_nothing(tmp_path: Path) -> None:
    """The commands users run: export the example config, re-import it, then into an empty config."""
    example = REPO / "examples" / "wirewatch.yaml"
    opml = tmp_path / "feeds.opml"
    cli = [sys.executable, "-m", "monitor.cli", "feeds"]
    exported = subprocess.run(
        [*cli, "export", "-c", str(example), "-o", str(opml)], capture_output=True, text=True, timeout=60
    )
    assert exported.returncode == 0, exported.stderr
    again = subprocess.run(
        [*cli, "import", str(opml), "-c", str(example)], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    assert yaml.safe_load(again.stdout) == {"feeds": []}
    assert "0 feeds imported, 2 skipped" in again.stderr
    assert "already configured" in again.stderr

    empty = tmp_path / "empty.yaml"
    empty.write_text("kafka:\n  partitions: 2\n")
    fresh = subprocess.run(
        [*cli, "import", str(opml), "-c", str(empty)], capture_output=True, text=True, timeout=60
    )
    assert fresh.returncode == 0, fresh.stderr
    merged = yaml.safe_load(empty.read_text()) | yaml.safe_load(fresh.stdout)
    (empty.with_name("merged.yaml")).write_text(yaml.safe_dump(merged))
    check = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "config", "check", str(empty.with_name("merged.yaml"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert "2 feeds" in check.stdout

    bad = subprocess.run(
        [*cli, "import", str(example), "-c", str(empty)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 3
    assert "not an OPML subscription list" in bad.stderr
