"""Dedup and story quality on real news (the sequencer with the shipped settings, no Kafka).

* BBC 2005: the 101 groups of identical articles are found as exact
  duplicates, and nothing else is.
* BBC News home feed, 364 real polls replayed in order as the poller would
  publish them: a link that returns with an edited title is an update in its
  first version's story, never a new story; different links of the feed are
  rarely near duplicates of each other.
* RUWA headlines from eight sites: stories group headlines of one event,
  across sites, and rarely mix events.

Each bound below is the figure measured when the thresholds were chosen (docs/architecture.md,
"Dedup and stories"), with a small margin; the test fails if quality drops.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from monitor.config import DedupConfig, StoriesConfig
from monitor.normalize import FeedContext
from monitor.parsing import parse_feed
from monitor.polling import diff_entries
from streams.dedup.sequencer import Sequencer
from streams.dedup.tables import SequencerState
from streams.records import Article, EnrichedArticle, FeedState, SequencedArticle
from tests import factories
from tests.embedding_cache import cached_vectors
from tests.feed_server import SHARED
from tests.quality import figure

pytestmark = [pytest.mark.slow, pytest.mark.quality, pytest.mark.model]

# measured with the shipped settings (docs/architecture.md, "Dedup and stories"), less a small margin
NEAR_RATE_BBC_MAX = 0.008  # measured 37 of 5,502 links (0.67%)
STORIES_PER_LINK_BBC_MIN = 0.90  # measured 5,100 stories for 5,502 links (0.927)
RUWA_PURITY_MIN = 0.77  # measured 0.792 (the anchor model before: 0.771)
RUWA_CROSS_SITE_MIN = 0.54  # measured 0.586 of multi-article stories span 2+ sites
RUWA_GROUPED_MIN = 0.44  # measured 7,132 of 15,393 headlines (0.463) share a story

CORPUS = SHARED / "corpus"
SNAPSHOTS = sorted((SHARED / "feeds" / "snapshots" / "bbc-news-home").glob("*.xml"))


def sequencer(**dedup: Any) -> Sequencer:
    """The shipped settings (HNSW index included); ``dedup`` overrides for the corpus at hand."""
    return Sequencer(SequencerState.in_memory(), DedupConfig(**dedup), StoriesConfig())  # type: ignore[arg-type]


def enriched(article: Article, vector: npt.NDArray[np.float32] | None) -> EnrichedArticle:
    return factories.enriched(article, vector, "all-MiniLM-L6-v2")


def test_bbc_2005_exact_duplicate_groups_are_found_and_nothing_else() -> None:
    with (CORPUS / "bbc-news-2005.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2225
    truth: set[frozenset[str]] = set()
    for line in (CORPUS / "bbc-news-2005.exact-duplicate-groups.txt").read_text().splitlines():
        names = line.split("\t")
        truth |= {frozenset((a, b)) for i, a in enumerate(names) for b in names[i + 1 :]}
    seq = sequencer()
    at = datetime(2005, 1, 1, tzinfo=UTC)
    found: set[frozenset[str]] = set()
    for n, row in enumerate(rows):
        name = f"{row['category']}/{row['filename']}"
        article = Article(
            id=name,
            feed_id=row["category"],
            source="BBC",
            url=f"https://bbc.example/{name}",
            canonical_url=f"https://bbc.example/{name}",
            title=row["title"],
            content=row["text"],
            published_at=at + timedelta(minutes=n),
            fetched_at=at + timedelta(minutes=n),
        )
        out = seq.process(enriched(article, None), n)  # exact duplicates need no vectors
        if out.decision.kind == "exact":
            assert out.decision.duplicate_of is not None
            found.add(frozenset((name, out.decision.duplicate_of)))
    # pairs within a group: every member is linked to the group's first article
    linked = {frozenset(p) for p in found}
    groups = [
        set(line.split("\t"))
        for line in (CORPUS / "bbc-news-2005.exact-duplicate-groups.txt").read_text().splitlines()
    ]
    expected_links = sum(len(g) - 1 for g in groups)
    assert len(linked) == expected_links, (len(linked), expected_links)
    assert linked <= truth, "every exact duplicate found is in the ground truth (precision 1.0)"


def bbc_polls() -> list[Article]:
    """What the poller publishes when the 364 BBC polls are replayed in order (new and edited entries)."""
    context = FeedContext(
        feed_id="bbc-news",
        url="https://feeds.bbci.co.uk/news/rss.xml",
        title="BBC News",
        language=None,
        tags=(),
        future_tolerance=600.0,
    )
    state = FeedState(feed_id="bbc-news")
    published: list[Article] = []
    for path in SNAPSHOTS:
        polled_at = datetime.strptime(path.name[:20], "%Y%m%dT%H%M%S%z")
        result = parse_feed(path.read_bytes(), {}, context, polled_at)
        batch, state, *_ = diff_entries(result.articles, state, polled_at.timestamp(), 5000)
        published += batch
    return published


def run(
    articles: list[Article], vectors: npt.NDArray[np.float32], batch: int = 64, **dedup: Any
) -> list[SequencedArticle]:
    """Sequence in batches as the stage does (``batch=0``: one by one, no batch search)."""
    seq = sequencer(**dedup)
    items = [(enriched(a, v), n) for n, (a, v) in enumerate(zip(articles, vectors, strict=True))]
    if not batch:
        return [seq.process(e, n) for e, n in items]
    outs = []
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        seq.begin_batch(chunk, threads=2)
        outs += [seq.process(e, n) for e, n in chunk]
        seq.end_batch()
    return outs


def test_bbc_polls_edited_titles_are_updates_and_distinct_links_rarely_merge() -> None:
    assert len(SNAPSHOTS) > 300, "the BBC snapshots are missing (set WIREWATCH_SHARED)"
    articles = bbc_polls()
    vectors = cached_vectors([a.text_for_embedding() for a in articles], label="bbc-polls")
    # the snapshots are sparse (364 polls over 18 months): ids must be remembered for the
    # whole span for every late edit to be recognised; the default (30 days) catches 65%
    outs = run(articles, vectors, id_window=600 * 86400.0)
    story_of_first: dict[str, str] = {}
    edits = edits_in_place = 0
    for article, out in zip(articles, outs, strict=True):
        if article.revision == 0:
            story_of_first.setdefault(article.id, out.decision.story_id)
            continue
        edits += 1
        assert out.decision.kind in ("update", "exact"), (article.title, out.decision)
        edits_in_place += out.decision.story_id == story_of_first[article.id] and not out.decision.new_story
    assert edits > 500
    assert edits_in_place == edits, "an edited title is an update of its story, never a new one"

    first_versions = [o for a, o in zip(articles, outs, strict=True) if a.revision == 0]
    links = len(first_versions)
    near = sum(o.decision.kind == "near" for o in first_versions)
    stories = len({o.decision.story_id for o in first_versions})
    sizes = Counter(o.decision.story_id for o in first_versions)
    print(
        f"\nBBC polls: {links} links, {edits} edits, {near} links near-duplicate of another link, "
        f"{stories} stories, largest {sizes.most_common(1)[0][1]}"
    )
    figure("dedup.bbc_polls.near_rate", near / links)
    figure("dedup.bbc_polls.stories_per_link", stories / links)
    assert near / links <= NEAR_RATE_BBC_MAX, near
    assert stories / links >= STORIES_PER_LINK_BBC_MIN, "stories must not swallow unrelated news"


def ruwa() -> tuple[list[Article], list[dict[str, str]]]:
    with (CORPUS / "ruwa-ukraine-war-headlines.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["title"].strip()]
    articles = []
    for n, row in enumerate(rows):
        day = datetime.strptime(row["Date"], "%m/%d/%Y").replace(tzinfo=UTC)
        at = day + timedelta(seconds=(n * 7919) % 86400)  # spread over the day, sites interleaved
        url = row["src"] or f"https://{row['Site']}/{n}"
        articles.append(
            Article(
                id=f"ruwa-{n}",
                feed_id=row["Site"],
                source=row["Site"],
                url=url,
                canonical_url=url,
                title=row["title"].strip(),
                summary=row["desc"].strip(),
                published_at=at,
                fetched_at=at,
            )
        )
    order = sorted(range(len(articles)), key=lambda i: articles[i].published_at)
    return [articles[i] for i in order], [rows[i] for i in order]


def test_ruwa_stories_group_one_event_across_sites() -> None:
    articles, rows = ruwa()
    outs = run(articles, cached_vectors([a.text_for_embedding() for a in articles], label="ruwa"))
    members: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row, out in zip(rows, outs, strict=True):
        members[out.decision.story_id].append(row)
    grouped = [m for m in members.values() if len(m) > 1]
    in_groups = sum(len(m) for m in grouped)
    purity = sum(Counter(r["Event"] for r in m).most_common(1)[0][1] for m in grouped) / in_groups
    cross_site = sum(len({r["Site"] for r in m}) > 1 for m in grouped) / len(grouped)
    largest = max(len(m) for m in members.values())
    kinds = Counter(o.decision.kind for o in outs)
    print(
        f"\nRUWA: {len(articles)} headlines, {len(members)} stories, {len(grouped)} with 2+ articles "
        f"({in_groups} articles), event purity {purity:.3f}, cross-site {cross_site:.3f}, "
        f"largest {largest}, decisions {dict(kinds)}"
    )
    figure("dedup.ruwa.purity", purity)
    figure("dedup.ruwa.cross_site", cross_site)
    figure("dedup.ruwa.grouped", in_groups / len(articles))
    assert purity >= RUWA_PURITY_MIN
    assert cross_site >= RUWA_CROSS_SITE_MIN
    assert in_groups / len(articles) >= RUWA_GROUPED_MIN


BATCH_AGREEMENT_HNSW_MIN = 0.99  # measured: 0.998 on these 4,000 (0.9995 with the anchor model)


@pytest.mark.parametrize("backend", ["exact", "hnsw"])
def test_batches_decide_as_one_by_one(backend: str) -> None:
    """The batched search (the index before the batch + the batch's own articles) decides as one by one.

    Exactly so with the exact index. With HNSW a batch's own articles are compared
    exactly instead of through the graph, so a few neighbours differ (ANN misses);
    a different neighbour early in a story changes the story id of what follows.
    """
    articles, _ = ruwa()
    vectors = cached_vectors([a.text_for_embedding() for a in articles], label="ruwa")
    articles, vectors = articles[:4000], vectors[:4000]
    one = run(articles, vectors, batch=0, index=backend)
    batched = run(articles, vectors, batch=64, index=backend)
    pairs = [
        (
            (a.decision.kind, a.decision.duplicate_of, a.decision.story_id),
            (b.decision.kind, b.decision.duplicate_of, b.decision.story_id),
        )
        for a, b in zip(one, batched, strict=True)
    ]
    agreement = sum(a == b for a, b in pairs) / len(pairs)
    figure(f"dedup.ruwa_4000.batch_agreement_{backend}", agreement)
    print(f"\n{backend}: batched decisions agree with one-by-one on {agreement:.4f}")
    if backend == "exact":
        assert agreement == 1.0, next((a, b) for a, b in pairs if a != b)
    else:
        assert agreement >= BATCH_AGREEMENT_HNSW_MIN
