"""Gates only skip detectors that would not have matched.

The engine asks each kind's shared prefilter (keyword anchor words, the
entity phrasebook, the semantic example matrix) which detectors may match an
article and skips the others. Run on real headlines, the gated engine must
give exactly what the same detectors give when every one of them is run:
the same findings, alerts and held-back findings, article by article.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.store import MemoryStore
from tests.benchmarks.test_detect_bench import document
from tests.unit.streams.dedup.test_dedup_quality import ruwa

ARTICLES = 3000
DIM = 8  # small vectors: cosines spread widely, so semantic thresholds are crossed both ways


def vector(text: str) -> npt.NDArray[np.float32]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


def encode(texts: list[str]) -> npt.NDArray[np.float32]:
    return np.stack([vector(t) for t in texts])


def ungated(engine: Engine) -> Engine:
    """The same engine with every gate removed: each detector runs on each article."""
    for step in engine._plan:
        step.gate = None
        if hasattr(step.detector, "gate"):
            step.detector.gate = None  # keyword detectors fall back to their own word check
    engine._gates = []
    return engine


def test_gated_and_ungated_engines_agree_on_real_headlines() -> None:
    doc = document()
    entities = {e.id: e for e in doc.entities}
    gated = Engine(list(doc.detectors), entities, "v", encode)
    everyone = ungated(Engine(list(doc.detectors), entities, "v", encode))
    assert gated._gates
    assert not everyone._gates
    gated_store, everyone_store = MemoryStore(), MemoryStore()
    articles, _ = ruwa()
    kind_of = {spec.id: spec.kind for spec in gated.specs}
    fired = 0
    matched_kinds: set[str] = set()
    for n, a in enumerate(articles[:ARTICLES]):

        def context(a=a, n=n) -> ArticleContext:  # type: ignore[no-untyped-def]
            return ArticleContext(
                id=a.id, title=a.title, summary=a.summary, source=a.source,
                at=a.published_at.timestamp(), story_id=f"s{n // 3}", vector=vector(a.title),
            )  # fmt: skip

        one, other = gated.evaluate(context(), gated_store), everyone.evaluate(context(), everyone_store)
        assert sorted(one.found) == sorted(other.found), a.title
        assert [f.alert_id for f in one.firings] == [f.alert_id for f in other.firings], a.title
        assert one.held == other.held, a.title
        assert not one.errors
        assert not other.errors
        fired += len(one.firings)
        matched_kinds |= {kind_of[d] for d in one.found}
    assert gated_store == everyone_store
    assert fired > 100, "the check must cover articles that do alert"
    assert {"keyword", "entity", "semantic"} <= matched_kinds, "every gated kind both passes and skips"
