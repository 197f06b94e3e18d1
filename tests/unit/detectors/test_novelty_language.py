"""``kind: novelty`` with ``extract: yake`` reads each article with its own language's stop words."""

from __future__ import annotations

from typing import Any

from detectors.base import ArticleContext, Finding
from detectors.novelty import NoveltyDetector, NoveltySpec

TITLE = "Україна та Росія обмінялися 175 військовополоненими після розмови Трампа і Путіна"
UKRAINIAN_STOP_WORDS = {"та", "після", "і"}


def edges(terms: list[str]) -> set[str]:
    return {word for term in terms for word in (term.split()[0], term.split()[-1])}


def test_a_ukrainian_article_gets_ukrainian_stop_words_unless_the_detector_sets_a_language() -> None:
    detector = NoveltyDetector(NoveltySpec(id="new-term", topic="exchange", extract="yake"))
    as_ukrainian = detector.terms(ArticleContext(title=TITLE, language="uk"))
    assert as_ukrainian
    assert not edges(as_ukrainian) & UKRAINIAN_STOP_WORDS  # no phrase starts or ends with one
    # read with English stop words (unknown language), "після" ("after") edges a phrase
    as_unknown = detector.terms(ArticleContext(title=TITLE, language=None))
    assert "після" in edges(as_unknown)

    fixed = NoveltyDetector(NoveltySpec(id="new-term", topic="exchange", extract="yake", language="en"))
    assert fixed.terms(ArticleContext(title=TITLE, language="uk")) == as_unknown


class DictState:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any, ttl: float) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def test_a_history_written_before_per_language_histories_is_read_as_english() -> None:
    detector = NoveltyDetector(NoveltySpec(id="new", topic="ceasefire", terms=["30-day", "Black Sea"]))
    found = {"ceasefire": Finding(detector_id="ceasefire", key="k")}
    state = DictState({"topic": {"n": 2, "terms": {"30-day": 100.0}}})  # the old layout
    seen = ArticleContext(id="a", title="Kremlin weighs the 30-day ceasefire", language="en", at=200.0)
    assert detector.evaluate(seen, state, found) is None
    fresh = ArticleContext(id="b", title="Ceasefire talks turn to the Black Sea", language="en", at=300.0)
    finding = detector.evaluate(fresh, state, found)
    assert finding is not None
    assert finding.evidence["new_terms"] == ["Black Sea"]
    assert state.values["topic"]["n"] == 4
    assert set(state.values["topic"]["languages"]["en"]["terms"]) == {"30-day", "Black Sea"}
