"""``kind: novelty`` with ``extract: yake`` reads each article with its own language's stop words."""

from __future__ import annotations

from detectors.base import ArticleContext
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
