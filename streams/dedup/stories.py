"""Stories: articles about one event, grouped as they arrive.

After the online clusterers that do this best (Miranda et al., EMNLP 2018,
"Multilingual Clustering of Streaming News"), a story is a centroid of
several representations of its members, plus time:

* the mean of their embeddings (``StoryState.centroid``);
* a profile of their words, the ``PROFILE_TERMS`` most frequent, weighed at
  comparison time by how rare each word is among the articles of the search
  window (``TermStats``: IDF over ``dedup.window``, so "Ukraine" in a war
  stream weighs little and "Kremenchuk" much);
* the places its first headline names (``streams.dedup.facts.place_conflict``);
* time: a story takes articles for ``stories.window`` after its last one.

A first-seen article is scored against the open stories of its nearest
earlier articles::

    score = cos(article, centroid) + term_weight · tfidf_cos(article, profile)
            − place_penalty · [the headlines name conflicting places]

and joins the best story scoring ``stories.threshold`` or more, else opens
one. Duplicates and updates join the story of the article they repeat.

Why not the nearest member plus an anchor (the model before): headlines of
one event sit at cosine 0.62–0.70 in MiniLM, so anchoring a story to its
first article split events into many stories, while linking through members
alone chained a topic's news into one. The mean holds an event's common
core; the word profile tells two events of one kind apart (two rehab
stories, two shootings), which the embedding mostly cannot. Measured on gold
event clusterings: docs/architecture.md, "Stories".

Everything here is pure and deterministic: a story's state is a function of
its members in sequence order, and ``TermStats`` a function of the window
table, so a restarted or rebalanced sequencer scores as the old one did.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from streams.records import StoryState

MAX_SOURCES = 64
PROFILE_TERMS = 48  # words kept per story: the most frequent (measured: 24 lost recall, 48 = unbounded)

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)  # any script: Latin, Cyrillic …
# the commonest English function words; in other languages the IDF does the same job
_STOP = frozenset(
    (
        "the", "and", "for", "with", "from", "that", "this", "was", "were", "are", "has", "have",
        "had", "its", "not", "but", "you", "his", "her", "they", "their", "will", "would", "could",
        "can", "who", "what", "when", "after", "over", "about", "into", "than", "more", "new", "says",
        "said", "say",
    )
)  # fmt: skip


def story_terms(text: str) -> Counter[str]:
    """The words of ``text`` a story profile counts (lowercased, three letters or more)."""
    return Counter(w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP)


@dataclass
class TermStats:
    """Document frequencies over the articles in the search window (their IDF weighs a profile).

    The sequencer adds an article's words when its window entry takes its text and
    removes them when the entry is slimmed, so the counts are a function of the
    window table alone: rebuilt from it after a restart, they are what they were.
    """

    documents: int = 0
    frequency: Counter[str] = field(default_factory=Counter)

    def add(self, terms: Iterable[str]) -> None:
        self.documents += 1
        self.frequency.update(set(terms))

    def remove(self, terms: Iterable[str]) -> None:
        self.documents = max(0, self.documents - 1)
        for term in set(terms):
            left = self.frequency[term] - 1
            if left > 0:
                self.frequency[term] = left
            else:
                del self.frequency[term]

    def idf(self, term: str) -> float:
        return math.log((self.documents + 1) / (self.frequency.get(term, 0) + 1)) + 1.0


def tfidf_cosine(
    article: Mapping[str, int],
    profile: Mapping[str, int],
    stats: TermStats,
    idf: dict[str, float] | None = None,
) -> float:
    """Cosine of the two word-count vectors, each word weighed by its IDF.

    ``idf`` caches weights across the stories one article is scored against
    (this runs for every candidate story of every article: kept to one pass).
    """
    if not article or not profile or article.keys().isdisjoint(profile.keys()):
        return 0.0
    w: dict[str, float] = {} if idf is None else idf
    missing = [t for t in profile if t not in w] + [t for t in article if t not in w]
    if missing:
        documents, frequency, log = stats.documents + 1, stats.frequency.get, math.log
        for term in missing:
            w[term] = log(documents / (frequency(term, 0) + 1)) + 1.0
    dot = sum(n * profile[t] * w[t] * w[t] for t, n in article.items() if t in profile)
    norm_p = sum((n * w[t]) ** 2 for t, n in profile.items())
    norm_a = sum((n * w[t]) ** 2 for t, n in article.items())
    return dot / math.sqrt(norm_a * norm_p)


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


def with_content(story: StoryState, vector: npt.NDArray[np.float32], terms: Counter[str]) -> StoryState:
    """The story's centroid and word profile with one more member's vector and words."""
    n = story.vectors
    mean = centroid(story)
    if mean is None or mean.shape != vector.shape:  # the first embedded member (or a new model)
        mean, n = np.zeros_like(vector, dtype=np.float32), 0
    mean = ((mean * n + vector.astype(np.float32)) / (n + 1)).astype(np.float32)
    profile = Counter(story.terms)
    profile.update(terms)
    kept = dict(sorted(profile.items(), key=lambda kv: (-kv[1], kv[0]))[:PROFILE_TERMS])
    return story.model_copy(
        update={
            "centroid": base64.b64encode(mean.astype("<f2").tobytes()).decode("ascii"),
            "vectors": n + 1,
            "terms": kept,
        }
    )


MAX_LANGUAGES = 8


def with_language(story: StoryState, language: str | None) -> StoryState:
    """The story with ``language`` among its members' languages (unchanged if known or None)."""
    if not language or language in story.languages or len(story.languages) >= MAX_LANGUAGES:
        return story
    return story.model_copy(update={"languages": (*story.languages, language)})


