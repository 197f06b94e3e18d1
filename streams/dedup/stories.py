"""Stories: articles about one event, grouped as they arrive.

A first-seen article joins the story of its most similar earlier article
(cosine at or above ``stories.threshold``) if that story is still open and
the article is also close to the story's anchor, its first article
(``stories.anchor_threshold``); else it opens a story of its own.
Duplicates and updates join the story of the article they repeat, so more
sources make a bigger story. Members let a story follow an event as it
develops ("ceasefire proposed" → "ceasefire agreed"); the anchor keeps it
from drifting into a neighbouring event.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from streams.records import StoryState

MAX_SOURCES = 64


def story_id_for(article_id: str) -> str:
    """Stable: the same opening article always gives the same story id."""
    return "s-" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:20]


def open_story(article_id: str, title: str, source: str, at: float, seq: int) -> StoryState:
    when = datetime.fromtimestamp(at, UTC)
    return StoryState(
        id=story_id_for(article_id),
        first_article_id=article_id,
        title=title,
        first_seen_at=when,
        last_seen_at=when,
        members=1,
        sources=(source,) if source else (),
        source_count=1 if source else 0,
        last_seq=seq,
    )


def add_member(story: StoryState, source: str, at: float, seq: int) -> StoryState:
    """The story with one more article (a duplicate counts: another outlet ran it)."""
    sources = story.sources
    count = story.source_count
    if source and source not in sources:
        count += 1
        if len(sources) < MAX_SOURCES:
            sources = (*sources, source)
    last = max(story.last_seen_at, datetime.fromtimestamp(at, UTC))
    return story.model_copy(
        update={
            "members": story.members + 1,
            "sources": sources,
            "source_count": count,
            "last_seen_at": last,
            "last_seq": max(story.last_seq, seq),
        }
    )


def is_open(story: StoryState, now: float, window: float) -> bool:
    return story.last_seen_at.timestamp() >= now - window


def anchor(story: StoryState) -> npt.NDArray[np.float32] | None:
    if not story.anchor:
        return None
    return np.frombuffer(base64.b64decode(story.anchor), dtype="<f2").astype(np.float32)


def with_anchor(story: StoryState, vector: npt.NDArray[np.float32]) -> StoryState:
    """The story anchored at its first embedded article (later members never move it)."""
    if story.anchor:
        return story
    return story.model_copy(
        update={"anchor": base64.b64encode(vector.astype("<f2").tobytes()).decode("ascii")}
    )


def anchor_similarity(story: StoryState, vector: npt.NDArray[np.float32]) -> float | None:
    seed = anchor(story)
    if seed is None or seed.shape != vector.shape:
        return None
    return float(seed @ vector)


def best_story(
    candidates: Iterable[tuple[float, StoryState | None]],
    vector: npt.NDArray[np.float32],
    threshold: float,
    anchor_threshold: float,
    now: float,
    window: float,
) -> tuple[StoryState, float] | None:
    """The open story of the most similar candidate at or above the threshold.

    The article must also be close to the story's anchor, its first article:
    linking through members alone chains related stories into one ("Ukraine
    war") on a topic-dense stream, and so does a running centroid, which drifts
    toward the generic. Measured on RUWA (docs/architecture.md, "Dedup and stories").
    """
    best: tuple[StoryState, float] | None = None
    for similarity, story in candidates:
        if story is None or similarity < threshold or not is_open(story, now, window):
            continue
        to_anchor = anchor_similarity(story, vector)
        if to_anchor is not None and to_anchor < anchor_threshold:
            continue
        if best is None or similarity > best[1]:
            best = (story, similarity)
    return best
