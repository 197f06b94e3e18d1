"""The near-duplicate decision: embedding similarity weighed against fact agreement.

A logistic model over ``streams.dedup.facts.FEATURES`` (cosine, conflicting or
differing numbers, names, shared words and word pairs, length). Its weights were fitted on the even
rows of MRPC's train split (news sentence pairs labelled "same report" or
"related but different") and are checked on the odd rows by
``tests/unit/streams/dedup/test_decision.py``, which refits them and fails if
the shipped constants or the measured quality drift. Measured on the held-out
rows (docs/architecture.md, "Near duplicates"): at the F1-optimal point F1 0.836 vs 0.831
for cosine alone; at the shipped, precision-oriented threshold, both rules
below included, precision 0.868 and recall 0.699, where cosine alone at
precision 0.85 reaches recall 0.51.

On top of the model, one rule: two texts whose numbers conflict (each states
a number the other does not, "175 prisoners" vs "90 prisoners") are never the
same report, however alike their wording — for a news monitor the second may
be the news. MRPC is looser (it calls 121 of its 293 held-out conflicting
pairs "same"), so the rule costs a little there: F1-optimal 0.822 instead
of 0.836.

A second rule, the same way: two texts that name different cities (neither
set of places contains the other: "Aftermath of shelling in Mariupol" and
"... in Kharkiv") are different reports. Same-day reports of one kind of
attack in two cities share most words and look alike to MiniLM; the model
cannot see the place, the rule can (``streams.dedup.facts.place_conflict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from streams.dedup.facts import FEATURES, Facts, extract_facts, pair_features, place_conflict

_NUMBER_CONFLICT = FEATURES.index("number_conflict")


@dataclass(frozen=True)
class NearDuplicateModel:
    """Logistic regression over ``pair_features``; the decision threshold is the config's
    ``dedup.near_threshold``, its one home."""

    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"{len(self.weights)} weights for {len(FEATURES)} features")

    def probability(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(same report) for one feature vector or a matrix of them."""
        z = np.asarray(features, dtype=np.float64) @ np.asarray(self.weights) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def decide(
        self,
        features: npt.NDArray[np.float64],
        threshold: float,
        places_conflict: npt.NDArray[np.bool_] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Same report (probability ≥ ``threshold``)? For a matrix of feature vectors: the model,
        then the number-conflict rule, then the place-conflict rule (one flag per row, if given)."""
        features = np.atleast_2d(features)
        conflict = features[:, _NUMBER_CONFLICT] > 0
        if places_conflict is not None:
            conflict = conflict | np.asarray(places_conflict, dtype=np.bool_)
        return np.asarray((self.probability(features) >= threshold) & ~conflict, dtype=np.bool_)

    def same_report(self, a: Facts, b: Facts, cosine: float, threshold: float) -> tuple[bool, float]:
        """(same report?, the model's probability) for two texts and their cosine similarity."""
        features = pair_features(a, b, cosine)
        places = np.array([place_conflict(a, b)])
        return bool(self.decide(features, threshold, places)[0]), float(self.probability(features))


def explain_pair(
    a: str, b: str, cosine: float, threshold: float, model: NearDuplicateModel | None = None
) -> dict[str, Any]:
    """Why two texts are, or are not, the same report: what ``wirewatch dedup check`` prints.

    The cosine, every fact feature by name, the places each names, the model's
    probability, the rule that overrode it (``number_conflict``,
    ``place_conflict``) if any, and the decision at ``threshold``.
    """
    model = model or DEFAULT_MODEL
    fa, fb = extract_facts(a), extract_facts(b)
    features = pair_features(fa, fb, cosine)
    probability = float(model.probability(features))
    places = place_conflict(fa, fb)
    rule = "number_conflict" if features[_NUMBER_CONFLICT] > 0 else "place_conflict" if places else None
    return {
        "cosine": round(cosine, 6),
        "features": {name: round(float(v), 6) for name, v in zip(FEATURES, features, strict=True)},
        "places": {"a": sorted(p.label for p in fa.places), "b": sorted(p.label for p in fb.places)},
        "probability": round(probability, 6),
        "threshold": threshold,
        "rule": rule,
        "same": bool(model.decide(features, threshold, np.array([places]))[0]),
    }


def fit_logistic(
    features: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], l2: float = 1.0
) -> tuple[npt.NDArray[np.float64], float]:
    """L2-regularized logistic regression by Newton's method (deterministic; no extra dependency)."""
    z = np.hstack([features, np.ones((len(features), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - labels) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:-1], float(w[-1])


DEFAULT_MODEL = NearDuplicateModel(
    weights=(
        3.3361,
        -0.6057,
        -0.8416,
        -0.8332,
        -0.4492,
        -0.2242,
        2.7722,
        1.4626,
        2.2765,
        1.7863,
        -0.0044,
        -1.5239,
        -1.1022,
    ),
    bias=-4.6485,
)
"""Fitted on MRPC's even rows with all-MiniLM-L6-v2 cosines (the threshold: ``dedup.near_threshold``)."""
