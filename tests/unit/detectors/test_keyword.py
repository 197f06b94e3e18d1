"""``kind: keyword``: accent/case folding, word boundaries in any script, any/all/none."""

from __future__ import annotations

import re

import pytest

from detectors.base import ArticleContext
from detectors.keyword import KeywordSpec
from detectors.query import QuerySyntaxError, parse


def detector(**fields: object):
    return KeywordSpec.model_validate({"id": "d", "kind": "keyword", **fields}).build(None)


def test_fires_on_any_term_with_spans() -> None:
    finding = detector(any=["prisoners of war"]).evaluate(
        ArticleContext(title="Kremlin: exchange of 175 Prisoners of War on Wednesday")
    )
    assert finding is not None
    assert finding.evidence["matched_terms"] == ["prisoners of war"]
    assert finding.evidence["spans"]["title"] == [["prisoners of war", [25, 41]]]


def test_accents_case_and_cyrillic_word_boundaries() -> None:
    d = detector(any=["Київ", "Zelensky"])
    assert d.evaluate(ArticleContext(title="Повітряна тривога у Київ сьогодні")) is not None
    assert d.evaluate(ArticleContext(title="ZÉLENSKY speaks")) is not None
    assert d.evaluate(ArticleContext(title="Київстар відновив зв'язок")) is None


def test_all_and_none() -> None:
    d = detector(all=["ceasefire", "energy"], none=["football"])
    assert d.evaluate(ArticleContext(summary="Ceasefire on energy infrastructure agreed")) is not None
    assert d.evaluate(ArticleContext(summary="Ceasefire talks continue")) is None
    assert d.evaluate(ArticleContext(summary="Ceasefire energy football")) is None


def test_only_chosen_fields_are_searched() -> None:
    d = detector(any=["ceasefire"], fields=["title"])
    assert d.evaluate(ArticleContext(title="Talks", summary="ceasefire")) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "the query is empty"),
        ("(ceasefire OR truce", "')' is missing at the end"),
        ("ceasefire OR", "a word, a phrase or '(' is missing at the end"),
        ("AND ceasefire", "a word or phrase is expected, not 'AND', at character 1"),
        ("(a AND b) NEAR/3 c", "NEAR joins words, phrases or (a OR b ...) groups"),
        ('"—"', "has no letters or digits"),
    ],
)
def test_query_errors_say_where(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=re.escape(message)):
        parse(query)


def test_chinese_terms_match_without_spaces() -> None:
    d = detector(query="停火 AND 能源")
    assert d.evaluate(ArticleContext(title="俄罗斯同意停止打击能源设施，但拒绝全面停火")) is not None
    assert d.evaluate(ArticleContext(title="俄罗斯拒绝全面停火")) is None


def test_near_counts_words_between_either_order() -> None:
    d = detector(query="prisoners NEAR/2 exchange")
    assert d.evaluate(ArticleContext(title="prisoners of war exchange")) is not None  # 2 words between
    assert d.evaluate(ArticleContext(title="exchange of all the prisoners")) is None  # 3 words between


def test_same_event_names_the_event_by_its_captured_values() -> None:
    d = detector(
        any=["prisoners"],
        capture={"count": r"(\d[\d,]*) prisoners"},
        same_event=["count"],
        same_event_window="2d",
    )
    finding = d.evaluate(ArticleContext(title="Kyiv: 1,000 prisoners exchanged"))
    assert finding is not None
    assert finding.event == "1000"  # "1,000" and "1000" are one count
    assert finding.event_window == 2 * 86400
    uncounted = d.evaluate(ArticleContext(title="More prisoners exchanged"))
    assert uncounted is not None
    assert uncounted.event == ""  # nothing captured: no event to hold others by
    with pytest.raises(ValueError, match="same_event names"):
        detector(any=["prisoners"], same_event=["count"])


def test_a_page_is_read_paragraph_by_paragraph() -> None:
    d = detector(query="(missile NEAR/3 (strike OR hit)) NOT (could OR plans)")
    page = "\n".join(
        [
            "A Russian missile hit a fuel depot on the edge of the city on Tuesday night, regional officials "
            "said, and the fire it started burned until morning while firefighters kept it from the houses.",
            "Rescue teams worked through the night to clear the rubble from the depot, and the regional "
            "governor said on Wednesday that two workers had been taken to hospital with burns.",
            "Analysts said Moscow could try to widen the campaign against fuel and power sites in the coming "
            "weeks, as it did in the first winter of the war, before air defences were reinforced.",
        ]
    )
    finding = d.evaluate(ArticleContext(title="Night attack", content=page))
    assert finding is not None  # the third paragraph's "could" does not veto the first's report
    assert finding.evidence["passage"] == 0
    # the same words as one block (a feed's text): NOT applies to the whole of it
    assert d.evaluate(ArticleContext(title="Night attack", content=page.replace("\n", " "))) is None
    # NEAR never reaches from one paragraph into the next
    apart = "Officials inspected a missile. " * 8 + "\n" + "A strike was called at the port. " * 8
    assert d.evaluate(ArticleContext(title="Inspection", content=apart)) is None
    # the title goes with every paragraph: a NOT there still vetoes the page
    assert d.evaluate(ArticleContext(title="Russia could strike again", content=page)) is None
