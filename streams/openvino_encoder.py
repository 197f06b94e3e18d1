"""A sentence-transformers model run by OpenVINO without torch in the process.

Importing torch costs a worker ~700 MB of resident memory before any model
is loaded (PyPI's wheel maps its CUDA libraries even on a CPU-only machine;
measured: 258 MB of ``nvidia`` libraries, 213 MB of torch's own, resident). A
worker that embeds with OpenVINO needs none of it: the transformer is the
OpenVINO IR converted once per machine (in a separate interpreter, which
does import torch: ``streams.openvino_convert``), the tokenizer is the
model's ``tokenizer.json`` read by Hugging Face ``tokenizers``, and pooling
is a few lines of numpy.

So this encoder takes the models whose head is pooling (mean, CLS, max or
mean/sqrt(length)) optionally followed by normalization — all-MiniLM-L6-v2
and most sentence-transformers models. A model with another head (a Dense
layer, say) is refused with a clear error: use ``embed.backend: torch``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.errors import ModelError, UnsupportedModel

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
POOLING_MODES = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")
INT8_RUNTIME_CACHE = 20  # compiled shapes an int8 model keeps (OpenVINO's CPU_RUNTIME_CACHE_CAPACITY)
MAX_DEFAULT_STREAMS = 4  # a batch of 32 still gives each stream 8 texts


def default_streams(threads: int | None) -> int:
    """One inference stream per core the encode may use, up to ``MAX_DEFAULT_STREAMS``."""
    return max(1, min(threads or os.cpu_count() or 1, MAX_DEFAULT_STREAMS))


def check_load_order() -> None:
    """OpenVINO loaded after usearch cannot read a model (see ``streams.embedder.prepare_backend``)."""
    if "openvino" not in sys.modules and "usearch.compiled" in sys.modules:
        raise ModelError(
            "OpenVINO must be loaded before usearch in a process: call "
            "streams.embedder.prepare_backend(config) at start (wirewatch run does)"
        )


def pooling_mode(source: Path) -> str:
    """The model's one pooling mode (``mean_tokens``, ...), or UnsupportedModel saying why not."""
    modules_file = source / "modules.json"
    if not modules_file.exists():
        raise UnsupportedModel(
            f"{source}: no modules.json; embed.backend openvino needs a sentence-transformers model"
        )
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [m.get("type") for m in modules]
    if kinds not in ([TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]):
        raise UnsupportedModel(
            f"{source}: modules {kinds}; embed.backend openvino runs transformer → pooling (→ normalize) "
            "models only. Use embed.backend: torch for this one."
        )
    pooling = json.loads((source / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    modes = [m for m in POOLING_MODES if pooling.get(f"pooling_mode_{m}")]
    others = [
        k.removeprefix("pooling_mode_")
        for k, v in pooling.items()
        if k.startswith("pooling_mode_") and v and k.removeprefix("pooling_mode_") not in POOLING_MODES
    ]
    if len(modes) != 1 or others:
        raise UnsupportedModel(
            f"{source}: pooling {modes + others}; embed.backend openvino supports exactly one of "
            f"{', '.join(POOLING_MODES)}. Use embed.backend: torch for this one."
        )
    return modes[0]


def pool(tokens: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], mode: str) -> npt.NDArray[np.float32]:
    """Token embeddings (batch, length, dim) → sentence embeddings, as sentence-transformers' Pooling."""
    if mode == "cls_token":
        return np.asarray(tokens[:, 0], dtype=np.float32)
    weights = mask[:, :, None].astype(np.float32)
    if mode == "max_tokens":
        return np.asarray(np.where(weights > 0, tokens, -1e9).max(axis=1), dtype=np.float32)
    summed = (tokens * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    divisor = np.sqrt(counts) if mode == "mean_sqrt_len_tokens" else counts
    return np.asarray(summed / divisor, dtype=np.float32)


class OpenVinoEncoder:
    """Texts → L2-normalized vectors with the OpenVINO IR of a model's transformer; torch never imported."""

    def __init__(
        self,
        source: Path,
        ir: Path,
        max_tokens: int,
        threads: int | None = None,
        precision: str = "f32",
        streams: int | None = None,
    ) -> None:
        check_load_order()
        import openvino as ov  # only workers configured for it pay for it

        self.mode = pooling_mode(source)
        self._tokenizer = tokenizer = load_tokenizer(source, max_tokens)
        pad_token = _pad_token(source, tokenizer)
        # padded to the batch's longest text, as sentence-transformers does
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token), pad_token=pad_token)
        core = ov.Core()
        # pinned: left to itself OpenVINO computes in bf16 on CPUs with AVX512_BF16/AMX, and the
        # same text gets another vector there (see EmbedConfig.precision). An int8 IR carries its
        # own quantized matrix products; the rest of it (layer norms, softmax) runs in f32
        hint = "f32" if precision == "int8" else precision
        self.streams = streams or default_streams(threads)
        properties: dict[str, Any] = {"INFERENCE_PRECISION_HINT": hint}
        if self.streams == 1:
            properties["PERFORMANCE_HINT"] = "LATENCY"  # one request on every thread
        else:
            # a part of the batch per stream, each on its own thread(s): threads that wait at each
            # layer for one another stall whenever another thread of the worker takes a core
            properties.update({"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": self.streams})
        if precision == "int8":
            # int8 kernels keep a repacked copy per input shape in the runtime cache (5,000 entries by
            # default): after 2,000 news texts RSS stood 7% above f32's (562 vs 533 MB peak); with the
            # stage's batch shapes (4,000 texts in batches of 1-32) 1.54 GB against f32's 0.60. 20
            # shapes: 486 and 694 MB, at the same rate (5: no smaller, 26% slower); f32 unaffected
            properties["CPU_RUNTIME_CACHE_CAPACITY"] = INT8_RUNTIME_CACHE
        if threads is not None:
            properties["INFERENCE_NUM_THREADS"] = threads
        self._compiled = core.compile_model(core.read_model(ir), "CPU", properties)
        self._inputs = [port.get_any_name() for port in self._compiled.inputs]
        # a request per stream; callers serialize (Embedder's lock)
        self._queue = ov.AsyncInferQueue(self._compiled, self.streams)
        self._queue.set_callback(_keep_output)
        self.dim = int(self._compiled.outputs[0].get_partial_shape()[2].get_length())
        runs = self._compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # what it runs
        self.precision = f"int8 ({runs} elsewhere)" if precision == "int8" else runs

    def encode(self, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
        # longest first, as sentence-transformers does: a batch pads to its longest text, so
        # batches of like lengths waste little (1.6x faster than arrival order on AG News)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        size = max(1, min(batch_size, -(-len(texts) // self.streams)))  # every stream gets a part
        parts = [order[start : start + size] for start in range(0, len(texts), size)]
        outputs: dict[int, npt.NDArray[np.float32]] = {}
        masks = []
        for i, chosen in enumerate(parts):  # the next part is tokenized while the last ones run
            features = self._features(texts, chosen)
            masks.append(features["attention_mask"])
            self._queue.start_async({k: features[k] for k in self._inputs}, (outputs, i))
        self._queue.wait_all()
        for i, chosen in enumerate(parts):
            vectors[chosen] = pool(outputs[i], masks[i], self.mode)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _features(self, texts: list[str], chosen: npt.NDArray[np.intp]) -> dict[str, npt.NDArray[np.int64]]:
        # stripped, as sentence-transformers does
        encodings = self._tokenizer.encode_batch([texts[i].strip() for i in chosen])
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }


