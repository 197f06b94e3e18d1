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
    examples: tuple[str, ...] = Field(min_length=1, description="Sentences that describe the event.")
    threshold: float = Field(0.6, gt=0, le=1, description="Cosine similarity to the closest example.")

    def build(self, env: BuildEnv) -> SemanticDetector:
        if env.encode is None:
            raise ValueError(f"detector {self.id!r}: a semantic detector needs the embedding model")
        return SemanticDetector(self, env.encode(list(self.examples)))


class SemanticDetector:
    def __init__(self, spec: SemanticSpec, examples: np.ndarray) -> None:
        self.spec = spec
        norms = np.linalg.norm(examples, axis=1, keepdims=True)
        self.examples = (examples / np.maximum(norms, 1e-12)).astype(np.float32)

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        if article.vector is None or article.vector.size != self.examples.shape[1]:
            return None
        scores = self.examples @ article.vector
        best = int(np.argmax(scores))
        score = float(scores[best])
        if score < self.spec.threshold:
            return None
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
