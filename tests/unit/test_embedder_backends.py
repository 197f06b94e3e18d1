"""The `openvino` embedding backend gives the vectors `torch` gives (the real model, offline)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.config import EmbedConfig
from streams.embedder import Embedder

pytestmark = pytest.mark.slow

TEXTS = [
    "Russia and Ukraine exchanged 175 prisoners of war on Wednesday, officials in Kyiv said.",
    "An air-raid alarm sounded in Kyiv shortly after the Trump-Putin call.",
    "Leaders agreed to halt strikes on energy infrastructure for 30 days.",
    "Arsenal beat Chelsea 2-1 in the Premier League.",
    "",  # the stage never sends empty texts, but the backend must not choke on one
    "word " * 600,  # longer than the token budget: truncated the same way
]


def test_openvino_vectors_match_torch() -> None:
    torch_vectors = Embedder(EmbedConfig(batch_size=4)).encode(TEXTS)
    openvino_vectors = Embedder(EmbedConfig(batch_size=4, backend="openvino")).encode(TEXTS)
    assert openvino_vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert openvino_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(openvino_vectors, axis=1), 1.0, atol=1e-5)
    cosines = (torch_vectors * openvino_vectors).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