def _keep_output(request: Any, userdata: tuple[dict[int, npt.NDArray[np.float32]], int]) -> None:
    """A stream's part is done (on OpenVINO's thread): keep a copy of its token embeddings."""
    outputs, index = userdata
    outputs[index] = np.array(request.get_output_tensor(0).data, dtype=np.float32)


def load_tokenizer(source: Path, max_tokens: int) -> Any:
    """The model's ``tokenizer.json``, cutting texts at ``max_tokens`` or the model's own limit if lower."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    limit = _model_max_length(source)
    tokenizer.enable_truncation(min(max_tokens, limit) if limit else max_tokens)
    return tokenizer


def _model_max_length(source: Path) -> int | None:
    """The tokenizer's own limit (``tokenizer_config.json``), which sentence-transformers also applies."""
    path = source / "tokenizer_config.json"
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8")).get("model_max_length")
    return int(value) if isinstance(value, int | float) and value < 1e6 else None


def _pad_token(source: Path, tokenizer: Any) -> str:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = source / name
        if path.exists():
            token = json.loads(path.read_text(encoding="utf-8")).get("pad_token")
            if isinstance(token, dict):
                token = token.get("content")
            if isinstance(token, str) and tokenizer.token_to_id(token) is not None:
                return token
    return "[PAD]"
