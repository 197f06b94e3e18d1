"""Archives as the poller would publish them, and detectors backtested over them without Kafka."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.archive import load_archive
from monitor.cli import app
from monitor.config import DetectorsDocument, WirewatchConfig
from monitor.demo import DEMO_DIR, DemoNews, render_page
from monitor.errors import ArchiveError
from monitor.extract import extract_page
from monitor.loading import load_detectors
from streams.backtest import backtest
from streams.records import Article, PageText
from tests.feed_server import SHARED_FEEDS
from tests.plugins.faulty_kind import FaultySpec

pytestmark = pytest.mark.model  # the embedding model in this process

runner = CliRunner()
T0 = datetime(2025, 3, 18, 16, 0, tzinfo=UTC)
COPIES = {"wire-call": "call", "wire-raid": "raid", "wire-pows": "pows"}


def demo_jsonl(path: Path, at: dict[str, float] | None = None) -> tuple[Path, DemoNews]:
    """The demo news as a loose JSONL archive (title, url, summary, published, source).

    ``at`` moves items (by id) to other seconds after the start.
    """
    news = DemoNews.load()
    moved = at or {}
    lines = [
        json.dumps(
            {
                "title": i.title,
                "url": news.link(i),
                "summary": i.summary,
                "published": (T0 + timedelta(seconds=moved.get(i.id, i.at))).isoformat(),
                "source": i.outlet,
            }
        )
        for i in news.items
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, news


def test_the_demo_news_backtested_fire_what_the_live_demo_fires(tmp_path: Path) -> None:
    path, news = demo_jsonl(tmp_path / "demo.jsonl")
    articles = load_archive(path)
    assert len(articles) == len(news.items)
    report = backtest(articles, load_detectors(DEMO_DIR.parent / "detectors.yaml"), WirewatchConfig())
    item = {news.link(i): i.id for i in news.items}
    fired = sorted(
        (f.alert.detector_id, COPIES.get(item[f.alert.articles[-1].url], item[f.alert.articles[-1].url]))
        for f in report.fired
    )
    assert fired == sorted((e.detector, e.item) for e in news.expected(fulltext=False))
    assert report.decisions["exact"] == 3
    assert report.decisions["near"] == 3
    assert report.decisions["update"] == 1
    assert [f.at for f in report.fired] == sorted(f.at for f in report.fired)  # in publication order
    assert report.fired[0].at >= T0


def test_the_rewrite_arriving_before_the_report_with_the_new_term_does_not_swallow_its_alert(
    tmp_path: Path,
) -> None:
    # In a broker outage both reports of the energy halt wait in the pollers, and which one is
    # sequenced first is a race. The rewrite (no "energy infrastructure") first makes the report
    # that names the term its near duplicate; the term is news all the same, and fires once.
    path, news = demo_jsonl(tmp_path / "demo.jsonl", at={"energy-pause": 39})
    item = {news.link(i): i.id for i in news.items}
    decided: dict[str, str] = {}
    report = backtest(
        load_archive(path),
        load_detectors(DEMO_DIR.parent / "detectors.yaml"),
        WirewatchConfig(),
        on_sequenced=lambda out: decided.setdefault(item[out.article.url], out.decision.kind),
    )
    assert (decided["energy-pause"], decided["energy"]) == ("first", "near")
    fired = sorted(
        (f.alert.detector_id, COPIES.get(item[f.alert.articles[-1].url], item[f.alert.articles[-1].url]))
        for f in report.fired
    )
    assert fired == sorted((e.detector, e.item) for e in news.expected(fulltext=False))
    assert ("new-ceasefire-term", "decision") not in report.held


def test_with_the_pages_read_the_demo_fires_one_more_alert_that_only_the_full_text_holds(
    tmp_path: Path,
) -> None:
    # each item as the worker publishes it: its page rendered, extracted by the production code
    news = DemoNews.load()
    articles = []
    for article, item in zip(load_archive(demo_jsonl(tmp_path / "demo.jsonl")[0]), news.items, strict=True):
        assert article.url == news.link(item)
        page = extract_page(render_page(news, item, article.published_at), article.url, "text/html")
        assert (page.status == "extracted") == bool(item.body), (item.id, page)
        if item.body:
            assert "Stay safe" not in page.text, page.text  # the comments
            assert "Related stories" not in page.text, page.text
            meta = PageText(status=page.status, extractor=page.extractor, chars=page.chars)
            article = article.model_copy(update={"content": page.text, "fulltext": meta})
        articles.append(article)
    report = backtest(articles, load_detectors(DEMO_DIR.parent / "detectors.yaml"), WirewatchConfig())
    item_of = {news.link(i): i.id for i in news.items}
    last = [item_of[f.alert.articles[-1].url] for f in report.fired]
    fired = sorted((f.alert.detector_id, COPIES.get(i, i)) for f, i in zip(report.fired, last, strict=True))
    assert fired == sorted((e.detector, e.item) for e in news.expected(fulltext=True))
    only_on_pages = set(news.expected(fulltext=True)) - set(news.expected(fulltext=False))
    assert [(e.detector, e.item) for e in only_on_pages] == [("new-ceasefire-term", "zelensky-terms")]
    assert report.decisions["exact"] == 3  # wire copy's pages carry the same story: still exact


def test_the_cli_backtest_prints_alerts_and_a_summary(tmp_path: Path) -> None:
    path, news = demo_jsonl(tmp_path / "demo.jsonl")
    detectors = str(DEMO_DIR.parent / "detectors.yaml")
    result = runner.invoke(app, ["backtest", detectors, str(path), "--json", "--no-embed"])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert {"prisoner-exchange", "znpp-watch", "air-raid-after-call"} <= {a["detector_id"] for a in alerts}
    assert f"{len(news.items)} articles" in result.output


def test_a_folder_of_polls_publishes_new_entries_and_edits_as_the_poller_does() -> None:
    folder = SHARED_FEEDS / "snapshots" / "bbc-news-home"
    articles = load_archive(folder)
    assert {a.feed_id for a in articles} == {"bbc-news-home"}
    assert [a.published_at for a in articles] == sorted(a.published_at for a in articles)
    versions = Counter((a.id, a.revision) for a in articles)
    assert max(versions.values()) == 1, "each version once"
    unique = {a.id for a in articles}
    assert 5000 <= len(unique) <= 5600  # DATA.md: 5,502 unique links over 364 polls
    assert any(a.revision > 0 for a in articles), "edited titles come back as updates"


def test_an_unreadable_archive_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "ok", "url": "https://x.example/1"}\n{"url": 3}\n')
    with pytest.raises(ArchiveError, match=r"bad\.jsonl:2: not an article"):
        load_archive(path)
    with pytest.raises(ArchiveError, match="no feed files"):
        load_archive(tmp_path)  # a folder without feed files


def test_a_detector_past_its_error_limit_is_reported_disabled_and_stops_running() -> None:
    """The faulty kind is not registered here: the document is built without validation."""
    faulty = FaultySpec(id="faulty", kind="faulty", fails_on="boom", error_limit=2)
    document = DetectorsDocument.model_construct(version="v", entities=(), detectors=(faulty,))
    at = datetime(2025, 3, 18, tzinfo=UTC)
    articles = [
        Article(
            id=f"a{i}",
            feed_id="f",
            source="s",
            url=f"https://x.example/{i}",
            canonical_url=f"https://x.example/{i}",
            title=f"boom {i}",
            summary="",
            published_at=at + timedelta(minutes=i),
            fetched_at=at + timedelta(minutes=i),
        )
        for i in range(5)
    ]
    report = backtest(articles, document, WirewatchConfig(), embed=False)
    assert [(d, a) for d, a, _ in report.errors] == [("faulty", "a0"), ("faulty", "a1")]
    assert report.disabled == {"faulty": "RuntimeError: faulty detector met 'boom 1'"}


def test_backtest_decisions_are_one_line_per_article_and_stories_reads_them(tmp_path: Path) -> None:
    path, news = demo_jsonl(tmp_path / "demo.jsonl")
    detectors = str(DEMO_DIR.parent / "detectors.yaml")
    decisions = tmp_path / "decisions.jsonl"
    result = runner.invoke(app, ["backtest", detectors, str(path), "--decisions", str(decisions)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in decisions.read_text().splitlines()]
    assert len(lines) == len(news.items)
    assert {"url", "id", "decision", "duplicate_of", "story_id"} <= set(lines[0])
    assert {line["url"] for line in lines} == {news.link(i) for i in news.items}
    story_of: dict[str, str] = {}
    for line in lines:  # a duplicate names an article seen before it, and joins its story
        if line["decision"] in ("near", "exact"):
            assert line["duplicate_of"] in story_of, line
            assert line["story_id"] == story_of[line["duplicate_of"]], line
        story_of.setdefault(line["id"], line["story_id"])
    assert Counter(line["decision"] for line in lines)["near"] == 3

    shown = runner.invoke(app, ["stories", "--decisions", str(decisions), "--all", "--json", "--top", "500"])
    assert shown.exit_code == 0, shown.output
    stories = [json.loads(line) for line in shown.output.splitlines() if line.startswith("{")]
    assert sum(s["articles"] for s in stories) == len(lines)
    assert len(stories) == len({line["story_id"] for line in lines})
    assert [s["articles"] for s in stories] == sorted((s["articles"] for s in stories), reverse=True)
    assert stories[0]["articles"] >= 2
    assert stories[0]["titles"]

    text = runner.invoke(app, ["stories", "--decisions", str(decisions), "--top", "3"])
    assert text.exit_code == 0, text.output
    assert f"{len(lines)} articles in {len(stories)} stories" in text.output


def test_stories_names_the_line_that_is_not_a_decision(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "story_id": "s", "decision": "first", "published_at": "2025-03-18T00:00:00+00:00"}\n'
        '{"id": "b"}\n'
    )
    result = runner.invoke(app, ["stories", "--decisions", str(bad)])
    assert result.exit_code != 0
    assert "bad.jsonl:2" in result.output
    assert "story_id" in result.output
