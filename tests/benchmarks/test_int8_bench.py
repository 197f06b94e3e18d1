"""`embed.precision: int8` against `f32`, in one run on the same texts: speed, memory, and the same decisions.

What users need is not a faster model but the same decisions faster. So
beside the encode rate this measures what the vectors decide:

* speed and peak RSS: 2,000 AG News texts, batch 32, each precision in a
  fresh process (``embed_probe``), the first batch a warm-up;
* cosine of each text's int8 vector to its f32 vector (AG News and RUWA);
* dedup decisions (``first/near/exact/update`` per article) on all RUWA
  headlines and on the 364 BBC home-feed polls replayed in order, and the
  adjusted Rand index of their story ids;
* MRPC held-out F1 at the shipped threshold (``dedup.near_threshold``);
* stories against the gold event sets (held-half B-cubed F1, as
  ``test_story_quality``): where int8's stories differ from f32's, are they worse?
* the demo's alert ids, backtested (``streams.backtest``) with each precision.

None of these texts is in the calibration set (``streams.calibration``).
Run it natively and with the engines capped one instruction set lower
(``env $(python -m monitor.machine --lower-isa-env) pytest ...``) to report
both CPU kinds: a VNNI CPU runs int8 matrix products in one instruction, an
AVX2-only CPU in three.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.config import EmbedConfig, PipelineConfig, WirewatchConfig
from monitor.machine import int8_dot_products
from tests.benchmarks.int8_table import DECISION_AGREEMENT_MIN, MRPC_F1_DELTA_MAX, SPEEDUP_MIN
from tests.benchmarks.test_embed_bench import ag_news_articles, probe
from tests.embedding_cache import cached_vectors
from tests.feed_server import SHARED

pytestmark = [pytest.mark.benchmark, pytest.mark.model, pytest.mark.timeout(1800)]

TEXTS = 2000


def adjusted_rand(a: list[str], b: list[str]) -> float:
    """Adjusted Rand index of two labelings of the same items (1: the same partition)."""
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def decisions(articles: list, vectors: np.ndarray, **dedup: object) -> tuple[list[str], list[str]]:
    """(decision kind, story id) per article, sequenced as the stage does."""
    from tests.unit.streams.dedup.test_dedup_quality import run

    outs = run(articles, vectors, **dedup)
    return [o.decision.kind for o in outs], [o.decision.story_id for o in outs]


def mrpc_f1(precision: str) -> float:
    """F1 of the shipped near-duplicate decision on MRPC's held-out (odd) rows."""
    from monitor.config import DedupConfig
    from streams.dedup.decision import DEFAULT_MODEL
    from streams.dedup.facts import extract_facts, pair_features, place_conflict
    from tests.unit.streams.dedup.test_decision import MRPC, prf, read_mrpc

    pairs, labels = read_mrpc(MRPC)
    first = cached_vectors([a for a, _ in pairs], label="mrpc-1", precision=precision)
    second = cached_vectors([b for _, b in pairs], label="mrpc-2", precision=precision)
    cosines = (first * second).sum(axis=1).astype(np.float64)
    facts = [(extract_facts(a), extract_facts(b)) for a, b in pairs]
    features = np.array([pair_features(fa, fb, c) for (fa, fb), c in zip(facts, cosines, strict=True)])
    places = np.array([place_conflict(fa, fb) for fa, fb in facts])
    held = np.arange(len(labels)) % 2 == 1
    decided = DEFAULT_MODEL.decide(features[held], DedupConfig().near_threshold, places[held])
    return prf(decided, labels[held])[0]


def gold_story_f1(name: str, precision: str) -> float:
    """Held-half B-cubed F1 of stories against a gold event set (as ``test_story_quality`` scores it)."""
    from monitor.story_view import bcubed
    from tests.unit.streams.dedup.test_dedup_quality import run
    from tests.unit.streams.dedup.test_story_quality import SETS

    articles, events, splits = SETS[name]()
    order = sorted(range(len(articles)), key=lambda i: articles[i].published_at)
    articles = [articles[i] for i in order]
    texts = [a.text_for_embedding() for a in articles]
    vectors = cached_vectors(texts, label=f"gold-{name}", precision=precision)
    stories = [out.decision.story_id for out in run(articles, vectors)]
    held = [n for n, i in enumerate(order) if splits[i] == "held"]
    return bcubed([stories[n] for n in held], [events[order[n]] for n in held])[0]


def demo_alert_ids(precision: str, workdir: Path) -> list[str]:
    from monitor.archive import load_archive
    from monitor.demo import DEMO_DIR
    from monitor.loading import load_detectors
    from streams.backtest import backtest
    from tests.unit.streams.test_backtest import demo_jsonl

    path, _ = demo_jsonl(workdir / f"demo-{precision}.jsonl")
    config = WirewatchConfig(pipeline=PipelineConfig(embed=EmbedConfig(precision=precision)))  # type: ignore[arg-type]
    report = backtest(load_archive(path), load_detectors(DEMO_DIR.parent / "detectors.yaml"), config)
    return sorted(f.alert.id for f in report.fired)


