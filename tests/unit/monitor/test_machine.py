"""What the machine computes with: the facts a vector cache is keyed by and benchmarks report."""

from __future__ import annotations

import pytest

from monitor import machine
from monitor.config import EmbedConfig
from streams.embedder import vectors_key

AVX512_XEON = "fpu sse4_2 avx avx2 fma avx_vnni avx512f avx512dq avx512_vnni avx512_bf16 amx_tile"
AVX2_EPYC = "fpu sse4_2 avx avx2 fma sha_ni"


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``cpu(flags)``: make this process see a CPU with those /proc/cpuinfo flags."""

    def pretend(flags: str, model: str = "Some CPU") -> None:
        monkeypatch.setattr(machine, "_cpuinfo", lambda: {"model name": model, "flags": flags})

    for name in machine.ISA_CAPS:
        monkeypatch.delenv(name, raising=False)
    return pretend


def test_vector_isa_lists_what_changes_kernels_lowest_first(cpu) -> None:  # type: ignore[no-untyped-def]
    cpu(AVX512_XEON, "Intel(R) Xeon(R) Processor")
    assert machine.vector_isa() == (
        "avx",
        "avx2",
        "fma",
        "avx_vnni",
        "avx512f",
        "avx512_vnni",
        "avx512_bf16",
        "amx_tile",
    )
    assert machine.cpu_model() == "Intel(R) Xeon(R) Processor"
    assert machine.describe()["vector_isa"] == list(machine.vector_isa())


def test_lower_isa_is_one_level_below_the_best(cpu) -> None:  # type: ignore[no-untyped-def]
    cpu(AVX512_XEON)
    assert machine.lower_isa_env()["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert machine.lower_isa_env()["ATEN_CPU_CAPABILITY"] == "avx2"
    cpu(AVX2_EPYC)
    assert machine.lower_isa_env() == {
        "ONEDNN_MAX_CPU_ISA": "AVX",
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "AVX",
    }
    cpu("fpu sse4_2")
    with pytest.raises(RuntimeError, match="no AVX2"):
        machine.lower_isa_env()


def test_vectors_key_changes_with_everything_that_changes_vectors(cpu, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cpu(AVX512_XEON)
    default = vectors_key(EmbedConfig())
    assert default.startswith("all-MiniLM-L6-v2|openvino==")
    assert "|f32|" in default
    keys = {
        default,
        vectors_key(EmbedConfig(precision="bf16")),
        vectors_key(EmbedConfig(backend="torch")),
        vectors_key(EmbedConfig(model="/models/other")),
    }
    cpu(AVX2_EPYC)
    keys.add(vectors_key(EmbedConfig()))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX")
    keys.add(vectors_key(EmbedConfig()))
    assert len(keys) == 6
    # what does not change vectors does not change the key
    assert vectors_key(EmbedConfig(batch_size=7, threads=1)) == vectors_key(EmbedConfig())
    # torch runs in f32 whatever `precision` says (it applies to OpenVINO)
    assert vectors_key(EmbedConfig(backend="torch", precision="bf16")) == vectors_key(
        EmbedConfig(backend="torch")
    )


def test_int8_dot_products_need_vnni_and_no_cap_below_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor import machine

    for name in machine.ISA_CAPS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(machine, "vector_isa", lambda: ("avx", "avx2", "fma"))
    assert not machine.int8_dot_products()
    monkeypatch.setattr(machine, "vector_isa", lambda: ("avx", "avx2", "fma", "avx512f", "avx512_vnni"))
    assert machine.int8_dot_products()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not machine.int8_dot_products()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI")
    assert machine.int8_dot_products()
