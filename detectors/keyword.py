"""``kind: keyword`` — terms that must (not) appear in chosen text fields.

Matching is case- and accent-insensitive and respects word boundaries in any
script (``\\b`` on Unicode word characters), so ``Kyiv`` does not match
``Kyivstar`` and ``Київ`` matches in Cyrillic text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from detectors.base import ArticleText, DetectorSpec, Finding

TextField = Literal["title", "summary", "content"]


def fold(text: str) -> str:
    """Lowercase and strip accents: ``Zélensky`` → ``zelensky``; Cyrillic letters stay letters."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class KeywordSpec(DetectorSpec):
    """Fires when any of ``any``, all of ``all`` and none of ``none`` appear in ``fields``."""

    kind: Literal["keyword"] = "keyword"
    any: tuple[str, ...] = Field((), description="At least one of these terms must appear.")
    all: tuple[str, ...] = Field((), description="Every one of these terms must appear.")
    none: tuple[str, ...] = Field((), description="None of these terms may appear.")
    fields: tuple[TextField, ...] = Field(
        ("title", "summary", "content"), description="Article fields searched."
    )

    @model_validator(mode="after")
    def _needs_positive_terms(self) -> KeywordSpec:
        if not self.any and not self.all:
            raise ValueError("a keyword detector needs terms in `any` or `all`")
        return self

    def build(self) -> KeywordDetector:
        return KeywordDetector(self)


class KeywordDetector:
    """Compiled form of a ``KeywordSpec``."""

    def __init__(self, spec: KeywordSpec) -> None:
        self.spec = spec

    @cached_property
    def _patterns(self) -> dict[str, re.Pattern[str]]:
        terms = {*self.spec.any, *self.spec.all, *self.spec.none}
        return {t: re.compile(rf"(?<!\w){re.escape(fold(t))}(?!\w)") for t in terms}

    def _matches(self, text: str) -> dict[str, list[tuple[int, int]]]:
        found: dict[str, list[tuple[int, int]]] = {}
        for term, pattern in self._patterns.items():
            spans = [m.span() for m in pattern.finditer(text)]
            if spans:
                found[term] = spans
        return found

    def evaluate(self, article: ArticleText) -> Finding | None:
        per_field = {f: self._matches(fold(article.field(f))) for f in self.spec.fields}
        seen = {term for hits in per_field.values() for term in hits}
        if self.spec.any and not seen.intersection(self.spec.any):
            return None
        if not seen.issuperset(self.spec.all) or seen.intersection(self.spec.none):
            return None
        matched = sorted(seen.intersection({*self.spec.any, *self.spec.all}))
        spans = {
            f: {t: s for t, s in hits.items() if t in matched}
            for f, hits in per_field.items()
            if any(t in matched for t in hits)
        }
        return Finding(
            detector_id=self.spec.id,
            dedupe_key="|".join(matched),
            evidence={"matched_terms": matched, "spans": spans},
        )
