"""int8 against f32, one column per CPU kind: issue #25's targets from the benchmarks' saved results.

Two benchmarks measure what ``embed.precision: int8`` changes: the model alone
with the decisions its vectors make (``test_int8_bench``), and the whole
pipeline (``test_pipeline_bench``, run once per precision). Each saves its
figures under ``results/``, named by what it ran and on which CPU kind; this
module puts the latest of each into one table, a column per CPU kind:

* **VNNI**: the engines multiply int8 in one instruction (AVX512_VNNI,
  AVX_VNNI or AMX, no cap below it);
* **AVX2**: they do not; ``make bench-lower-isa`` simulates such a CPU on a
  VNNI machine by capping the engines (``monitor.machine.lower_isa_env``).

The pipeline's rows come from runs on feed text (``WIREWATCH_BENCH_PAGES=0``),
where the model is the bottleneck; with a page fetched for every article, a
2-core machine runs out of room for pages first, and the last row says how
many articles went on without theirs.

``make bench`` and ``make bench-lower-isa`` print it at their end;
``python -m tests.benchmarks.int8_table`` prints it from whatever is saved.
A cell is the figure, then ✓ or ✗ against the target of that CPU kind; a
figure with no target is reported as measured, and a run not on record is "–".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
KINDS = ("VNNI", "AVX2")

# the targets, by CPU kind where they differ
SPEEDUP_MIN = {"VNNI": 2.0, "AVX2": 1.4}  # int8 encode rate / f32's, the model alone
DECISION_AGREEMENT_MIN = 0.99  # the same first/near/exact/update per article
MRPC_F1_DELTA_MAX = 0.01
PIPELINE_RATIO_MIN = {  # sustained / the same precision's model alone
    "f32": {"VNNI": 0.75, "AVX2": 0.87},
    "int8": {"VNNI": 0.70, "AVX2": 0.85},
}
OUTSIDE_MODEL_SHARE_MAX = 1 / 3  # CPU outside the model per article / the model's
# at saturation, the articles the full-text step gave up on (fulltext.budget ran out) and sent on as
# feed text: above this share the pipeline's rate is of cheaper work than the run asked for
WITHOUT_PAGES_MAX = 0.01


def cpu_kind(machine: dict[str, Any]) -> str:
    """The column a result belongs in, from the machine it was recorded on."""
    return "VNNI" if machine.get("int8_dot_products") else "AVX2"


def without_pages_share(pages: dict[str, Any]) -> float | None:
    """The share of a pipeline run's articles at saturation the full-text step gave up on
    (None: a run from before the benchmark counted them)."""
    statuses = pages.get("status_saturation")
    if statuses is None:
        return None
    return float(statuses.get("budget", 0)) / max(sum(statuses.values()), 1)


def pipeline_run_name(payload: dict[str, Any]) -> str:
    """Where a pipeline run is kept: ``pipeline_e2e_<precision>_<pages|text>[_lower_isa]``."""
    capped = "_lower_isa" if payload["machine"].get("isa_caps") else ""
    return (
        f"pipeline_e2e_{payload['embed_precision']}_{'pages' if payload['pages_fetched'] else 'text'}{capped}"
    )


@dataclass(frozen=True)
class Runs:
    """The latest saved results of one CPU kind."""

    int8: dict[str, Any] | None  # test_int8_bench
    pipeline: dict[str, dict[str, Any]]  # by precision, on feed text: the pipeline against its model
    with_pages: dict[str, dict[str, Any]]  # by precision, a page fetched for every article


def latest_runs(results: Path = RESULTS) -> dict[str, Runs]:
    """Each CPU kind's newest int8 benchmark and newest pipeline run per precision."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(results.glob("*.json")):
        if path.name == "pipeline_e2e.json":  # the latest pipeline run, also kept by what it ran
            continue
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        pipeline_run = payload.get("benchmark") == "pipeline_e2e" and "pages_fetched" in payload
        if pipeline_run or payload.get("benchmark", "").startswith("embed_int8_vs_f32"):
            payload["_file"] = path.name
            found.setdefault(cpu_kind(payload.get("machine", {})), []).append(payload)

    def newest(payloads: list[dict[str, Any]]) -> dict[str, Any] | None:
        return max(payloads, key=lambda p: p.get("recorded_at", ""), default=None)

    runs = {}
    for kind in KINDS:
        payloads = found.get(kind, [])
        pipeline, with_pages = {}, {}
        for precision in ("f32", "int8"):
            mine = [p for p in payloads if p.get("embed_precision") == precision]
            if best := newest([p for p in mine if not p.get("pages_fetched")]):
                pipeline[precision] = best
            if best := newest([p for p in mine if p.get("pages_fetched")]):
                with_pages[precision] = best
        int8 = newest([p for p in payloads if p.get("benchmark", "").startswith("embed_int8_vs_f32")])
        runs[kind] = Runs(int8, pipeline, with_pages)
    return runs


