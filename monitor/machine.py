"""What this machine's CPU computes with: its model, its vector instruction sets, and caps in force.

The same model gives the same text slightly different vectors under different
instruction sets and arithmetic (OpenVINO picks bf16 by itself where the CPU
has AVX512_BF16 or AMX). So a cache of vectors is keyed by these facts, a
benchmark result names them, and ``make quality-lower-isa`` (part of ``make
test``) reruns the quality tests under a lower instruction set than the
machine's best (``lower_isa_env``); ``make test-isa`` runs the whole suite so.

The caps are the engines' own switches, read once at library load:
``ONEDNN_MAX_CPU_ISA`` (oneDNN, inside both OpenVINO and torch),
``ATEN_CPU_CAPABILITY`` (torch's own kernels), ``MKL_ENABLE_INSTRUCTIONS``
(MKL, torch's matrix products). OpenVINO's release wheels have no cap of their
own for their non-oneDNN kernels (``OV_CPU_MAX_ISA`` is a debug build's), so
a capped OpenVINO still runs those at the machine's best.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

# the /proc/cpuinfo flags that change which kernels the engines pick, lowest first
VECTOR_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "avx_vnni",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "amx_fp16",
)
ISA_CAPS = (
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "OV_CPU_MAX_ISA",
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
)


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (empty off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """``Intel(R) Xeon(R) Processor``, ``AMD EPYC 7B13``..., or the architecture where unknown."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def vector_isa() -> tuple[str, ...]:
    """Which of ``VECTOR_FLAGS`` this CPU has, in that order."""
    flags = set(_cpuinfo().get("flags", "").split())
    return tuple(f for f in VECTOR_FLAGS if f in flags)


def isa_caps() -> dict[str, str]:
    """The engines' instruction-set caps set in this process's environment."""
    return {name: os.environ[name] for name in ISA_CAPS if os.environ.get(name)}


def isa_label() -> str:
    """One string for keys and logs: ``avx+avx2+...``, then any caps (``|ONEDNN_MAX_CPU_ISA=AVX2``)."""
    caps = "".join(f"|{k}={v}" for k, v in sorted(isa_caps().items()))
    return "+".join(vector_isa()) + caps


def int8_dot_products() -> bool:
    """Do the engines multiply int8 in one instruction here (VNNI or AMX, and no cap below it)?

    Without it oneDNN runs int8 matrix products in three instructions and repacks
    weights per shape: ``embed.precision: int8`` measured 0.77x f32's rate and 1.5x
    its memory under an AVX2 cap, against 2.1-2.3x the rate with AVX512_VNNI.
    """
    if not set(vector_isa()) & {"avx512_vnni", "avx_vnni", "amx_int8"}:
        return False
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    return not cap or any(level in cap for level in ("VNNI", "AMX", "AVX10"))


def describe() -> dict[str, object]:
    """The machine as benchmark results and issue notes report it."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "vector_isa": list(vector_isa()),
        "isa_caps": isa_caps(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def lower_isa_env() -> dict[str, str]:
    """Caps that make the engines run one instruction-set level below this CPU's best.

    AVX-512 machines drop to AVX2 (the developers' AMD machines' level); AVX2
    machines to AVX. Not lower: OpenVINO's own kernels are not capped, and
    with oneDNN below AVX its layer norm finds no kernel (measured: "MVN ...
    bad combination" under SSE41; bf16 under an AVX2 cap fails the same way,
    on Softmax, so a capped run is an f32 run).
    """
    isa = set(vector_isa())
    if "avx512f" in isa:
        onednn, aten, mkl = "AVX2", "avx2", "AVX2"
    elif "avx2" in isa:
        onednn, aten, mkl = "AVX", "default", "AVX"
    else:
        raise RuntimeError(f"{cpu_model()} has no AVX2: no instruction set below it runs the model")
    return {"ONEDNN_MAX_CPU_ISA": onednn, "ATEN_CPU_CAPABILITY": aten, "MKL_ENABLE_INSTRUCTIONS": mkl}


if __name__ == "__main__":  # `python -m monitor.machine --lower-isa-env`: the caps as shell words
    import sys

    if sys.argv[1:] == ["--lower-isa-env"]:
        print(" ".join(f"{k}={v}" for k, v in lower_isa_env().items()))
    else:
        import json

        print(json.dumps(describe(), indent=2))
