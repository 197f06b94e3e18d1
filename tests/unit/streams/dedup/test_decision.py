"""Near-duplicate quality on real news pairs (MRPC): fails if it drops below what we measured.

The model's weights are fitted on MRPC's even rows and judged on the odd rows,
against cosine similarity alone with its threshold chosen the same way.
Figures and method: docs/architecture.md, "Near duplicates".
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from monitor.config import DedupConfig, EmbedConfig
from streams.dedup.decision import DEFAULT_MODEL, NearDuplicateModel, fit_logistic
from streams.dedup.facts import FEATURES, extract_facts, pair_features, place_conflict
from tests.feed_server import SHARED
from tests.quality import figure

MRPC = SHARED / "corpus" / "mrpc-train.tsv"

pytestmark = [pytest.mark.slow, pytest.mark.quality, pytest.mark.model]


def read_mrpc(path: Path) -> tuple[list[tuple[str, str]], npt.NDArray[np.int64]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [(r[3], r[4]) for r in rows], np.array([int(r[0]) for r in rows])


def prf(predicted: npt.NDArray[np.bool_], labels: npt.NDArray[np.int64]) -> tuple[float, float, float]:
    tp = int((predicted & (labels == 1)).sum())
    fp = int((predicted & (labels == 0)).sum())
    fn = int((~predicted & (labels == 1)).sum())
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return 2 * precision * recall / max(precision + recall, 1e-9), precision, recall


def best_f1_threshold(
    scores: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], grid: np.ndarray
) -> float:
    return float(max(grid, key=lambda t: prf(scores >= t, labels)[0]))


def threshold_for_precision(
    scores: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], target: float, grid: np.ndarray
) -> float:
    return float(min(t for t in grid if prf(scores >= t, labels)[1] >= target))


@pytest.fixture(scope="module")
def mrpc() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(cosines, feature matrix, labels) of every MRPC train pair; its place conflicts: ``mrpc_places``."""
    assert MRPC.exists(), f"MRPC is missing at {MRPC} (set WIREWATCH_SHARED)"
    from streams.embedder import Embedder

    pairs, labels = read_mrpc(MRPC)
    assert len(pairs) == 4076
    embedder = Embedder(EmbedConfig(batch_size=64))
    first = embedder.encode([a for a, _ in pairs])
    second = embedder.encode([b for _, b in pairs])
    cosines = (first * second).sum(axis=1).astype(np.float64)
    features = np.array(
        [
            pair_features(extract_facts(a), extract_facts(b), c)
            for (a, b), c in zip(pairs, cosines, strict=True)
        ]
    )
    return cosines, features, labels


@pytest.fixture(scope="module")
def mrpc_places() -> npt.NDArray[np.bool_]:
    """Per MRPC train pair: do the two sentences name different cities (the place rule)?"""
    pairs, _ = read_mrpc(MRPC)
    return np.array([place_conflict(extract_facts(a), extract_facts(b)) for a, b in pairs])


# Spread of the refit across machines, measured on MRPC's even rows (issue 18): in f32, torch and
# OpenVINO under AVX-512, AVX2 and AVX caps give the same weights to 4 decimals (|dw| < 5e-5);
# OpenVINO's own bf16 choice on an AVX512_BF16 CPU moved them by 1.6e-3 here and 2.4e-3 on another
# Xeon -- so the worker pins f32, and the bound sits well above the f32 spread, below a real refit.
WEIGHTS_ATOL = 2e-3
SHIPPED_THRESHOLD = DedupConfig().near_threshold  # dedup.near_threshold's default: the worker's
# what the weights are for: the shipped decisions on the held-out rows are the refit's (measured:
# the same precision and recall to 4 decimals in f32; bf16 changed 1 decision of 2,038)
DECISION_MARGIN = 0.005


def test_shipped_weights_are_the_fit_on_the_even_rows(mrpc) -> None:  # type: ignore[no-untyped-def]
    _, features, labels = mrpc
    fit = np.arange(len(labels)) % 2 == 0
    weights, bias = fit_logistic(features[fit], labels[fit])
    for name, value in zip(FEATURES, weights, strict=True):
        figure(f"near_duplicate.refit_weight.{name}", value)
    figure("near_duplicate.refit_bias", bias)
    assert np.allclose(weights, DEFAULT_MODEL.weights, atol=WEIGHTS_ATOL), weights.round(4).tolist()
    assert bias == pytest.approx(DEFAULT_MODEL.bias, abs=WEIGHTS_ATOL)

    refit = NearDuplicateModel(tuple(weights), bias)
    held = ~fit
    shipped_prf = prf(DEFAULT_MODEL.decide(features[held], SHIPPED_THRESHOLD), labels[held])
    refit_prf = prf(refit.decide(features[held], SHIPPED_THRESHOLD), labels[held])
    figure("near_duplicate.refit_held_precision", refit_prf[1])
    figure("near_duplicate.refit_held_recall", refit_prf[2])
    assert np.allclose(shipped_prf, refit_prf, atol=DECISION_MARGIN), (shipped_prf, refit_prf)