@dataclass(frozen=True)
class Row:
    """One line of the table: what, the target as words, and a cell maker per CPU kind."""

    what: str
    target: str
    cell: Callable[[Runs, str], str]


def mark(figure: str, met: bool) -> str:
    return f"{figure} {'✓' if met else '✗'}"


def by_kind(minimum: dict[str, float], unit: str = "×") -> str:
    """A target that differs by CPU kind, as words: ``≥ 2× VNNI, ≥ 1.4× AVX2``."""
    return ", ".join(
        f"≥ {value:.0%} {kind}" if unit == "%" else f"≥ {value:g}{unit} {kind}"
        for kind, value in minimum.items()
    )


def _int8(show: Callable[[dict[str, Any], str], str]) -> Callable[[Runs, str], str]:
    def cell(runs: Runs, kind: str) -> str:
        return show(runs.int8, kind) if runs.int8 is not None else "–"

    return cell


def _pipelines(*needed: str, show: Callable[..., str]) -> Callable[[Runs, str], str]:
    def cell(runs: Runs, kind: str) -> str:
        if any(p not in runs.pipeline for p in needed):
            return "–"
        return show(*(runs.pipeline[p] for p in needed), kind=kind)

    return cell


def _speedup(r: dict[str, Any], kind: str) -> str:
    return mark(
        f"{r['speedup']}× ({r['f32_per_s']} → {r['int8_per_s']}/s)", r["speedup"] >= SPEEDUP_MIN[kind]
    )


def _agreement(corpus: str) -> Callable[[dict[str, Any], str], str]:
    def show(r: dict[str, Any], kind: str) -> str:
        value = r[f"{corpus}_decision_agreement"]
        return mark(f"{value:.4f} (ARI {r[f'{corpus}_story_ari']:.3f})", value >= DECISION_AGREEMENT_MIN)

    return show


def _mrpc(r: dict[str, Any], kind: str) -> str:
    delta = r["mrpc_f1_int8"] - r["mrpc_f1_f32"]
    return mark(f"{delta:+.4f} ({r['mrpc_f1_f32']} → {r['mrpc_f1_int8']})", abs(delta) <= MRPC_F1_DELTA_MAX)


def _rss(r: dict[str, Any], kind: str) -> str:
    return mark(
        f"{r['f32_peak_rss_mb']} → {r['int8_peak_rss_mb']} MB", r["int8_peak_rss_mb"] <= r["f32_peak_rss_mb"]
    )


def _ratio(precision: str) -> Callable[..., str]:
    def show(run: dict[str, Any], kind: str) -> str:
        figure = f"{run['ratio_to_ceiling']:.0%} ({run['sustained_per_s']} of {run['raw_encode_per_s']}/s)"
        degraded = without_pages_share(run.get("pages", {}))
        if degraded is not None and degraded > WITHOUT_PAGES_MAX:  # a rate of cheaper work than asked for
            return mark(f"{figure}, but {degraded:.0%} of the articles went on without their page", False)
        return mark(figure, run["ratio_to_ceiling"] >= PIPELINE_RATIO_MIN[precision][kind])

    return show


def _outside_model(run: dict[str, Any], kind: str) -> str:
    profile = run.get("profile")
    if not profile:
        return "no profile"
    outside = profile["outside_model_cpu_ms_per_article_polled_as_sequenced"]
    model = profile["model_threads_cpu_ms_per_article"]
    return mark(f"{outside / model:.2f} ({outside} / {model} ms)", outside / model <= OUTSIDE_MODEL_SHARE_MAX)


def _gain(f32: dict[str, Any], int8: dict[str, Any], kind: str) -> str:
    before, after = f32["sustained_per_s"], int8["sustained_per_s"]
    return f"{after / before:.2f}× ({before} → {after}/s)"


