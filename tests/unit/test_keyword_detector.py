"""``kind: keyword``: accent/case folding, word boundaries in any script, any/all/none."""

from __future__ import annotations

from detectors.base import ArticleText
from detectors.keyword import KeywordSpec


def detector(**fields: object):
    return KeywordSpec.model_validate({"id": "d", "kind": "keyword", **fields}).build()


def test_fires_on_any_term_with_spans() -> None:
    finding = detector(any=["prisoners of war"]).evaluate(
        ArticleText(title="Kremlin: exchange of 175 Prisoners of War on Wednesday")
    )
    assert finding is not None
    assert finding.evidence["matched_terms"] == ["prisoners of war"]
    assert finding.evidence["spans"]["title"]["prisoners of war"] == [(25, 41)]


def test_accents_case_and_cyrillic_word_boundaries() -> None:
    d = detector(any=["Київ", "Zelensky"])
    assert d.evaluate(ArticleText(title="Повітряна тривога у Київ сьогодні")) is not None
    assert d.evaluate(ArticleText(title="ZÉLENSKY speaks")) is not None
    assert d.evaluate(ArticleText(title="Київстар відновив зв'язок")) is None


def test_all_and_none() -> None:
    d = detector(all=["ceasefire", "energy"], none=["football"])
    assert d.evaluate(ArticleText(summary="Ceasefire on energy infrastructure agreed")) is not None
    assert d.evaluate(ArticleText(summary="Ceasefire talks continue")) is None
    assert d.evaluate(ArticleText(summary="Ceasefire energy football")) is None


def test_only_chosen_fields_are_searched() -> None:
    d = detector(any=["ceasefire"], fields=["title"])
    assert d.evaluate(ArticleText(title="Talks", summary="ceasefire")) is None
