"""The sequencer's tables, and what identifies one delivery of an article and its time.

Five key-value stores (``detectors.store.Store``): dicts in tests and
backtests, changelog-backed Faust tables in ``streams.agents.dedup``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from detectors.store import MemoryStore, Store
from streams.records import ArticleState, EnrichedArticle, StoryState, WindowEntry


@dataclass
class SequencerState:
    """The sequencer's tables. ``meta`` holds the clock and the eviction cursor."""

    articles: Store[str, ArticleState]
    hashes: Store[str, str]  # content hash → "seq|root id"
    window: Store[int, WindowEntry]
    stories: Store[str, StoryState]
    meta: Store[str, float]

    @classmethod
    def in_memory(cls) -> SequencerState:
        """Plain dicts: for tests, backtests and benchmarks without Kafka."""
        return cls(MemoryStore(), MemoryStore(), MemoryStore(), MemoryStore(), MemoryStore())


def delivery_key(enriched: EnrichedArticle) -> str:
    """One poller publication: the same feed, fetch time and content is the same delivery."""
    a = enriched.article
    raw = f"{a.feed_id}\x1f{a.fetched_at.isoformat()}\x1f{enriched.content_hash}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def event_time(enriched: EnrichedArticle) -> float:
    a = enriched.article
    return min(a.published_at, a.fetched_at).timestamp()