def _pss(f32: dict[str, Any], int8: dict[str, Any], kind: str) -> str:
    return mark(
        f"{f32['peak_pss_mb']:.0f} → {int8['peak_pss_mb']:.0f} MB", int8["peak_pss_mb"] <= f32["peak_pss_mb"]
    )


def _given_up(runs: Runs, kind: str) -> str:
    """With pages, the page path (fetch, extract) is the bottleneck on small machines, not the model:
    a release above it is met by giving pages up (fulltext.budget), so the rate is not the point."""
    shares = {p: without_pages_share(r.get("pages", {})) for p, r in runs.with_pages.items()}
    known = {p: share for p, share in shares.items() if share is not None}
    if not known:
        return "–" if not shares else "not counted in these runs"
    figure = " / ".join(f"{known[p]:.0%}" if p in known else "–" for p in ("f32", "int8"))
    return mark(figure, max(known.values()) <= WITHOUT_PAGES_MAX)


ROWS = (
    Row("int8 encode rate ÷ f32's, the model alone", by_kind(SPEEDUP_MIN), _int8(_speedup)),
    Row(
        "cosine of int8 to f32 vectors, min / mean",
        "reported",
        _int8(lambda r, k: f"{r['cosine_min']} / {r['cosine_mean']}"),
    ),
    Row("dedup decisions the same, RUWA", f"≥ {DECISION_AGREEMENT_MIN}", _int8(_agreement("ruwa"))),
    Row("dedup decisions the same, BBC polls", f"≥ {DECISION_AGREEMENT_MIN}", _int8(_agreement("bbc_polls"))),
    Row("MRPC held-out F1, int8 − f32", f"within {MRPC_F1_DELTA_MAX}", _int8(_mrpc)),
    Row(
        "the demo's alert ids",
        "the same",
        _int8(lambda r, k: mark(f"{r['demo_alerts']} alerts", bool(r["demo_alert_ids_same"]))),
    ),
    Row("peak RSS of the model alone, f32 → int8", "int8 ≤ f32", _int8(_rss)),
    Row(
        "pipeline on feed text, sustained ÷ its model alone, f32",
        by_kind(PIPELINE_RATIO_MIN["f32"], "%"),
        _pipelines("f32", show=_ratio("f32")),
    ),
    Row(
        "pipeline on feed text, sustained ÷ its model alone, int8",
        by_kind(PIPELINE_RATIO_MIN["int8"], "%"),
        _pipelines("int8", show=_ratio("int8")),
    ),
    Row("pipeline on feed text, sustained, f32 → int8", "reported", _pipelines("f32", "int8", show=_gain)),
    Row(
        "CPU outside the model ÷ the model's, int8 pipeline (profile)",
        "≤ 1/3",  # OUTSIDE_MODEL_SHARE_MAX
        _pipelines("int8", show=_outside_model),
    ),
    Row("peak PSS of the worker tree, f32 → int8", "int8 ≤ f32", _pipelines("f32", "int8", show=_pss)),
    Row(
        "a page for every article: at saturation, articles that went on without it, f32 / int8",
        f"≤ {WITHOUT_PAGES_MAX:.0%}",
        _given_up,
    ),
)


def sources(runs: Runs) -> str:
    """Which saved runs a column comes from, with when and where they ran."""
    parts = []
    for r in [runs.int8, *runs.pipeline.values(), *runs.with_pages.values()]:
        if r is not None:
            m = r.get("machine", {})
            caps = ", ".join(f"{k}={v}" for k, v in m.get("isa_caps", {}).items()) or "no cap"
            parts.append(f"`{r['_file']}` ({r.get('recorded_at', 'undated')}; {m.get('cpu', '?')}, {caps})")
    return "; ".join(parts) or "no run on record"


def table(results: Path = RESULTS) -> str:
    """The Markdown table, then the saved runs each column comes from."""
    runs = latest_runs(results)
    lines = [
        "| int8 against f32 | target | " + " | ".join(KINDS) + " |",
        "|---|---|" + "---|" * len(KINDS),
        *(
            f"| {row.what} | {row.target} | " + " | ".join(row.cell(runs[k], k) for k in KINDS) + " |"
            for row in ROWS
        ),
        "",
        *(f"- {kind}: {sources(runs[kind])}" for kind in KINDS),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the table and save it as ``results/int8_table.md``."""
    results = Path(argv[0]) if argv else RESULTS
    text = table(results)
    if results.exists():
        (results / "int8_table.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
