"""The sequencer: dedup, revisions and stories for every article, in one global order.

Pure logic over key-value stores (dicts in unit tests, changelog-backed Faust
tables in ``streams.agents.dedup``). It reads the enriched topic's single
partition, so every article is compared with every earlier one whichever
worker embedded it, and the decisions are the same on every replay.

Per article, in order:

1. **Replay?** A *delivery* is one publication by a poller (feed, fetch time,
   content). If this delivery was decided before, its stored decision is
   returned unchanged: a redelivered message is never its own duplicate.
2. **Known id?** Same content as a known revision → ``exact`` duplicate; the
   same title from another feed (a feed's own summary of the same URL) →
   ``exact``; changed content → ``update`` with the next revision, in the
   same story.
3. **Known content?** The same text under another id → ``exact``.
4. **Near?** The nearest earlier articles in the vector window
   (``dedup.candidates`` at cosine ≥ ``dedup.candidate_similarity``) are
   compared by the near-duplicate model (cosine + fact agreement, with the
   conflicting-numbers rule) → ``near``, linked to the first article.
5. Else ``first``: it joins the open story of its most similar neighbour at
   cosine ≥ ``stories.threshold``, or opens a story.

The window slides with the sequencer clock (the latest article time seen):
entries older than ``dedup.window`` are forgotten a few per article, the
vector index drops whole shards.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from detectors.base import DecisionKind
from monitor.config import DedupConfig, StoriesConfig
from streams.dedup.decision import DEFAULT_MODEL, NearDuplicateModel
from streams.dedup.facts import (
    Facts,
    extract_facts,
    extract_packed,
    pair_features,
    place_conflict,
    unpack_facts,
)
from streams.dedup.index import Batch, Neighbor, WindowIndex
from streams.dedup.stories import (
    StoryScore,
    TermStats,
    add_member,
    best_story,
    centroid_cosine,
    is_open,
    open_story,
    other_language,
    score_story,
    story_terms,
    with_content,
    with_language,
)
from streams.dedup.tables import SequencerState, delivery_key, event_time
from streams.records import (
    ArticleState,
    Decision,
    EnrichedArticle,
    RevisionState,
    SequencedArticle,
    StoryState,
    WindowEntry,
    content_hash,
)

log = logging.getLogger(__name__)

MAX_DELIVERIES = 32
MAX_REVISIONS = 16
MAX_TEXT = 1000
EVICT_STEPS = 16  # entries examined per article: keeps eviction ahead of arrivals
REBUILD_CHUNK = 4096  # window entries added to the index per call when it is rebuilt
STORIES_OPEN = "stories_open"  # meta key: the count of open stories
FACTS_CACHE = 100_000  # candidates' extracted facts kept (a few KB each)
STORY_MODEL_LEFT_OUT: dict[str, object] = {"centroid": "", "terms": {}}  # not sent on articles.sequenced
STORIES_SCORED = 3  # candidate stories scored in full per article: those with the closest centroids


@dataclass(frozen=True)
class Verdict:
    """What one of the two decision paths found, before the story and the tables are written."""

    kind: DecisionKind
    root_id: str  # the first article of the chain this one belongs to
    story: StoryState | None  # None: it opens a story
    revision: int = 0
    duplicate_of: str | None = None
    similarity: float | None = None
    probability: float | None = None


class Sequencer:
    def __init__(
        self,
        state: SequencerState,
        dedup: DedupConfig,
        stories: StoriesConfig,
        model: NearDuplicateModel = DEFAULT_MODEL,
    ) -> None:
        self.state = state
        self.dedup = dedup
        self.stories = stories
        self.model = model
        self._facts: dict[int, Facts] = {}  # per window seq, cleared when large
        self._title_facts: dict[str, Facts] = {}  # per story id: its first headline's places
        self._terms: TermStats | None = None  # built from the window table on first use
        self._last_terms: tuple[str, Counter[str]] | None = None
        self._last_facts: tuple[str, Facts, str] | None = None
        self._warned_dims: set[int] = set()
        self._batch: Batch | None = None
        self._threads = 1
        dim = state.meta.get("dim")
        self.index: WindowIndex | None = self._new_index(int(dim)) if dim else None

    def _new_index(self, dim: int) -> WindowIndex:
        return WindowIndex(dim, self.dedup.window, self.dedup.shard_span, backend=self.dedup.index)

    def _index_for(self, dim: int) -> WindowIndex | None:
        """The index for vectors of ``dim``: created with the first vector, refused for other sizes."""
        if self.index is None:
            self.state.meta["dim"] = float(dim)
            self.index = self._new_index(dim)
        if self.index.dim != dim:
            if dim not in self._warned_dims:
                self._warned_dims.add(dim)
                log.warning(
                    "dedup: a %d-dimensional vector in a %d-dimensional window (model changed?); "
                    "such articles are deduplicated by id and content only",
                    dim,
                    self.index.dim,
                )
            return None
        return self.index

    @property
    def epoch(self) -> str:
        """Names this sequencer's history (new tables → new epoch); snapshots carry it."""
        epoch = self.state.meta.get("epoch")
        if epoch is None:
            epoch = float(int.from_bytes(os.urandom(6), "big"))
            self.state.meta["epoch"] = epoch
        return f"{int(epoch):x}"

    def save_snapshot(self, directory: Path) -> int:
        return self.index.save(directory, tag=self.epoch) if self.index is not None else 0

    def load_snapshot(self, directory: Path) -> bool:
        return self.index is not None and self.index.load(directory, tag=self.epoch)

    # -- clock and window -------------------------------------------------------------

    def _meta_int(self, key: str, default: int) -> int:
        value = self.state.meta.get(key)
        return default if value is None else int(value)

    @property
    def clock(self) -> float:
        return self.state.meta.get("clock") or 0.0

    @property
    def stories_open(self) -> int:
        """Stories with an article inside the window: counted as they open and close.

        Kept in the meta table, so the count follows the stories table through every
        changelog restore and handover, and reading it never scans a table.
        """
        return max(0, self._meta_int(STORIES_OPEN, 0))

    def _stories_changed(self, delta: int) -> None:
        self.state.meta[STORIES_OPEN] = float(self._meta_int(STORIES_OPEN, 0) + delta)

    def rebuild_index(self, upto_seq: int, threads: int = 1) -> int:
        """Add the window's vectors the index does not hold yet (after a restart); returns how many.

        Goes up to the last sequenced article, which may lie past ``upto_seq`` (the
        first offset to process): a previous owner may have sequenced articles whose
        offsets it had not committed; they come back as replays and are not re-added.
        """
        if self.index is None:
            return 0
        low = self._meta_int("low", 0)
        high = self._meta_int("high", -1)
        start = max(low, self.index.high_key + 1)
        added = 0
        chunk = Batch({}, self.index.dim, REBUILD_CHUNK)
        for seq in range(start, max(upto_seq, high + 1)):
            entry = self.state.window.get(seq)
            if entry is not None and entry.dim == self.index.dim:
                chunk.add(seq, entry.vector(), self.index.bucket_of(entry.at), entry.at)
                added += 1
            if len(chunk.keys) == REBUILD_CHUNK:  # added in chunks: a graph insert on all cores
                self._add_to_index(chunk, threads)
                chunk = Batch({}, self.index.dim, REBUILD_CHUNK)
        self._add_to_index(chunk, threads)
        self.index.evict(self.clock)
        return added

    def _add_to_index(self, batch: Batch, threads: int) -> None:
        """Add a batch's vectors to the index, one call per run of the same time bucket."""
        if self.index is None or not batch.keys:
            return
        start = 0
        for end in range(1, len(batch.keys) + 1):
            if end == len(batch.keys) or batch.buckets[end] != batch.buckets[start]:
                self.index.add(
                    batch.keys[start:end], batch.vectors[start:end], at=batch.times[start], threads=threads
                )
                start = end

    # -- batches ----------------------------------------------------------------------

    def begin_batch(self, items: Sequence[tuple[EnrichedArticle, int]], threads: int = 1) -> int:
        """Search the index once for a batch of articles about to be processed; returns searches run.

        One batched search on ``threads`` cores costs a fraction of one search per
        article. Decisions stay as if each article were searched on arrival:
        earlier articles of the same batch are compared with it exactly, and a
        shard one-by-one processing would have dropped meanwhile is left out.
        """
        index = self.index
        found: dict[int, list[Neighbor]] = {}
        wanted = [(seq, e) for e, seq in items if index is not None and e.dim == index.dim and len(index)]
        if wanted and index is not None:
            queries = np.vstack([enriched.vector() for _, enriched in wanted])
            rows = index.search(
                queries, self.dedup.candidates, min_similarity=self._floor, threads=threads, per_shard=True
            )
            found = {seq: row for (seq, _), row in zip(wanted, rows, strict=True)}
        dim = index.dim if index is not None else next((e.dim for e, _ in items if e.dim), 1)
        self._batch = Batch(found, dim, len(items))
        self._threads = threads
        return len(wanted)

    def end_batch(self) -> None:
        """Add the batch's vectors to the index (time bucket by time bucket), then drop old shards."""
        batch, self._batch = self._batch, None
        if self.index is None:
            return
        if batch is not None:
            self._add_to_index(batch, self._threads)
        self.index.evict(self.clock)

    @property
    def _floor(self) -> float:
        return min(self.dedup.candidate_similarity, self.stories.candidate_similarity)

    def term_stats(self) -> TermStats:
        """Word frequencies over the window's articles: counted from the window table once
        (after a start or a rebalance), then kept up to date as entries come and go."""
        if self._terms is None:
            stats = TermStats()
            for seq in range(self._meta_int("low", 0), self._meta_int("high", -1) + 1):
                entry = self.state.window.get(seq)
                if entry is not None and entry.text:
                    stats.add(story_terms(entry.text))
            self._terms = stats
        return self._terms

    def _neighbors(
        self, index: WindowIndex, vector: npt.NDArray[np.float32], seq: int, evicted_at: float
    ) -> list[Neighbor]:
        """The nearest earlier articles at or above the comparison floor, best first.

        In a batch, shards are dropped only at its end; neighbours from a shard that
        one-by-one processing would have dropped by now (at ``evicted_at``, the
        clock before this article) are left out, so decisions do not depend on
        where batches start.
        """
        k = self.dedup.candidates
        batch = self._batch
        if batch is None:
            return index.search(vector[None, :], k, min_similarity=self._floor)[0]
        found = batch.found.get(seq)
        if found is None:  # not searched up front (the index was empty then)
            found = index.search(vector[None, :], k, min_similarity=self._floor, per_shard=True)[0]
        kept = index.oldest_kept(evicted_at)
        neighbors = [n for n in found if n.bucket >= kept]
        if batch.keys:
            sims = batch.vectors @ vector
            close = np.flatnonzero(sims >= self._floor).tolist()
            neighbors += [
                Neighbor(batch.keys[i], float(sims[i]), batch.buckets[i])
                for i in close
                if batch.buckets[i] >= kept
            ]
        return sorted(neighbors, key=lambda n: -n.similarity)[:k]

    # -- the decision -----------------------------------------------------------------

    def process(self, enriched: EnrichedArticle, seq: int) -> SequencedArticle:
        """Decide, update every table, and return the article with its decision and story."""
        st = self.state
        article = enriched.article
        fingerprint = delivery_key(enriched)
        known = st.articles.get(article.id)
        if known is not None and fingerprint in known.deliveries:
            decision = known.deliveries[fingerprint]
            return self._out(enriched, decision, self._repair(enriched, known, decision), replayed=True)

        previous_clock = self.clock
        clock = max(previous_clock, event_time(enriched))
        st.meta["clock"] = clock
        st.meta["high"] = float(max(seq, self._meta_int("high", -1)))
        index = self._index_for(enriched.dim) if enriched.dim else None
        vector = enriched.vector() if index is not None else None
        text = article.text_for_embedding()[:MAX_TEXT]
        title_hash = content_hash(article.title)

        if known is not None:
            verdict = self._decide_known(known, enriched, title_hash, clock, seq)
        else:
            verdict = self._decide_new(enriched, index, vector, text, clock, seq, previous_clock)
        kind, story, root_id = verdict.kind, verdict.story, verdict.root_id
        revision, duplicate_of = verdict.revision, verdict.duplicate_of
        similarity, probability = verdict.similarity, verdict.probability

        new_story = story is None
        if story is None:
            story = open_story(article.id, article.title, article.source, clock, seq)
            self._stories_changed(+1)
        else:
            story = add_member(story, article.source, clock, seq)
        indexed = vector is not None and kind != "exact"
        if indexed and vector is not None:
            terms = self._story_terms(text)
            story = with_language(with_content(story, vector, terms), article.lang)
            self.term_stats().add(terms)
        st.stories[story.id] = story

        decision = Decision(
            kind=kind,
            revision=revision,
            seq=seq,
            duplicate_of=duplicate_of,
            similarity=similarity,
            probability=probability,
            story_id=story.id,
            new_story=new_story,
        )
        self._remember(enriched, known, decision, root_id, title_hash, fingerprint)
        st.window[seq] = WindowEntry(
            seq=seq,
            id=article.id,
            root_id=root_id,
            story_id=story.id,
            content_hash=enriched.content_hash,
            at=clock,
            text=text if indexed else "",
            embedding=enriched.embedding if indexed else "",
            dim=enriched.dim if indexed else 0,
            facts=self._article_facts(text)[1] if indexed else "",
            language=(article.lang or "") if indexed else "",
        )
        if indexed and vector is not None and index is not None:
            self._index_add(index, seq, vector, clock)
        st.hashes[enriched.content_hash] = f"{seq}|{root_id}"
        self._evict(clock, seq)
        return self._out(enriched, decision, story, replayed=False)

    def _decide_known(
        self, known: ArticleState, enriched: EnrichedArticle, title_hash: str, clock: float, seq: int
    ) -> Verdict:
        """A known id: the same content again (``exact``), or a changed one (``update``), in its story."""
        article = enriched.article
        root_id = known.root_id
        story = self.state.stories.get(known.story_id)
        if story is None:
            story = self._reopen(known, enriched, clock, seq)
            self._stories_changed(+1)
        same = next((r for r in known.revisions if r.content_hash == enriched.content_hash), None)
        latest = known.revisions[-1]
        other_feed = all(r.feed_id != article.feed_id for r in known.revisions)
        if same is not None:
            return Verdict("exact", root_id, story, same.revision, root_id)
        if other_feed and latest.title_hash == title_hash:  # a feed's own summary of the same URL
            return Verdict("exact", root_id, story, latest.revision, root_id)
        revision = max(r.revision for r in known.revisions) + 1
        return Verdict("update", root_id, story, revision, None if root_id == article.id else root_id)

    def _decide_new(
        self,
        enriched: EnrichedArticle,
        index: WindowIndex | None,
        vector: npt.NDArray[np.float32] | None,
        text: str,
        clock: float,
        seq: int,
        previous_clock: float,
    ) -> Verdict:
        """A new id: known content (``exact``), a near duplicate in the window (``near``), or ``first``."""
        st = self.state
        by_hash = st.hashes.get(enriched.content_hash)
        origin = st.articles.get(by_hash.split("|", 1)[1]) if by_hash else None
        if origin is not None:
            return Verdict("exact", origin.root_id, st.stories.get(origin.story_id), 0, origin.root_id)
        if vector is None or index is None:
            return Verdict("first", enriched.article.id, None)
        kind, duplicate_of, similarity, probability, story = self._compare(
            index, vector, text, clock, seq, previous_clock, enriched.article.lang, enriched.model_id
        )
        root_id = duplicate_of if duplicate_of is not None else enriched.article.id
        return Verdict(kind, root_id, story, 0, duplicate_of, similarity, probability)

    def _reopen(self, known: ArticleState, enriched: EnrichedArticle, clock: float, seq: int) -> StoryState:
        """A known article's story was closed (no article for a window): it continues, same id."""
        a = enriched.article
        story = open_story(a.id, a.title, a.source, clock, seq).model_copy(update={"id": known.story_id})
        return story.model_copy(update={"members": 0, "sources": (), "source_count": 0})

    def _repair(self, enriched: EnrichedArticle, known: ArticleState, decision: Decision) -> StoryState:
        """A replay: restore what a crash may have lost between the tables' changelogs.

        The tables are written one by one; a worker killed in between can leave the
        article's decision stored but its window entry, content hash or story not.
        Everything here is idempotent, so a replay after a clean stop changes nothing.
        """
        st = self.state
        article = enriched.article
        seq = decision.seq
        story = st.stories.get(decision.story_id)
        if story is None:
            story = open_story(article.id, article.title, article.source, event_time(enriched), seq)
            story = story.model_copy(update={"id": decision.story_id})
            st.stories[story.id] = story
            self._stories_changed(+1)
        if st.hashes.get(enriched.content_hash) is None:
            st.hashes[enriched.content_hash] = f"{seq}|{known.root_id}"
        if seq < self._meta_int("low", 0):
            return story  # already evicted: nothing to restore
        if seq > self._meta_int("high", -1):
            st.meta["high"] = float(seq)
        entry = st.window.get(seq)
        index = self._index_for(enriched.dim) if enriched.dim else None
        indexed = index is not None and decision.kind != "exact"
        if entry is None:
            entry = WindowEntry(
                seq=seq,
                id=article.id,
                root_id=known.root_id,
                story_id=decision.story_id,
                content_hash=enriched.content_hash,
                at=max(self.clock - self.dedup.window, min(self.clock, event_time(enriched))),
                text=article.text_for_embedding()[:MAX_TEXT] if indexed else "",
                embedding=enriched.embedding if indexed else "",
                dim=enriched.dim if indexed else 0,
                language=(article.lang or "") if indexed else "",
            )
            st.window[seq] = entry
            if index is not None and indexed:  # it was missing, so the rebuild could not add it
                self._index_add(index, seq, entry.vector(), entry.at, always=True)
        elif index is not None and entry.dim == index.dim:
            self._index_add(index, seq, entry.vector(), entry.at)
        return story

    def _index_add(
        self, index: WindowIndex, seq: int, vector: npt.NDArray[np.float32], at: float, always: bool = False
    ) -> None:
        """Add to the index unless it holds ``seq`` already; in a batch, at the batch's end."""
        batch = self._batch
        if not always and (
            seq <= index.high_key or (batch is not None and batch.keys and seq <= batch.keys[-1])
        ):
            return
        if batch is not None:
            batch.add(seq, vector, index.bucket_of(at), at)
        else:
            index.add([seq], vector[None, :], at=at)

    def _compare(
        self,
        index: WindowIndex,
        vector: npt.NDArray[np.float32],
        text: str,
        clock: float,
        seq: int,
        previous_clock: float,
        language: str | None = None,
        model_id: str = "",
    ) -> tuple[DecisionKind, str | None, float | None, float | None, StoryState | None]:
        """Near-duplicate check against the nearest earlier articles, then the story to join.

        Near duplicates are same-language only: a translation carries the same
        facts, but it is the other audience's report, and the subscriber of an
        alert should see the original-language source beside the wire copy. So
        reports of one event in two languages are separate members of one story.
        """
        neighbors = self._neighbors(index, vector, seq, previous_clock)
        facts = self._article_facts(text)[0]
        stories: dict[str, StoryState | None] = {}
        candidates: dict[str, StoryState | None] = {}  # the stories of the close neighbours
        compared: list[tuple[WindowEntry, float, StoryState | None]] = []
        rows = []
        for neighbor in neighbors:
            entry = self.state.window.get(neighbor.key)
            if entry is None:
                continue
            if entry.story_id not in stories:  # neighbours often share a story: read it once
                stories[entry.story_id] = self.state.stories.get(entry.story_id)
            story = stories[entry.story_id]
            if neighbor.similarity >= self.stories.candidate_similarity:
                candidates.setdefault(entry.story_id, story)
            if (
                neighbor.similarity >= self.dedup.candidate_similarity
                and entry.dim
                and not (language and entry.language and entry.language != language)
            ):
                compared.append((entry, neighbor.similarity, story))
                rows.append(pair_features(facts, self._facts_of(entry), neighbor.similarity))
        if rows:  # one model evaluation for all candidates; the most similar match wins
            features = np.vstack(rows)
            same = self.model.decide(features, self.dedup.near_threshold)
            for best in np.flatnonzero(same).tolist():  # the place rule: only where it could decide
                entry, similarity, story = compared[best]
                if place_conflict(facts, self._facts_of(entry)):
                    continue
                probability = float(self.model.probability(features[best]))
                return "near", entry.root_id, similarity, probability, story
        scored = self.scored_stories(candidates.values(), vector, text, facts, clock, language, model_id)
        joined = best_story(scored, self.stories.threshold)
        return "first", None, None, None, joined

    def scored_stories(
        self,
        candidates: Iterable[StoryState | None],
        vector: npt.NDArray[np.float32],
        text: str,
        facts: Facts,
        clock: float,
        language: str | None = None,
        model_id: str = "",
    ) -> list[tuple[StoryState, StoryScore]]:
        """The open candidate stories with the article's score against each (``streams.dedup.stories``).

        Places are read only where they could change the decision (a story that
        reaches the threshold before the place penalty): the penalty only lowers a score.
        A story in other languages than the article's is scored by the cosine
        alone (``stories.crosslingual_cosine``), and not at all under a model
        with no cross-lingual cosine.
        """
        terms = self._story_terms(text)
        stats = self.term_stats()
        idf: dict[str, float] = {}
        config = self.stories
        crosslingual = config.crosslingual_for(model_id)
        scored = []
        for cosine, story in self._closest(candidates, vector, clock):
            credit = None
            if other_language(story, language):
                if crosslingual is None:
                    continue
                credit = config.threshold - crosslingual
            fit = score_story(
                story,
                vector,
                terms,
                stats,
                config.term_weight,
                config.place_penalty,
                False,
                config.min_cosine,
                config.age_penalty,
                clock,
                idf,
                cosine,
                credit,
            )
            if fit is None:
                continue
            if fit.score >= config.threshold and place_conflict(facts, self._story_facts(story)):
                fit = StoryScore(fit.score - config.place_penalty, fit.cosine, fit.terms, True)
            scored.append((story, fit))
        return scored

    def _closest(
        self, candidates: Iterable[StoryState | None], vector: npt.NDArray[np.float32], clock: float
    ) -> list[tuple[float, StoryState]]:
        """The open candidates whose centroids are closest to the article, at most ``STORIES_SCORED``."""
        config = self.stories
        near: list[tuple[float, StoryState]] = []
        for story in candidates:
            if story is None or not is_open(story, clock, config.window):
                continue
            cosine = centroid_cosine(story, vector)
            if cosine is not None and cosine >= config.min_cosine:
                near.append((cosine, story))
        near.sort(key=lambda pair: -pair[0])
        return near[:STORIES_SCORED]

    def _story_terms(self, text: str) -> Counter[str]:
        """The article's profile words, computed once for scoring and for its story."""
        if self._last_terms is None or self._last_terms[0] is not text:
            self._last_terms = (text, story_terms(text))
        return self._last_terms[1]

    def _article_facts(self, text: str) -> tuple[Facts, str]:
        """The article's facts, and packed for its window entry: extracted once per article."""
        if self._last_facts is None or self._last_facts[0] is not text:
            self._last_facts = (text, *extract_packed(text))
        return self._last_facts[1], self._last_facts[2]

    def _story_facts(self, story: StoryState) -> Facts:
        facts = self._title_facts.get(story.id)
        if facts is None:
            if len(self._title_facts) >= FACTS_CACHE:
                self._title_facts.clear()
            facts = self._title_facts[story.id] = extract_facts(story.title)
        return facts

    def _facts_of(self, entry: WindowEntry) -> Facts:
        facts = self._facts.get(entry.seq)
        if facts is None:
            if len(self._facts) >= FACTS_CACHE:  # forget the older half (insertion order)
                for seq in list(itertools.islice(self._facts, FACTS_CACHE // 2)):
                    del self._facts[seq]
            facts = unpack_facts(entry.facts, entry.text) if entry.facts else extract_facts(entry.text)
            self._facts[entry.seq] = facts
        return facts

    def _remember(
        self,
        enriched: EnrichedArticle,
        known: ArticleState | None,
        decision: Decision,
        root_id: str,
        title_hash: str,
        fingerprint: str,
    ) -> None:
        article = enriched.article
        revisions = known.revisions if known is not None else ()
        if not any(r.content_hash == enriched.content_hash for r in revisions) and decision.kind != "exact":
            revisions = (
                *revisions,
                RevisionState(
                    revision=decision.revision,
                    content_hash=enriched.content_hash,
                    title_hash=title_hash,
                    feed_id=article.feed_id,
                ),
            )[-MAX_REVISIONS:]
        elif not revisions:  # an exact duplicate under a new id: remember its one version
            revisions = (
                RevisionState(
                    revision=0,
                    content_hash=enriched.content_hash,
                    title_hash=title_hash,
                    feed_id=article.feed_id,
                ),
            )
        deliveries = dict(known.deliveries) if known is not None else {}
        deliveries[fingerprint] = decision
        while len(deliveries) > MAX_DELIVERIES:
            deliveries.pop(next(iter(deliveries)))
        self.state.articles[article.id] = ArticleState(
            id=article.id,
            story_id=decision.story_id,
            root_id=root_id,
            last_seq=decision.seq,
            revisions=revisions,
            deliveries=deliveries,
        )

    def _evict(self, clock: float, seq: int) -> None:
        """Forget a few entries per article; the index drops whole shards.

        Two cursors walk the window table in sequence order: ``low`` slims entries
        older than ``dedup.window`` (vector and text dropped, stories closed), and
        ``low_ids`` removes entries older than ``dedup.id_window`` together with the
        article ids and content hashes they hold (so updates and exact duplicates
        are recognised for longer than near duplicates are searched).
        """
        self._walk("low", clock - self.dedup.window, seq, self._slim)
        self._walk("low_ids", clock - max(self.dedup.id_window, self.dedup.window), seq, self._forget)
        if self.index is not None and self._batch is None:  # in a batch: at its end (searched up front)
            self.index.evict(clock)

    def _walk(self, cursor: str, horizon: float, seq: int, action: Callable[[WindowEntry], None]) -> None:
        st = self.state
        low = start = self._meta_int(cursor, seq)
        for _ in range(EVICT_STEPS):
            if low >= seq:
                break
            entry = st.window.get(low)
            if entry is not None:
                if entry.at >= horizon:
                    break
                action(entry)
            low += 1
        if low != start or st.meta.get(cursor) is None:
            st.meta[cursor] = float(low)

    def _slim(self, entry: WindowEntry) -> None:
        """The entry left the search window: keep only what the id window needs."""
        st = self.state
        self._facts.pop(entry.seq, None)
        if entry.text and self._terms is not None:
            self._terms.remove(story_terms(entry.text))
        if entry.dim or entry.text:
            slim = {"text": "", "embedding": "", "dim": 0, "facts": ""}
            st.window[entry.seq] = entry.model_copy(update=slim)
        story = st.stories.get(entry.story_id)
        if story is not None and story.last_seq <= entry.seq:
            st.stories.delete(entry.story_id)
            self._stories_changed(-1)

    def _forget(self, entry: WindowEntry) -> None:
        st = self.state
        st.window.delete(entry.seq)
        self._facts.pop(entry.seq, None)
        article = st.articles.get(entry.id)
        if article is not None and article.last_seq <= entry.seq:
            st.articles.delete(entry.id)
        by_hash = st.hashes.get(entry.content_hash)
        if by_hash is not None and by_hash.split("|", 1)[0] == str(entry.seq):
            st.hashes.delete(entry.content_hash)

    def _out(
        self, enriched: EnrichedArticle, decision: Decision, story: StoryState, *, replayed: bool
    ) -> SequencedArticle:
        return SequencedArticle(
            article=enriched.article,
            decision=decision,
            story=story.model_copy(update=STORY_MODEL_LEFT_OUT),  # ~2 KB the sequencer alone needs
            content_hash=enriched.content_hash,
            model_id=enriched.model_id,
            replayed=replayed,
        )