def test_fact_agreement_beats_cosine_alone_on_held_out_pairs(mrpc, mrpc_places) -> None:  # type: ignore[no-untyped-def]
    cosines, features, labels = mrpc
    fit = np.arange(len(labels)) % 2 == 0
    held = ~fit
    p_fit = DEFAULT_MODEL.probability(features[fit])
    p_held = DEFAULT_MODEL.probability(features[held])
    probability_grid, cosine_grid = np.arange(0.1, 0.9, 0.01), np.arange(0.3, 0.99, 0.005)

    # at each method's F1-optimal threshold (chosen on the fit rows)
    best = best_f1_threshold(p_fit, labels[fit], probability_grid)
    model_f1 = figure("near_duplicate.model_f1", prf(p_held >= best, labels[held])[0])
    cosine_best = best_f1_threshold(cosines[fit], labels[fit], cosine_grid)
    cosine_f1 = figure("near_duplicate.cosine_f1", prf(cosines[held] >= cosine_best, labels[held])[0])
    assert model_f1 >= 0.83, model_f1  # measured 0.836
    assert model_f1 > cosine_f1, (model_f1, cosine_f1)  # cosine alone: 0.831
    with_rule = prf(DEFAULT_MODEL.decide(features[held], threshold=best), labels[held])[0]
    figure("near_duplicate.model_f1_with_rule", with_rule)
    assert with_rule >= 0.815, with_rule  # measured 0.822: the number-conflict rule is stricter than MRPC

    # at the shipped, precision-oriented threshold, both rules included: the precision cosine alone
    # has at its own precision-0.85 threshold, and far more recall. The place rule splits 8 held-out
    # pairs, 3 of them "same" to MRPC (a count of one airport, one city's court): measured, it moves
    # precision 0.8682 -> 0.8679 and recall 0.7004 -> 0.6990
    shipped = DEFAULT_MODEL.decide(features[held], SHIPPED_THRESHOLD, mrpc_places[held])
    _, precision, recall = prf(shipped, labels[held])
    figure("near_duplicate.shipped_precision", precision)
    figure("near_duplicate.shipped_recall", recall)
    assert precision >= 0.85, precision  # measured 0.868
    assert recall >= 0.68, recall  # measured 0.699
    cosine_t = threshold_for_precision(cosines[fit], labels[fit], 0.85, cosine_grid)
    _, cosine_precision, cosine_recall = prf(cosines[held] >= cosine_t, labels[held])
    figure("near_duplicate.cosine_precision_at_085", cosine_precision)
    figure("near_duplicate.cosine_recall_at_085", cosine_recall)
    assert cosine_precision <= precision + 0.02
    assert recall - cosine_recall >= 0.15, (recall, cosine_recall)  # cosine alone: 0.508


def test_a_different_count_is_not_the_same_report() -> None:
    """The case the brief names: 175 vs 90 prisoners, otherwise the same words."""
    a = extract_facts("Russia and Ukraine exchanged 175 prisoners of war on Wednesday, Kyiv said.")
    b = extract_facts("Russia and Ukraine exchanged 90 prisoners of war on Wednesday, Kyiv said.")
    same, probability = DEFAULT_MODEL.same_report(a, b, cosine=0.97, threshold=SHIPPED_THRESHOLD)
    assert not same, probability
    assert DEFAULT_MODEL.same_report(a, a, cosine=1.0, threshold=SHIPPED_THRESHOLD)[0]


def test_a_report_from_another_city_is_not_the_same_report() -> None:
    """Two attacks of one kind, two cities: alike to MiniLM, two reports to a reader (issue 20)."""
    a = extract_facts("Aftermath of shelling in Mariupol")
    b = extract_facts("Aftermath of shelling in Kharkiv")
    same, probability = DEFAULT_MODEL.same_report(a, b, cosine=0.9, threshold=SHIPPED_THRESHOLD)
    assert not same
    assert probability >= SHIPPED_THRESHOLD  # the model alone would merge them
    kiev = extract_facts("Aftermath of shelling in Kiev")
    assert DEFAULT_MODEL.same_report(
        extract_facts("Aftermath of shelling in Kyiv"), kiev, 0.9, SHIPPED_THRESHOLD
    )[0]
