"""Convert a sentence-transformers model's transformer to OpenVINO IR.

Usage: ``python -m streams.openvino_convert SRC OUT``.

Run by ``streams.embedder.openvino_ir`` in a fresh interpreter: torch.jit
tracing hangs in a process that has imported usearch. Writes ``OUT`` (and its
``.bin``) atomically: a half-written model is never read, and workers
starting together on a fresh machine may each convert without clashing.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def convert(source: Path, target: Path) -> None:
    import openvino as ov
    from sentence_transformers import SentenceTransformer

    model: Any = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    sample = model.tokenize(["a sample sentence to trace the graph", "and another"])
    inputs = {k: sample[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample}
    with warnings.catch_warnings():  # tracing warns of shape checks it freezes; tests cover other shapes
        warnings.simplefilter("ignore")
        converted = ov.convert_model(model[0].auto_model.eval(), example_input=inputs)
    for port, name in zip(converted.inputs, inputs, strict=True):
        port.get_tensor().set_names({name})
    save(converted, target)


def save(model: Any, target: Path) -> None:
    """Write an OpenVINO model to ``target`` (and its ``.bin``) so that no reader sees half of it."""
    import openvino as ov

    partial = target.with_name(f"{target.stem}.partial-{os.getpid()}.xml")  # workers may convert at once
    ov.save_model(model, partial, compress_to_fp16=False)
    partial.with_suffix(".bin").replace(target.with_suffix(".bin"))
    partial.replace(target)


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