def test_int8_against_f32(record_result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.streams.dedup.test_dedup_quality import bbc_polls, ruwa

    assert (SHARED / "corpus").exists(), f"the corpora are missing at {SHARED} (set WIREWATCH_SHARED)"
    texts = [a.text_for_embedding() for a in ag_news_articles(TEXTS)]
    figures, ag = {}, {}
    for precision in ("f32", "int8"):
        figures[precision], ag[precision] = probe("openvino", texts, tmp_path, precision=precision)
    speedup = figures["int8"]["per_s"] / figures["f32"]["per_s"]

    ruwa_articles = ruwa()[0]
    bbc_articles = bbc_polls()
    result: dict[str, object] = {}
    kinds: dict[str, dict[str, list[str]]] = {"ruwa": {}, "bbc_polls": {}}
    stories: dict[str, dict[str, list[str]]] = {"ruwa": {}, "bbc_polls": {}}
    vectors: dict[str, dict[str, np.ndarray]] = {"ruwa": {}, "bbc_polls": {}}
    for precision in ("f32", "int8"):
        for name, articles, dedup in (
            ("ruwa", ruwa_articles, {}),
            ("bbc_polls", bbc_articles, {"id_window": 600 * 86400.0}),  # as the quality test replays them
        ):
            label = name.replace("_", "-")
            v = cached_vectors([a.text_for_embedding() for a in articles], label=label, precision=precision)
            vectors[name][precision] = v
            kinds[name][precision], stories[name][precision] = decisions(articles, v, **dedup)
    cosines = np.concatenate(
        [(ag["f32"] * ag["int8"]).sum(axis=1), (vectors["ruwa"]["f32"] * vectors["ruwa"]["int8"]).sum(axis=1)]
    )
    for name in kinds:
        same = sum(a == b for a, b in zip(kinds[name]["f32"], kinds[name]["int8"], strict=True))
        result[f"{name}_decision_agreement"] = round(same / len(kinds[name]["f32"]), 4)
        result[f"{name}_story_ari"] = round(adjusted_rand(stories[name]["f32"], stories[name]["int8"]), 4)
        for precision in ("f32", "int8"):
            result[f"{name}_{precision}_near"] = kinds[name][precision].count("near")
    f1 = {p: mrpc_f1(p) for p in ("f32", "int8")}
    for name in ("ruwa", "bbc", "ecbplus"):  # stories that differ: worse, or as good another way?
        for precision in ("f32", "int8"):
            result[f"gold_{name}_story_f1_{precision}"] = round(gold_story_f1(name, precision), 4)
    alerts = {p: demo_alert_ids(p, tmp_path) for p in ("f32", "int8")}

    record_result(
        "embed_int8_vs_f32" + ("_lower_isa" if _capped() else ""),
        texts=TEXTS,
        f32_per_s=round(figures["f32"]["per_s"], 1),
        int8_per_s=round(figures["int8"]["per_s"], 1),
        speedup=round(speedup, 2),
        f32_peak_rss_mb=round(figures["f32"]["peak_rss_mb"]),
        int8_peak_rss_mb=round(figures["int8"]["peak_rss_mb"]),
        cosine_min=round(float(cosines.min()), 4),
        cosine_mean=round(float(cosines.mean()), 5),
        **result,
        mrpc_f1_f32=round(f1["f32"], 4),
        mrpc_f1_int8=round(f1["int8"], 4),
        demo_alerts=len(alerts["f32"]),
        demo_alert_ids_same=alerts["f32"] == alerts["int8"],
    )
    wanted = SPEEDUP_MIN["VNNI" if int8_dot_products() else "AVX2"]
    missed = [
        f"{name} decisions agree {result[f'{name}_decision_agreement']} (target {DECISION_AGREEMENT_MIN})"
        for name in kinds
        if result[f"{name}_decision_agreement"] < DECISION_AGREEMENT_MIN  # type: ignore[operator]
    ]
    if abs(f1["int8"] - f1["f32"]) > MRPC_F1_DELTA_MAX:
        missed.append(f"MRPC F1 {f1} (target: within {MRPC_F1_DELTA_MAX})")
    if alerts["int8"] != alerts["f32"]:
        missed.append("the demo fires other alerts with int8")
    if figures["int8"]["peak_rss_mb"] > figures["f32"]["peak_rss_mb"]:
        missed.append(
            f"peak RSS {figures['int8']['peak_rss_mb']:.0f} MB, f32's {figures['f32']['peak_rss_mb']:.0f}"
        )
    if speedup < wanted:
        missed.append(f"int8 at {speedup:.2f}x f32 (target {wanted}x on this CPU kind)")
    assert not missed, missed


def _capped() -> bool:
    from monitor.machine import isa_caps

    return bool(isa_caps())
