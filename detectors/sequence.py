"""``kind: sequence`` — event A, then event B within a window, joined on a key of the articles.

A and B are other detectors, by id (often with ``alert: false``): "a call
between leaders" then "an air-raid report". The join key comes from the
articles: ``country`` (countries named, directly, through a city of the
gazetteer, or through an entity declared with a ``country``), ``entity``
(declared entities mentioned), ``story`` (the same story) or ``none``.

Order is by event time, not arrival: feeds are polled at different times, so
B may arrive before A. Both sides are kept for ``within`` (per join key, the
latest 16 of each); whichever completes a pair fires. The alert is about B,
the report that completes the sequence: its id comes from B alone, so B
alerts once whichever A it was paired with, and which A arrived first (on one
worker or several) does not make another alert. It carries both articles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from detectors.base import ArticleContext, BuildEnv, DetectorSpec, Finding, State, article_key
from detectors.durations import Duration
from detectors.entity import entity_book
from detectors.phrasebook import Phrasebook

KEEP = 16  # events kept per side and join key


class SequenceSpec(DetectorSpec):
    """Fires when ``then`` matches within ``within`` after ``first`` matched, on a shared join key.

    By event time, in either arrival order; the alert carries both articles,
    preferring an original report over a later duplicate of it.
    """

    kind: Literal["sequence"] = "sequence"
    first: str = Field(description="Detector id of the first event (A).")
    then: str = Field(description="Detector id of the event that follows (B).")
    within: Duration = Field(6 * 3600.0, gt=0, description="Longest time from A to B.")
    join: Literal["country", "entity", "story", "none"] = Field(
        "country",
        description=(
            "What A and B must share: `country` (named directly, through a gazetteer city or an "
            "entity's `country`), `entity`, `story`, or `none`."
        ),
    )

    def requires(self) -> tuple[str, ...]:
        return (self.first, self.then)

    def build(self, env: BuildEnv) -> SequenceDetector:
        return SequenceDetector(self, env)


class SequenceDetector:
    def __init__(self, spec: SequenceSpec, env: BuildEnv) -> None:
        self.spec = spec
        self.env = env
        self._entities: Phrasebook | None = None

    def _entity_book(self) -> Phrasebook:
        if self._entities is None:
            self._entities = entity_book(list(self.env.entities.values()), self.env)
        return self._entities

    def keys(self, article: ArticleContext) -> list[str]:
        """The article's join keys (shared per article, whichever detector asks)."""
        join = self.spec.join
        if join == "none":
            return ["*"]
        if join == "story":
            return [article.story_id]
        cache_key = f"join:{join}"
        if cache_key not in article.cache:
            mentioned = {
                str(hit.payload) for text in article.fields.values() for hit in self._entity_book().find(text)
            }
            if join == "entity":
                keys = mentioned
            else:
                keys = {e.country for i in mentioned if (e := self.env.entities[i]).country}
                for text in article.fields.values():
                    keys.update(place.country for place, _, _ in self.env.gazetteer.find(text))
            article.cache[cache_key] = sorted(keys)
        return list(article.cache[cache_key])

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        is_a, is_b = self.spec.first in found, self.spec.then in found
        if not (is_a or is_b):
            return None
        keys = self.keys(article)
        me = {
            "at": article.at,
            "key": article_key(article),
            "ref": article.ref(),
            "copy": article.decision in ("exact", "near"),
        }
        pair: tuple[dict[str, Any], dict[str, Any], str] | None = None
        within = self.spec.within
        for key in keys:
            if is_b and pair is None:
                a_side = [
                    a
                    for a in reversed(state.get(f"a/{key}") or [])
                    if a["key"] != me["key"] and a["at"] <= article.at <= a["at"] + within
                ]
                if a_side:
                    pair = (_original_first(a_side), me, key)
            if is_a and pair is None:
                b_side = [
                    b
                    for b in reversed(state.get(f"b/{key}") or [])
                    if b["key"] != me["key"] and article.at <= b["at"] <= article.at + within
                ]
                if b_side:
                    pair = (me, _original_first(b_side), key)
        for side, matched in (("a", is_a), ("b", is_b)):
            if matched:
                for key in keys:
                    kept = [e for e in state.get(f"{side}/{key}") or [] if e["key"] != me["key"]]
                    state.set(f"{side}/{key}", [*kept, me][-KEEP:], ttl=within)
        if pair is None:
            return None
        a, b, key = pair
        return Finding(
            detector_id=self.spec.id,
            key=f"then:{b['key']}",  # not the pair: an A arriving later must not re-alert B
            group=key,
            evidence={
                "join": self.spec.join,
                "join_key": key,
                "first": {"detector": self.spec.first, "article": a["ref"]},
                "then": {"detector": self.spec.then, "article": b["ref"]},
                "gap_seconds": round(b["at"] - a["at"], 1),
            },
            related=(a["ref"],) if b is me else (b["ref"],),
        )


def _original_first(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The most recent original report among ``events`` (newest first); a copy only if all are copies.

    An aggregator's verbatim copy of the call arrives after the call itself: the alert
    should name the report, not the copy.
    """
    return next((e for e in events if not e.get("copy")), events[0])
