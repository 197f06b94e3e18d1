"""Keywords match inflections: both sides stemmed per script; quotes and ``=`` stay exact."""

from __future__ import annotations

import pytest

from detectors.base import ArticleContext
from detectors.keyword import KeywordSpec
from detectors.stemming import stem
from detectors.text import words


def detector(**fields: object):
    return KeywordSpec.model_validate({"id": "d", "kind": "keyword", **fields}).build(None)


def key(word: str) -> str:
    (folded,) = words(word)
    return stem(folded)


@pytest.mark.parametrize(
    "forms",
    [
        # English: Porter2, irregular pasts, the -sion/-sive family joined to its verb
        ("explosion", "explosions", "exploded", "explode", "explosive", "explosives"),
        ("strike", "strikes", "striking", "struck"),
        ("invasion", "invade", "invaded"),
        ("attack", "attacks", "attacked", "attacking"),
        # Ukrainian (the light stripper) and the forms the Russian stemmer takes
        ("обстріл", "обстрілу", "обстріли", "обстрілів", "обстрілами", "обстрілом", "обстрілі"),
        ("удар", "удари", "ударів", "ударом", "ударами"),
        ("ракета", "ракети", "ракетою", "ракетами"),
        ("полонені", "полонених", "полоненими", "полонений"),
        ("повітряна", "повітряної", "повітряну"),
        # Russian: Snowball
        ("взрыв", "взрывы", "взрывов", "взрывом"),
        ("обстрел", "обстрелы", "обстрела", "обстрелов"),
    ],
)
def test_inflections_share_a_stem(forms: tuple[str, ...]) -> None:
    assert len({key(form) for form in forms}) == 1, {form: key(form) for form in forms}


@pytest.mark.parametrize(
    ("a", "b"), [("strike", "striker"), ("shell", "shelter"), ("bomb", "bombay"), ("удар", "ударник")]
)
def test_different_words_keep_different_stems(a: str, b: str) -> None:
    assert key(a) != key(b)


def test_a_word_matches_its_inflections_and_spans_point_at_the_original() -> None:
    d = detector(query="explosion AND Kyiv")
    finding = d.evaluate(ArticleContext(title="Explosions heard in Kyiv"))
    assert finding is not None
    assert finding.evidence["spans"]["title"][0] == ["explosion", [0, 10]]
    assert d.evaluate(ArticleContext(title="A drone exploded over Kyiv")) is not None
    assert d.evaluate(ArticleContext(title="Kyiv explores new routes")) is None


def test_cyrillic_terms_match_inflections_without_a_star() -> None:
    d = detector(any=["обстріл", "обстрел"])
    assert d.evaluate(ArticleContext(title="Унаслідок обстрілів Харківщини загинули двоє")) is not None
    assert d.evaluate(ArticleContext(title="Последствия обстрелов Донецка")) is not None
    assert d.evaluate(ArticleContext(title="Обстановка на фронті")) is None


def test_quotes_and_the_equals_marker_keep_a_term_exact() -> None:
    stemmed, marked, quoted = (
        detector(query="shelling"),
        detector(query="=shelling"),
        detector(query='"air raid"'),
    )
    shell_news = ArticleContext(title="Shell posts record profit")
    assert stemmed.evaluate(shell_news) is not None  # the stem of shelling is shell
    assert marked.evaluate(shell_news) is None
    assert marked.evaluate(ArticleContext(title="Shelling of Kharkiv")) is not None
    assert quoted.evaluate(ArticleContext(title="An air raid on Lviv")) is not None
    assert quoted.evaluate(ArticleContext(title="Air raids on Lviv")) is None
    assert detector(query="air NEAR/0 raid").evaluate(ArticleContext(title="Air raids on Lviv")) is not None


def test_list_terms_are_stemmed_unless_marked() -> None:
    assert (
        detector(any=["prisoner exchange"]).evaluate(ArticleContext(title="Prisoners exchanged")) is not None
    )
    assert detector(any=["=prisoner exchange"]).evaluate(ArticleContext(title="Prisoners exchanged")) is None
    assert (
        detector(any=['"prisoner exchange"']).evaluate(ArticleContext(title="A prisoner exchange"))
        is not None
    )


def test_prefix_terms_still_match_word_beginnings() -> None:
    d = detector(query="negotiat*")
    assert d.evaluate(ArticleContext(title="Negotiators meet")) is not None
    assert d.evaluate(ArticleContext(title="Talks resume")) is None