def other_language(story: StoryState, language: str | None) -> bool:
    """Is the article in a language none of the story's members is in (both known)?"""
    return bool(language) and bool(story.languages) and language not in story.languages


def centroid(story: StoryState) -> npt.NDArray[np.float32] | None:
    """The mean of the story's member vectors (not normalized), or None before one is embedded."""
    if not story.centroid:
        return None
    return np.frombuffer(base64.b64decode(story.centroid), dtype="<f2").astype(np.float32)


def is_open(story: StoryState, now: float, window: float) -> bool:
    return story.last_seen_at.timestamp() >= now - window


@dataclass(frozen=True)
class StoryScore:
    """How well an article fits a story, part by part (the score is what decides)."""

    score: float
    cosine: float
    terms: float
    place_conflict: bool


def centroid_cosine(story: StoryState, vector: npt.NDArray[np.float32]) -> float | None:
    """Cosine of the article to the story's centroid; None if the story has none to compare."""
    mean = centroid(story)
    if mean is None or mean.shape != vector.shape:
        return None
    norm = math.sqrt(float(mean @ mean))
    return float(mean @ vector) / norm if norm else 0.0


def score_story(
    story: StoryState,
    vector: npt.NDArray[np.float32],
    terms: Mapping[str, int],
    stats: TermStats,
    term_weight: float,
    place_penalty: float,
    places_conflict: bool,
    min_cosine: float = -1.0,
    age_penalty: float = 0.0,
    now: float = 0.0,
    idf: dict[str, float] | None = None,
    cosine: float | None = None,
    words_credit: float | None = None,
) -> StoryScore | None:
    """The article's score against one story; None if the story has no centroid to compare.

    ``cosine``: ``centroid_cosine(story, vector)`` when the caller has it already.
    ``words_credit``: the article is in another language than the story, so
    their words cannot be compared; this stands in for ``term_weight * words``
    (``threshold - stories.crosslingual_cosine``: the cosine alone must reach
    ``crosslingual_cosine``, penalties still apply).
    """
    cosine = centroid_cosine(story, vector) if cosine is None else cosine
    if cosine is None or cosine < min_cosine:
        return None
    age = max(0.0, now - story.first_seen_at.timestamp()) / 86400.0 if now else 0.0
    if words_credit is None:
        words = tfidf_cosine(terms, story.terms, stats, idf)
        credit = term_weight * words
    else:
        words, credit = 0.0, words_credit
    score = cosine + credit - (place_penalty if places_conflict else 0.0) - age_penalty * age
    return StoryScore(score, cosine, words, places_conflict)


def best_story(scored: Iterable[tuple[StoryState, StoryScore]], threshold: float) -> StoryState | None:
    """The best-scoring story at or above ``threshold`` (ties: the earlier-opened story)."""
    best: tuple[StoryState, StoryScore] | None = None
    for story, fit in scored:
        if fit.score < threshold:
            continue
        if best is None or (fit.score, -story.first_seen_at.timestamp()) > (
            best[1].score,
            -best[0].first_seen_at.timestamp(),
        ):
            best = (story, fit)
    return best[0] if best else None
