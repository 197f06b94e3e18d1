"""Real news texts and their MiniLM vectors, for benchmarks that need realistic embeddings.

Texts come from the shared corpora (AG News, BBC 2005, RUWA headlines, MRPC and
STS-B sentences); vectors are computed once per machine and cached under
``$WIREWATCH_HOME/embeddings`` (computed here, never downloaded). Window sizes past
the corpus (300k, 900k) are reached by jittering real vectors — each copy a
noisy neighbour of a real article (cosine ≈ 0.8 to it) — which keeps the
clustered structure of news embeddings that random vectors lack.
"""

from __future__ import annotations

import csv

import numpy as np
import numpy.typing as npt

from tests.embedding_cache import cached_vectors
from tests.feed_server import SHARED


def news_texts() -> list[str]:
    corpus = SHARED / "corpus"
    texts: list[str] = []
    with (corpus / "ag-news-test.csv").open(newline="", encoding="utf-8") as f:
        texts += [f"{r[1]}\n{r[2]}".replace("\\", " ") for r in list(csv.reader(f))[1:]]
    with (corpus / "bbc-news-2005.csv").open(newline="", encoding="utf-8") as f:
        texts += [f"{r['title']}\n{r['text'][:600]}" for r in csv.DictReader(f)]
    with (corpus / "ruwa-ukraine-war-headlines.csv").open(newline="", encoding="utf-8") as f:
        texts += [f"{r['title']}\n{r['desc']}".strip() for r in csv.DictReader(f) if r["title"].strip()]
    with (corpus / "mrpc-train.tsv").open(encoding="utf-8-sig", newline="") as f:
        for row in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]:
            texts += [row[3], row[4]]
    for name in ("stsb-train.csv", "stsb-dev.csv"):
        with (corpus / name).open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 7:
                    texts += [row[5], row[6]]
    return list(dict.fromkeys(t for t in texts if t.strip()))  # unique, in order


def real_vectors() -> tuple[list[str], npt.NDArray[np.float32]]:
    """(texts, their L2-normalized MiniLM vectors), cached per machine."""
    texts = news_texts()
    return texts, cached_vectors(texts, label="bench-corpus")


def jittered(
    base: npt.NDArray[np.float32], n: int, seed: int = 0, noise: float = 0.75
) -> npt.NDArray[np.float32]:
    """``n`` vectors, each a real one plus Gaussian noise, normalized (cosine ≈ 0.8 to its source)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    step = 50_000
    for start in range(0, n, step):
        rows = min(step, n - start)
        picks = base[rng.integers(0, len(base), rows)]
        noisy = picks + rng.standard_normal(picks.shape).astype(np.float32) * (noise / np.sqrt(base.shape[1]))
        out[start : start + rows] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out
