"""``kind: keyword`` — a boolean query (AND/OR/NOT, phrases, NEAR/n, prefix*) over chosen fields.

Write it as ``query:`` (the language of ``detectors.query``) or as the lists
``any`` / ``all`` / ``none``; both compile to the same query. Matching is
case- and accent-insensitive with word boundaries in any script: ``Kyiv`` does
not match ``Kyivstar``, ``Київ`` matches in Cyrillic text. A word matches its
inflections (``strike`` ~ ``strikes``, ``struck``; ``обстріл`` ~ ``обстрілів``);
quotes or ``=`` keep a term exact. The evidence lists the matched terms and
their character spans, in the original text, per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from detectors.base import (
    ALL_FIELDS,
    ArticleContext,
    BuildEnv,
    DetectorSpec,
    Finding,
    State,
    TextField,
    article_key,
)
from detectors.durations import Duration
from detectors.query import Anchors, Node, anchors, evaluate, parse, terms_query


class KeywordSpec(DetectorSpec):
    """Fires when the query (or the term lists) matches the article's chosen fields.

    Matching is case- and accent-insensitive, on whole words in any script;
    Chinese, Japanese and Thai match character by character.
    """

    kind: Literal["keyword"] = "keyword"
    query: str | None = Field(
        None,
        description=(
            "Boolean query: `AND`, `OR`, `NOT`/`-`, `a NEAR/5 b` (either order; operands "
            "may be `(x OR y)` groups), `prefix*`, parentheses. A word matches its inflections "
            '(`strike` ~ `strikes`, `struck`); `"a phrase"` in quotes and `=word` match exactly; e.g. '
            '`("air raid" OR "air-raid") AND (Kyiv OR Київ)`.'
        ),
    )
    any: tuple[str, ...] = Field(
        (),
        description='At least one of these terms must appear (inflected; `"quoted"` or `=term` exact).',
    )
    all: tuple[str, ...] = Field((), description="Every one of these terms must appear.")
    none: tuple[str, ...] = Field((), description="None of these terms may appear.")
    fields: tuple[TextField, ...] = Field(ALL_FIELDS, description="Article fields searched.")
    capture: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Values to extract into the evidence: name → regular expression (case-insensitive) "
            "whose first group is the value, e.g. `prisoners: '(\\d[\\d,]*) (?:prisoners|POWs)'`."
        ),
    )

    same_event: tuple[str, ...] = Field(
        (),
        description=(
            "Capture names whose values name the real event (`[prisoners]`: 175 prisoners): "
            "a match capturing the same values as an alert of this detector in the last "
            "`same_event_window` is held, even in another story (two outlets' words for one exchange)."
        ),
    )
    same_event_window: Duration = Field(
        3 * 86400.0, gt=0, description="How long an alert's `same_event` values hold further alerts."
    )

    @field_validator("capture")
    @classmethod
    def _compiles(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"capture {name!r}: {exc}") from None
        return value

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse(value)  # QuerySyntaxError is a ValueError: reported at the `query` key
        return value

    @model_validator(mode="after")
    def _needs_positive_terms(self) -> KeywordSpec:
        if self.query is None and not self.any and not self.all:
            raise ValueError("a keyword detector needs a `query`, or terms in `any` or `all`")
        if self.query is not None and (self.any or self.all or self.none):
            raise ValueError("give either `query` or the lists `any`/`all`/`none`, not both")
        unknown = [name for name in self.same_event if name not in self.capture]
        if unknown:
            raise ValueError(f"same_event names {unknown}, which `capture` does not define")
        return self

    @cached_property
    def node(self) -> Node:
        if self.query is not None:
            return parse(self.query)
        return terms_query(self.any, self.all, self.none)

    def build(self, env: BuildEnv | None = None) -> KeywordDetector:
        detector = KeywordDetector(self)
        if env is not None:
            detector.attach(env)
        return detector


class KeywordDetector:
    """Compiled form of a ``KeywordSpec``."""

    def __init__(self, spec: KeywordSpec) -> None:
        self.spec = spec
        self.node = spec.node
        self.captures = {name: re.compile(p, re.IGNORECASE) for name, p in spec.capture.items()}
        self.anchors = anchors(self.node)
        self.gate: AnchorIndex | None = None  # set when the detectors of a build share one

    def attach(self, env: BuildEnv) -> None:
        """Join the build's anchor index: one pass over an article's words for every keyword detector."""
        index = env.shared.setdefault("keyword-anchors", AnchorIndex())
        index.add(self.spec.id, self.spec.fields, self.anchors)
        self.gate = index

    def _may_match(self, article: ArticleContext) -> bool:
        """False when the article has none of the words any match needs (most articles, most queries)."""
        if self.anchors is None:
            return True
        found = self.anchors
        vocabulary = article.vocabulary(self.spec.fields)
        if not found.words.isdisjoint(vocabulary.words):
            return True
        if found.stems and not found.stems.isdisjoint(vocabulary.stems):
            return True
        return any(vocabulary.has_prefix(prefix) for prefix in found.prefixes)

    def _captured(self, article: ArticleContext) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, pattern in self.captures.items():
            for field in self.spec.fields:
                m = pattern.search(article.fields[field].text)
                if m:
                    values[name] = m.group(1) if m.groups() else m.group()
                    break
        return values

    def evaluate(
        self,
        article: ArticleContext,
        state: State | None = None,
        found: Mapping[str, Finding] | None = None,
    ) -> Finding | None:
        if self.gate is not None:
            if self.spec.id not in self.gate.candidates(article):
                return None
        elif not self._may_match(article):
            return None
        fields = article.text(self.spec.fields)
        passage: int | None = None
        if "content" in fields and len(article.passages) > 1:
            for number, text in enumerate(article.passages):  # the title and summary, with each passage
                match = evaluate(self.node, {**fields, "content": text})
                if match.matched:
                    passage = number
                    break
        else:
            match = evaluate(self.node, fields)
        if not match.matched:
            return None
        spans = {name: [[term, list(span)] for term, span in hits] for name, hits in match.spans.items()}
        captured = self._captured(article)
        same = [captured.get(name) for name in self.spec.same_event]
        return Finding(
            detector_id=self.spec.id,
            key=article_key(article),
            group="|".join(match.terms),
            evidence={
                "matched_terms": match.terms,
                "spans": spans,
                **({"passage": passage} if passage is not None else {}),
                **({"captured": captured} if captured else {}),
            },
            event="|".join(_normalized(v) for v in same if v) if same and all(same) else "",
            event_window=self.spec.same_event_window,
        )


def _normalized(value: str) -> str:
    """A captured value as it names an event: "1,000" and "1000" are one count."""
    return value.replace(",", "").strip().lower()


class AnchorIndex:
    """Anchor key → the keyword detectors that need it, so an article is checked once for all.

    Per article (and set of fields) it yields the detectors that may match: those
    with an anchor word among the article's words, an anchor stem among their
    stems, a prefix some word begins with, or no anchors at all (a query that can
    match without a term).
    """

    def __init__(self) -> None:
        self._by_word: dict[tuple[TextField, ...], dict[str, set[str]]] = {}
        self._by_stem: dict[tuple[TextField, ...], dict[str, set[str]]] = {}
        self._prefixes: dict[tuple[TextField, ...], dict[str, set[str]]] = {}
        self._always: set[str] = set()

    def add(self, detector_id: str, fields: tuple[TextField, ...], found: Anchors | None) -> None:
        if found is None:
            self._always.add(detector_id)
            return
        for table, keys in (
            (self._by_word, found.words),
            (self._by_stem, found.stems),
            (self._prefixes, found.prefixes),
        ):
            for key in keys:
                table.setdefault(fields, {}).setdefault(key, set()).add(detector_id)

    def candidates(self, article: ArticleContext) -> set[str]:
        found: set[str] | None = article.cache.get(self)  # the index itself is the key: no tuple per call
        if found is None:
            found = set(self._always)
            for fields in {*self._by_word, *self._by_stem, *self._prefixes}:
                vocabulary = article.vocabulary(fields)
                by_word = self._by_word.get(fields, {})
                for word in vocabulary.words & by_word.keys():
                    found |= by_word[word]
                by_stem = self._by_stem.get(fields, {})
                if by_stem:
                    for key in vocabulary.stems & by_stem.keys():
                        found |= by_stem[key]
                for prefix, ids in self._prefixes.get(fields, {}).items():
                    if vocabulary.has_prefix(prefix):
                        found |= ids
            article.cache[self] = found
        return found
