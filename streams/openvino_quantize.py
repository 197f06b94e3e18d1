"""Quantize a model's fp32 OpenVINO IR to int8 with NNCF, calibrated on shipped real news.

Usage: ``python -m streams.openvino_quantize SRC F32_IR OUT``.

Run by ``streams.embedder.openvino_ir`` in a fresh interpreter, once per
machine, like the fp32 conversion: NNCF is large (scipy, scikit-learn) and a
worker need not load it. Post-training quantization with the transformer
preset (``nncf.ModelType.TRANSFORMER``: matrix products and their inputs in
int8, layer norms, softmax and GELU left in f32), ranges from the 300 texts of
``streams.calibration`` tokenized as the encoder does. Writes ``OUT`` (and
its ``.bin``) atomically with ``streams.openvino_convert.save``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# bump when the recipe changes (preset, options, what a sample holds): the cache key reads it
RECIPE = "nncf-ptq-transformer-v1"


def samples(source: Path, texts: list[str], max_tokens: int) -> list[dict[str, np.ndarray]]:
    """One input per text, unpadded and cut as the encoder cuts it."""
    from streams.openvino_encoder import load_tokenizer

    tokenizer = load_tokenizer(source, max_tokens)
    out = []
    for text in texts:
        encoding = tokenizer.encode(text.strip())
        out.append(
            {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
            }
        )
    return out


def quantize(source: Path, fp32_ir: Path, target: Path, max_tokens: int = 256) -> None:
    import nncf
    import openvino as ov

    from streams.calibration import calibration_texts
    from streams.openvino_convert import save

    logging.getLogger("nncf").setLevel(logging.WARNING)  # its progress bars go to the parent's log
    core = ov.Core()
    model = core.read_model(fp32_ir)
    names = {port.get_any_name() for port in model.inputs}
    data = [
        {k: v for k, v in s.items() if k in names} for s in samples(source, calibration_texts(), max_tokens)
    ]
    quantized = nncf.quantize(
        model,
        nncf.Dataset(data),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(data),
    )
    save(quantized, target)


if __name__ == "__main__":
    quantize(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
