"""The int8 table: each saved run in its CPU kind's column, each figure marked against that kind's target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.benchmarks.int8_table import latest_runs, pipeline_run_name, table

VNNI = {"cpu": "Intel Xeon", "int8_dot_products": True, "isa_caps": {}}
CAPPED = {"cpu": "Intel Xeon", "int8_dot_products": False, "isa_caps": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
AVX2_ONLY = {"cpu": "AMD EPYC", "int8_dot_products": False, "isa_caps": {}}


def int8_bench(machine: dict[str, Any], speedup: float, at: str = "2026-12-07 10:00 UTC") -> dict[str, Any]:
    return {
        "benchmark": "embed_int8_vs_f32" + ("_lower_isa" if machine["isa_caps"] else ""),
        "recorded_at": at,
        "machine": machine,
        "f32_per_s": 100.0,
        "int8_per_s": 100.0 * speedup,
        "speedup": speedup,
        "f32_peak_rss_mb": 800,
        "int8_peak_rss_mb": 740,
        "cosine_min": 0.98,
        "cosine_mean": 0.997,
        "ruwa_decision_agreement": 0.9998,
        "ruwa_story_ari": 0.999,
        "bbc_polls_decision_agreement": 0.985,
        "bbc_polls_story_ari": 0.97,
        "mrpc_f1_f32": 0.837,
        "mrpc_f1_int8": 0.842,
        "demo_alerts": 9,
        "demo_alert_ids_same": True,
    }


def pipeline(
    machine: dict[str, Any], precision: str, ratio: float, with_pages: bool = False, **more: Any
) -> dict[str, Any]:
    return {
        "benchmark": "pipeline_e2e",
        "recorded_at": "2026-12-07 11:00 UTC",
        "machine": machine,
        "pages_fetched": with_pages,
        "embed_precision": precision,
        "raw_encode_per_s": 100.0,
        "sustained_per_s": 100.0 * ratio,
        "ratio_to_ceiling": ratio,
        "peak_pss_mb": 1500.0 if precision == "f32" else 1400.0,
        **more,
    }


def save(folder: Path, payload: dict[str, Any], name: str | None = None) -> None:
    (folder / f"{name or payload['benchmark']}.json").write_text(json.dumps(payload))


def cells(text: str, what: str) -> list[str]:
    """The VNNI and AVX2 cells of the row that starts with ``what``."""
    row = next(line for line in text.splitlines() if line.startswith(f"| {what}"))
    return [c.strip() for c in row.strip("|").split("|")][2:]


def test_each_kind_is_marked_against_its_own_target(tmp_path: Path) -> None:
    save(tmp_path, int8_bench(VNNI, 1.75))
    save(tmp_path, int8_bench(CAPPED, 1.45))
    profile = {
        "outside_model_cpu_ms_per_article_polled_as_sequenced": 3.0,
        "model_threads_cpu_ms_per_article": 10.0,
    }
    for payload in (
        pipeline(VNNI, "f32", 0.80),
        pipeline(VNNI, "int8", 0.66, profile=profile),
        pipeline(CAPPED, "f32", 0.80),
    ):
        save(tmp_path, payload, pipeline_run_name(payload))
    text = table(tmp_path)

    # 1.45x misses VNNI's 2x but meets AVX2's 1.4x; 80% meets VNNI's 75% and misses AVX2's 87%
    assert cells(text, "int8 encode rate") == ["1.75× (100.0 → 175.0/s) ✗", "1.45× (100.0 → 145.0/s) ✓"]
    assert cells(text, "pipeline on feed text, sustained ÷ its model alone, f32") == [
        "80% (80.0 of 100.0/s) ✓",
        "80% (80.0 of 100.0/s) ✗",
    ]
    assert cells(text, "dedup decisions the same, BBC polls")[0].endswith("✗")  # 0.985 < 0.99
    assert cells(text, "dedup decisions the same, RUWA")[0].endswith("✓")
    assert cells(text, "MRPC held-out F1")[0] == "+0.0050 (0.837 → 0.842) ✓"
    assert cells(text, "CPU outside the model")[0] == "0.30 (3.0 / 10.0 ms) ✓"
    assert cells(text, "peak PSS of the worker tree")[0] == "1500 → 1400 MB ✓"
    # a run not on record is a dash, not a pass
    assert cells(text, "pipeline on feed text, sustained ÷ its model alone, int8")[1] == "–"
    assert cells(text, "pipeline on feed text, sustained, f32 → int8") == ["0.82× (80.0 → 66.0/s)", "–"]
    assert "pipeline_e2e_f32_text_lower_isa.json" in text


def test_the_newest_run_counts_and_runs_with_pages_are_kept_apart(tmp_path: Path) -> None:
    save(tmp_path, int8_bench(VNNI, 1.5, at="2026-12-01 09:00 UTC"), "embed_int8_vs_f32_old")
    save(tmp_path, int8_bench(VNNI, 2.2, at="2026-12-07 09:00 UTC"))
    text_only = pipeline(VNNI, "int8", 0.9)
    with_pages = pipeline(VNNI, "int8", 0.6, with_pages=True)
    for payload in (text_only, with_pages):
        save(tmp_path, payload, pipeline_run_name(payload))
    save(tmp_path, {"benchmark": "embed_rate", "machine": VNNI}, "embed_rate")  # another benchmark: ignored
    (tmp_path / "broken.json").write_text("{")

    runs = latest_runs(tmp_path)

    assert runs["VNNI"].int8 is not None
    assert runs["VNNI"].int8["speedup"] == 2.2
    assert runs["VNNI"].pipeline["int8"]["ratio_to_ceiling"] == 0.9  # the pipeline against its model
    assert runs["VNNI"].with_pages["int8"]["ratio_to_ceiling"] == 0.6
    assert runs["AVX2"].int8 is None
    assert runs["AVX2"].pipeline == {}
    assert pipeline_run_name(text_only) == "pipeline_e2e_int8_text"
    assert pipeline_run_name(with_pages) == "pipeline_e2e_int8_pages"


def test_pages_given_up_at_saturation_are_counted_and_fail_a_rate(tmp_path: Path) -> None:
    # the full-text step gave up on 30 of 100 pages (fulltext.budget): those went on as feed text
    given_up = {"status_saturation": {"budget": 30, "extracted": 70}}
    kept_up = {"status_saturation": {"budget": 1, "extracted": 199}}
    for payload in (
        pipeline(VNNI, "int8", 0.95, with_pages=True, pages=given_up),
        pipeline(VNNI, "f32", 0.80, with_pages=True, pages=kept_up),
        pipeline(VNNI, "int8", 0.95, pages=given_up),  # a feed-text run's rate on cheaper work fails too
    ):
        save(tmp_path, payload, pipeline_run_name(payload))
    # another machine's results copied in: its own column, whatever the file is called
    save(tmp_path, pipeline(AVX2_ONLY, "f32", 0.80, with_pages=True, pages=kept_up), "from_the_amd_box")
    only_old = tmp_path / "only_old"
    only_old.mkdir()
    save(only_old, pipeline(VNNI, "int8", 0.5, with_pages=True), "pipeline_e2e_int8_pages")
    # a run from before the statuses were counted says nothing either way
    save(tmp_path, pipeline(CAPPED, "int8", 0.5, with_pages=True), "pipeline_e2e_int8_pages_lower_isa")
    text = table(tmp_path)

    assert cells(text, "a page for every article") == ["0% / 30% ✗", "0% / – ✓"]
    assert cells(text, "pipeline on feed text, sustained ÷ its model alone, int8")[0] == (
        "95% (95.0 of 100.0/s), but 30% of the articles went on without their page ✗"
    )
    assert cells(table(only_old), "a page for every article") == ["not counted in these runs", "–"]
