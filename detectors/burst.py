"""``kind: burst`` — far more matching articles (or distinct sources) in a window than usual.

Counts live in time buckets (a quarter of ``window``) kept for ``baseline``:
the current count is the last ``window``; the baseline is the average count
per window over the ``baseline`` before it. It fires when the current count
reaches ``min_count`` and ``factor`` times the baseline — at most once per
window (the alert id carries the window's start), so a burst that goes on
alerts again in the next window unless a ``cooldown`` says otherwise.
Duplicates count here by default (``alert_on`` all kinds): more outlets
repeating a report is what a burst is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from detectors.base import ArticleContext, BuildEnv, DecisionKind, DetectorSpec, Finding, State
from detectors.durations import Duration

MAX_SOURCES = 200  # distinct sources kept per bucket


class BurstSpec(DetectorSpec):
    """Fires when the matching volume in ``window`` is ``factor`` times its rolling baseline."""

    kind: Literal["burst"] = "burst"
    match: str | None = Field(None, description="Detector id whose matches are counted; none: every article.")
    count: Literal["articles", "sources"] = Field(
        "articles", description="Count articles or distinct sources."
    )
    window: Duration = Field(3600.0, gt=0, description="The window whose volume is watched.")
    baseline: Duration = Field(86400.0, gt=0, description="The period before it that sets the usual volume.")
    factor: float = Field(3.0, gt=1, description="How many times the baseline makes a burst.")
    min_count: int = Field(5, ge=1, description="Smallest count that can be a burst.")
    alert_on: tuple[DecisionKind, ...] = ("first", "update", "exact", "near")

    def requires(self) -> tuple[str, ...]:
        return (self.match,) if self.match else ()

    def build(self, env: BuildEnv) -> BurstDetector:
        return BurstDetector(self)


class BurstDetector:
    def __init__(self, spec: BurstSpec) -> None:
        self.spec = spec
        self.bucket = max(spec.window / 4, 1.0)

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        spec = self.spec
        if spec.match is not None and spec.match not in found:
            return None
        data = state.get("buckets") or {}
        now = max([article.at, *(float(k) for k in data)]) if data else article.at
        horizon = now - spec.window - spec.baseline - self.bucket
        buckets = {k: v for k, v in data.items() if float(k) >= horizon}
        start = str(math.floor(article.at / self.bucket) * self.bucket)
        count, sources = buckets.get(start, [0, []])
        if article.source and article.source not in sources and len(sources) < MAX_SOURCES:
            sources = [*sources, article.source]
        buckets[start] = [count + 1, sources]
        state.set("buckets", buckets, ttl=spec.window + spec.baseline)

        def volume(lo: float, hi: float) -> int:
            chosen = [v for k, v in buckets.items() if lo < float(k) + self.bucket and float(k) < hi]
            if spec.count == "articles":
                return sum(c for c, _ in chosen)
            return len({s for _, ss in chosen for s in ss})

        window_start = article.at - spec.window
        current = volume(window_start, article.at + 1e-9)
        usual = volume(window_start - spec.baseline, window_start) * spec.window / spec.baseline
        if current < spec.min_count or current < spec.factor * usual:
            return None
        aligned = math.floor(article.at / spec.window) * spec.window
        return Finding(
            detector_id=spec.id,
            key=f"window:{aligned:.0f}",
            group="burst",
            evidence={
                "count": current,
                "counting": spec.count,
                "window_seconds": spec.window,
                "baseline_per_window": round(usual, 2),
                "factor": round(current / usual, 2) if usual else None,
                "window_start": aligned,
            },
        )
