"""What every detector kind shares: its YAML fields, the article it sees, its state and its finding.

A kind is a ``DetectorSpec`` subclass (the YAML, validated) whose ``build``
returns a ``Detector`` (the compiled logic). Detectors are pure: the engine
hands them the article, a ``State`` of their own and the findings of the
detectors they refer to; they return a ``Finding`` or ``None``. Nothing here
knows about Kafka: the stage that runs the engine backs ``State`` with a
changelog table, tests with a dict.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from detectors.durations import Duration
from detectors.text import FieldText, Vocabulary, lazy

if TYPE_CHECKING:
    from detectors.gazetteer import Gazetteer

DecisionKind = Literal["first", "update", "exact", "near"]
TextField = Literal["title", "summary", "content"]
ALL_FIELDS: tuple[TextField, ...] = ("title", "summary", "content")


class Severity(enum.StrEnum):
    """Alert severity; ``rank`` orders them so routes can say "high and above"."""

    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class DetectorSpec(BaseModel):
    """Fields every detector accepts in YAML, whatever its kind."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Unique detector id.")
    kind: str = Field(description="Detector kind, a key of the registry.")
    description: str = Field("", description="What this detector watches for, for people (alert title).")
    severity: Severity = Field(Severity.medium, description="Alert severity.")
    cooldown: Duration = Field(
        0.0,
        description="Minimum time between two alerts of one group; with `group_by` and 0: once per group.",
    )
    group_by: Literal["none", "story", "key"] = Field(
        "none",
        description=(
            "Alert grouping: `story` (one story cannot flood subscribers), `key` (the kind's key: "
            "a sequence's join key, a burst's window), `none` (each event alerts)."
        ),
    )
    labels: tuple[str, ...] = Field((), description="Free labels carried by alerts; routes select on them.")
    enabled: bool = Field(True, description="A disabled detector is validated but never evaluated.")
    alert: bool = Field(
        True, description="False: a building block other detectors refer to, never alerting itself."
    )
    alert_on: tuple[DecisionKind, ...] = Field(
        ("first", "update"),
        description=(
            "Dedup decisions that may alert (duplicates still feed stateful detectors). A duplicate "
            "left out here still alerts with a finding its original did not have (the copy that "
            "names a new term, whichever copy came first)."
        ),
    )
    error_limit: int = Field(
        3,
        ge=1,
        description=(
            "Evaluation errors after which the detector is disabled (the others keep running) "
            "until a changed definition of it is applied."
        ),
    )

    def requires(self) -> tuple[str, ...]:
        """Ids of the detectors this one reads the findings of (evaluated before it)."""
        return ()

    def build(self, env: BuildEnv) -> Detector:
        raise NotImplementedError


@dataclass
class BuildEnv:
    """What a kind may need to compile: an encoder, shared entities, the gazetteer (built lazily)."""

    encode: Callable[[list[str]], npt.NDArray[np.float32]] | None = None
    entities: Mapping[str, Any] = field(default_factory=dict)  # id → detectors.entity.EntityDef
    gazetteer_factory: Callable[[], Gazetteer] | None = None
    shared: dict[str, Any] = field(default_factory=dict)  # what the detectors of one build share
    _gazetteer: Gazetteer | None = None

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            if self.gazetteer_factory is None:
                from detectors.gazetteer import Gazetteer

                self._gazetteer = Gazetteer.shared()
            else:
                self._gazetteer = self.gazetteer_factory()
        return self._gazetteer


PASSAGE_CHARS = 200  # a paragraph shorter than this is read with the next


