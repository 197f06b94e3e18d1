"""``kind: novelty`` — a term new to a topic's history: the news inside a running story.

The topic is another detector, by id ("ceasefire"); the history is every
term seen in its articles for ``history`` (per topic, or per story with
``scope: story``). Terms are a configured list (``terms``: energy
infrastructure, Black Sea, 30-day ...) or, with ``extract: yake``, each
article's key phrases from YAKE — a cheap statistical extractor, no model
calls, so novelty never eats the embedding budget. The first articles only
build the history (``min_history``); ``first_story: true`` also alerts on the
topic's very first article.

Histories are kept per language (``Article.lang``): a term, configured or
extracted, is read in one language, so Ukrainian coverage that said "30-денне
перемир'я" never shows that the English "30-day" was said, and an English
report joining a Ukrainian story (the multilingual model) would otherwise look
all new. Each language's first articles build its own history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from detectors.base import ArticleContext, BuildEnv, DetectorSpec, Finding, State, article_key
from detectors.durations import Duration
from detectors.query import evaluate, literal
from detectors.text import fold, words

MAX_TERMS = 500  # per history; the oldest go first


class NoveltySpec(DetectorSpec):
    """Fires when an article of ``topic`` brings a term its history has not seen."""

    kind: Literal["novelty"] = "novelty"
    topic: str = Field(description="Detector id whose matches make up the topic.")
    terms: tuple[str, ...] = Field((), description="Terms to watch (phrases; case and accents ignored).")
    extract: Literal["none", "yake"] = Field("none", description="`yake`: key phrases of each article.")
    top: int = Field(8, ge=1, le=50, description="Key phrases taken per article with `extract: yake`.")
    language: str | None = Field(
        None,
        description=(
            "Language of the texts for YAKE's stop words; unset: each article's own (detected) language, "
            "English when unknown."
        ),
    )
    scope: Literal["topic", "story"] = Field(
        "topic", description="Whose history: the topic's or the story's."
    )
    history: Duration = Field(30 * 86400.0, gt=0, description="How long a seen term stays known.")
    min_history: int = Field(
        1, ge=0, description="Articles in the same language seen in the history before a new term counts."
    )
    first_story: bool = Field(False, description="Also alert on the first article of the topic.")

    @model_validator(mode="after")
    def _has_terms(self) -> NoveltySpec:
        if not self.terms and self.extract == "none":
            raise ValueError("a novelty detector needs `terms` or `extract: yake`")
        return self

    def requires(self) -> tuple[str, ...]:
        return (self.topic,)

    def build(self, env: BuildEnv) -> NoveltyDetector:
        return NoveltyDetector(self)


class NoveltyDetector:
    def __init__(self, spec: NoveltySpec) -> None:
        self.spec = spec
        self.watch = [literal(t) for t in spec.terms if words(t.lstrip("="))]
        self._extractors: dict[str, Any] = {}
        if spec.extract == "yake":
            self._yake(spec.language or "en")  # import and set up now, not on the first article

    def _yake(self, language: str) -> Any:
        """One extractor per language (its stop words); YAKE reads no stop words for one it lacks."""
        extractor = self._extractors.get(language)
        if extractor is None:
            import yake

            extractor = self._extractors[language] = yake.KeywordExtractor(
                lan=language, n=3, top=self.spec.top, dedupLim=0.7
            )
        return extractor

    def terms(self, article: ArticleContext) -> list[str]:
        found = {t.text for t in self.watch if evaluate(t, article.fields).matched}
        if self.spec.extract == "yake":
            language = self.spec.language or article.language or "en"
            cache_key = f"yake:{language}:{self.spec.top}"
            if cache_key not in article.cache:
                text = f"{article.title}. {article.summary}".strip()
                phrases = self._yake(language).extract_keywords(text)
                article.cache[cache_key] = [fold(phrase) for phrase, _ in phrases]
            found.update(article.cache[cache_key])
        return sorted(found)

    def evaluate(self, article: ArticleContext, state: State, found: Mapping[str, Finding]) -> Finding | None:
        if self.spec.topic not in found:
            return None
        scope = "topic" if self.spec.scope == "topic" else f"story:{article.story_id}"
        record = state.get(scope) or {"n": 0, "languages": {}}
        if "terms" in record:  # written before histories were per language: English was all we read
            record = {"n": record["n"], "languages": {"en": {"n": record["n"], "terms": record["terms"]}}}
        languages: dict[str, Any] = dict(record["languages"])
        language = article.language or "-"
        history = languages.get(language) or {"n": 0, "terms": {}}
        horizon = article.at - self.spec.history
        seen = {t: at for t, at in history["terms"].items() if at >= horizon}
        present = self.terms(article)
        new = [t for t in present if t not in seen]
        finding = None
        if record["n"] == 0 and self.spec.first_story:
            finding = Finding(
                detector_id=self.spec.id,
                key=f"first:{scope}:{article_key(article)}",
                group=scope,
                evidence={"first_in_topic": True, "topic": self.spec.topic, "terms": present},
            )
        elif new and history["n"] >= self.spec.min_history:
            earlier = sorted(seen, key=seen.__getitem__)
            finding = Finding(
                detector_id=self.spec.id,
                key=f"{scope}:{'|'.join(new)}:{article_key(article)}",
                group=scope,
                evidence={
                    "topic": self.spec.topic,
                    "new_terms": new,
                    "earlier_terms": earlier[-50:],
                    "topic_articles_before": history["n"],
                },
            )
        for term in present:  # remembered from when last seen; forgotten after `history`
            seen[term] = max(seen.get(term, article.at), article.at)
        if len(seen) > MAX_TERMS:
            seen = dict(sorted(seen.items(), key=lambda kv: kv[1])[-MAX_TERMS:])
        languages[language] = {"n": history["n"] + 1, "terms": seen}
        state.set(scope, {"n": record["n"] + 1, "languages": languages}, ttl=self.spec.history)
        return finding
