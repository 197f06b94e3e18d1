"""``kind: all`` / ``kind: any`` — other detectors combined on the same article.

``all`` fires when every listed detector matched the article, ``any`` when
one did; the evidence holds each one's. The parts are often ``alert: false``
building blocks, so that only the combination alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from detectors.base import ArticleContext, BuildEnv, DetectorSpec, Finding, State, article_key


class _ComposeSpec(DetectorSpec):
    of: tuple[str, ...] = Field(min_length=1, description="Ids of the detectors combined.")

    def requires(self) -> tuple[str, ...]:
        return self.of

    def build(self, env: BuildEnv) -> ComposeDetector:
        return ComposeDetector(self)


class AllSpec(_ComposeSpec):
    """Fires when every detector in ``of`` matched the article."""

    kind: Literal["all"] = "all"


class AnySpec(_ComposeSpec):
    """Fires when at least one detector in ``of`` matched the article."""

    kind: Literal["any"] = "any"


class ComposeDetector:
    def __init__(self, spec: _ComposeSpec) -> None:
        self.spec = spec
        self.every = spec.kind == "all"

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        parts = {d: found[d] for d in self.spec.of if d in found}
        if not parts or (self.every and len(parts) < len(self.spec.of)):
            return None
        related = tuple(r for f in parts.values() for r in f.related)
        return Finding(
            detector_id=self.spec.id,
            key=article_key(article) if not related else "+".join(sorted(f.key for f in parts.values())),
            group="|".join(sorted(parts)),
            evidence={"matched": {d: f.evidence for d, f in parts.items()}},
            related=related,
        )