@dataclass
class ArticleContext:
    """An article as detectors see it: text, dedup decision, story, vector and event time."""

    id: str = "a"
    title: str = ""
    summary: str = ""
    content: str = ""
    revision: int = 0
    source: str = ""
    url: str = ""
    at: float = 0.0  # event time, epoch seconds: published (never after fetched)
    published_at: str = ""
    language: str | None = None  # ISO 639: detected from the text, else declared by the feed
    decision: DecisionKind = "first"
    duplicate_of: str | None = None
    story_id: str = ""
    story_title: str = ""
    story_members: int = 1
    story_sources: tuple[str, ...] = ()
    new_story: bool = True
    vector: npt.NDArray[np.float32] | None = None
    cache: dict[Any, Any] = field(default_factory=dict)  # per-article values detectors share

    @lazy
    def fields(self) -> dict[str, FieldText]:
        return {
            "title": FieldText(self.title),
            "summary": FieldText(self.summary),
            "content": FieldText(self.content),
        }

    def text(self, names: tuple[TextField, ...] = ALL_FIELDS) -> dict[str, FieldText]:
        return {name: self.fields[name] for name in names}

    @lazy
    def passages(self) -> list[FieldText]:
        """``content`` in paragraphs (a page's text: one per line), each at least ``PASSAGE_CHARS``
        long where paragraphs are short; a single passage for a feed's text. A boolean query is
        read per passage (``kind: keyword``): on a page, a NOT in the ninth paragraph ("could",
        "plans") must not veto the strike the first one reports, nor NEAR reach across paragraphs."""
        paragraphs = [p for p in self.content.split("\n") if p.strip()]
        if len(paragraphs) <= 1:
            return [self.fields["content"]]
        merged: list[str] = []
        for paragraph in paragraphs:
            if merged and len(merged[-1]) < PASSAGE_CHARS:
                merged[-1] = f"{merged[-1]}\n{paragraph}"
            else:
                merged.append(paragraph)
        return [FieldText(p) for p in merged]

    def vocabulary(self, names: tuple[TextField, ...] = ALL_FIELDS) -> Vocabulary:
        """The distinct words of these fields (cached per article: detectors share it)."""
        key = ("vocabulary", names)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = Vocabulary([self.fields[n] for n in names])
        return found

    def ref(self) -> dict[str, Any]:
        """The article as an alert lists it (see ``streams.records.ArticleRef``)."""
        return {
            "id": self.id,
            "revision": self.revision,
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "published_at": self.published_at,
        }


@dataclass(frozen=True)
class Finding:
    """A detector fired: the event's key (part of the alert id) and why, for the alert's evidence.

    ``key`` scopes the event (the article, the pair of articles, the window),
    so the same event always gets the same alert id and a later one a new id.
    ``group`` is the kind's grouping key for ``group_by: key``. ``related``
    lists the other articles the alert carries (``ArticleContext.ref``), such
    as the first event of a sequence. ``event`` names the real event where the
    kind can tell (a keyword detector's ``same_event`` captures, "175"): one
    alert per event for ``event_window``, whatever story each report is in.
    """

    detector_id: str
    key: str
    evidence: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    related: tuple[dict[str, Any], ...] = ()
    event: str = ""  # names the real event when the kind can tell (keyword `same_event`)
    event_window: float = 0.0  # how long ``event`` holds further alerts of the detector


class State(Protocol):
    """A detector's own key-value state (JSON values); the engine scopes keys and expires them."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


class Gate(Protocol):
    """A prefilter shared by the detectors of one kind: which of them may match an article.

    One pass per article for all of them (an anchor-word index, one phrasebook,
    one matrix product), cached in ``ArticleContext.cache``; the engine calls a
    detector only when its id is among the candidates, so a hundred detectors
    cost a few dictionary lookups on an article none of them is about.
    """

    def candidates(self, article: ArticleContext) -> set[str]: ...


class Detector(Protocol):
    """A compiled detector; it may also have a ``gate`` (``Gate``) the engine asks first."""

    spec: Any

    def evaluate(
        self, article: ArticleContext, state: State, found: Mapping[str, Finding]
    ) -> Finding | None: ...


def article_key(article: ArticleContext) -> str:
    """Event key of a one-article finding: the report (a duplicate shares its original's)."""
    return f"article:{article.duplicate_of or article.id}"
