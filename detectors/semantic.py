"""``kind: semantic`` — the article's vector close to example sentences.

The examples are embedded once, when the detector is built, with the
worker's own model (so article and examples share one vector space); each
article then costs one small matrix product on the vector the embed stage
already computed — no extra model calls. Articles without a vector (skipped
by the embed stage) never fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from pydantic import Field

from detectors.base import ArticleContext, BuildEnv, DetectorSpec, Finding, State, article_key


class SemanticSpec(DetectorSpec):
    """Fires when the article's cosine similarity to an example reaches ``threshold``."""

    kind: Literal["semantic"] = "semantic"
    examples: tuple[str, ...] = Field(
        min_length=1,
        description="Sentences that describe the event (embedded once, with the worker's model).",
    )
    threshold: float = Field(0.6, gt=0, le=1, description="Cosine similarity to the closest example.")

    def build(self, env: BuildEnv) -> SemanticDetector:
        if env.encode is None:
            raise ValueError(f"detector {self.id!r}: a semantic detector needs the embedding model")
        bank = env.shared.setdefault("semantic", ExampleBank())
        rows = bank.add(self.id, env.encode(list(self.examples)), self.threshold)
        return SemanticDetector(self, bank, rows)


class ExampleBank:
    """Every semantic detector's examples in one matrix: one product per article, not one per detector.

    It is also their gate: the detectors whose closest example reaches their
    threshold, from one ``maximum.reduceat`` over the product.
    """

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None
        self._ids: list[str] = []
        self._starts: list[int] = []
        self._thresholds: list[float] = []
        self._threshold_array = np.zeros(0)
        self.rows = 0

    def add(self, detector_id: str, examples: np.ndarray, threshold: float) -> slice:
        norms = np.linalg.norm(examples, axis=1, keepdims=True)
        self._parts.append((examples / np.maximum(norms, 1e-12)).astype(np.float32))
        self._matrix = None
        self._ids.append(detector_id)
        self._starts.append(self.rows)
        self._thresholds.append(threshold)
        start, self.rows = self.rows, self.rows + len(examples)
        return slice(start, self.rows)

    def scores(self, article: ArticleContext) -> np.ndarray | None:
        """Cosine of the article to every example (computed once per article)."""
        if self._matrix is None:
            self._matrix = np.vstack(self._parts)
            self._threshold_array = np.asarray(self._thresholds)
        vector = article.vector
        if vector is None or vector.size != self._matrix.shape[1]:
            return None
        scores = article.cache.get(self)  # the bank itself is the key
        if scores is None:
            scores = article.cache[self] = self._matrix @ vector
        return scores

    def candidates(self, article: ArticleContext) -> set[str]:
        key = (self, "candidates")
        found: set[str] | None = article.cache.get(key)
        if found is None:
            scores = self.scores(article)
            found = set()
            if scores is not None:
                best = np.maximum.reduceat(scores, self._starts)
                found = {self._ids[i] for i in np.flatnonzero(best >= self._threshold_array)}
            article.cache[key] = found
        return found


class SemanticDetector:
    def __init__(self, spec: SemanticSpec, bank: ExampleBank, rows: slice) -> None:
        self.spec = spec
        self.bank = bank
        self.gate = bank
        self.rows = rows

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        all_scores = self.bank.scores(article)
        if all_scores is None:
            return None
        scores = all_scores[self.rows]
        if scores.max() < self.spec.threshold:  # most articles: one call, no argmax
            return None
        best = int(scores.argmax())
        score = float(scores[best])
        return Finding(
            detector_id=self.spec.id,
            key=article_key(article),
            group=str(best),
            evidence={
                "similarity": round(score, 4),
                "example": self.spec.examples[best],
                "threshold": self.spec.threshold,
            },
        )
