"""Stories as a person inspects them: one line per article, and the largest stories they make.

``wirewatch backtest --decisions FILE.jsonl`` writes a ``decision_line`` per
article, in the order the sequencer saw them; ``wirewatch stories`` reads such
a file (or the live sequenced topic, whose records give the same lines) and
shows the largest stories with their first titles, so a user can see at a
glance whether grouping joins one event across outlets or chains unrelated
news. The lines are also what tests score against gold event labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.archive import json_lines
from monitor.errors import ArchiveError
from streams.records import SequencedArticle

TITLES_SHOWN = 3  # first titles of a story shown by `wirewatch stories`


def decision_line(sequenced: SequencedArticle) -> dict[str, Any]:
    """What the sequencer decided for one article, as one JSON-ready object."""
    article, decision = sequenced.article, sequenced.decision
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "source": article.source,
        "published_at": article.published_at.isoformat(),
        "decision": decision.kind,
        "duplicate_of": decision.duplicate_of,
        "story_id": decision.story_id,
        "new_story": decision.new_story,
        "similarity": decision.similarity,
        "probability": decision.probability,
    }


REQUIRED = ("id", "story_id", "decision", "published_at")


def read_decision_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of a ``--decisions`` file; a line that is not one names its number."""
    for number, line in json_lines(path):
        missing = [k for k in REQUIRED if not isinstance(line, dict) or k not in line]
        if missing:
            raise ArchiveError(f"{path}:{number}: not a decision line (no {', '.join(missing)})")
        yield line


@dataclass
class StorySummary:
    """One story as the decision lines show it."""

    story_id: str
    articles: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    sources: set[str] = field(default_factory=set)
    titles: list[str] = field(default_factory=list)  # distinct, first ones first
    duplicates: int = 0  # exact and near

    def add(self, line: dict[str, Any]) -> None:
        at = datetime.fromisoformat(line["published_at"])
        self.articles += 1
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)
        if line.get("source"):
            self.sources.add(line["source"])
        title = line.get("title") or ""
        if title and len(self.titles) < TITLES_SHOWN and title not in self.titles:
            self.titles.append(title)
        self.duplicates += line["decision"] in ("exact", "near")


def summarize(lines: Iterable[dict[str, Any]]) -> list[StorySummary]:
    """Every story of ``lines``, largest first (ties: the most recent first)."""
    stories: dict[str, StorySummary] = {}
    for line in lines:
        stories.setdefault(line["story_id"], StorySummary(line["story_id"])).add(line)
    return sorted(stories.values(), key=lambda s: (-s.articles, -(s.last_at.timestamp() if s.last_at else 0)))


def open_at(stories: list[StorySummary], now: datetime, window: float) -> list[StorySummary]:
    """The stories that still take articles at ``now`` (an article within ``stories.window``)."""
    return [s for s in stories if s.last_at is not None and (now - s.last_at).total_seconds() <= window]


def summary_json(story: StorySummary) -> dict[str, Any]:
    return {
        "story_id": story.story_id,
        "articles": story.articles,
        "duplicates": story.duplicates,
        "sources": sorted(story.sources),
        "first_at": story.first_at.isoformat() if story.first_at else None,
        "last_at": story.last_at.isoformat() if story.last_at else None,
        "titles": story.titles,
    }


def bcubed(predicted: list[str], gold: list[str]) -> tuple[float, float, float]:
    """B-cubed (F1, precision, recall) of a clustering against gold labels, item by item.

    Per article: precision is the share of its story that shares its gold event,
    recall the share of its gold event that shares its story; both averaged over
    articles (Bagga & Baldwin 1998; Amigó et al. 2009).
    """
    if len(predicted) != len(gold) or not gold:
        raise ValueError("one predicted and one gold label per article, at least one")
    pairs = Counter(zip(predicted, gold, strict=True))
    stories, events = Counter(predicted), Counter(gold)
    precision = sum(n * n / stories[p] for (p, _), n in pairs.items()) / len(gold)
    recall = sum(n * n / events[g] for (_, g), n in pairs.items()) / len(gold)
    return 2 * precision * recall / (precision + recall), precision, recall
