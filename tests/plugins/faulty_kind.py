"""``kind: faulty`` — a detector kind with a bug, for the drills: it raises on the articles it is told to.

Shipped to workers the way any third-party kind is, through the
``wirewatch.detectors`` entry point (``tests.plugins.install_plugin``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from detectors.base import ArticleContext, BuildEnv, DetectorSpec, Finding, State


class FaultySpec(DetectorSpec):
    """Raises ``RuntimeError`` on articles whose title contains ``fails_on``; quiet on the others."""

    kind: Literal["faulty"] = "faulty"
    fails_on: str = Field("", description="A word of the titles it fails on; empty: every article.")

    def build(self, env: BuildEnv) -> FaultyDetector:
        return FaultyDetector(self)


class FaultyDetector:
    def __init__(self, spec: FaultySpec) -> None:
        self.spec = spec

    def evaluate(
        self, article: ArticleContext, state: State | None = None, found: Mapping[str, Finding] | None = None
    ) -> Finding | None:
        if self.spec.fails_on.lower() in article.title.lower():
            raise RuntimeError(f"faulty detector met {article.title!r}")
        return None
