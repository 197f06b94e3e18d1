"""Fact extraction and agreement features: the part of the near-duplicate decision embeddings miss."""

from __future__ import annotations

import pytest

from streams.dedup.facts import (
    FEATURES,
    extract_facts,
    extract_packed,
    pair_features,
    place_conflict,
    unpack_facts,
)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Russia and Ukraine exchanged 175 prisoners of war", {175.0}),
        ("a deal worth $2.5 billion, up from 1,200 million", {2.5e9, 1.2e9}),
        ("a 30-day ceasefire on energy infrastructure", {30.0}),
        ("two drones and a dozen missiles", {2.0, 12.0}),
        ("version v2 and ID x3 are not quantities", set()),
        # Ukrainian and Russian: counts as words, scales as words or abbreviations
        ("Ракетний удар по Харкову: загинули троє людей", {3.0}),
        ("Ракетный удар по Харькову: погибли три человека", {3.0}),
        ("Уряд виділить 175 тисяч гривень і ще 2 млн. доларів", {175e3, 2e6}),
        ("Ущерб оценили в 1.5 миллиарда рублей", {1.5e9}),
    ],
)
def test_numbers_are_read_with_their_scale(text: str, numbers: set[float]) -> None:
    assert extract_facts(text).numbers == numbers


def test_names_in_any_cased_script_but_not_sentence_words_or_weekdays() -> None:
    assert extract_facts("On Tuesday Zelenskyy spoke to Trump in Kyiv.").names == {
        "zelenskyy",
        "trump",
        "kyiv",
    }
    assert extract_facts("Повітряна тривога у Києві після розмови Трампа з Путіним").names == {
        "повітряна",
        "києві",
        "трампа",
        "путіним",
    }


def feature(a: str, b: str, name: str, cosine: float = 0.9) -> float:
    return float(pair_features(extract_facts(a), extract_facts(b), cosine)[FEATURES.index(name)])


def test_conflicting_numbers_are_a_conflict_an_added_detail_is_not() -> None:
    first = "Russia and Ukraine exchanged 175 prisoners of war on Wednesday"
    assert (
        feature(first, "Russia and Ukraine exchanged 90 prisoners of war on Wednesday", "number_conflict")
        == 1
    )
    added = "Russia and Ukraine exchanged 175 prisoners of war; 22 were wounded"
    assert feature(first, added, "number_conflict") == 0
    assert feature(first, added, "numbers_differ") == 1
    assert feature(first, first, "numbers_differ") == 0
    assert feature(first, first, "number_jaccard") == 1


def test_different_people_or_places_are_a_name_conflict() -> None:
    kyiv = "An air-raid alarm sounded in Kyiv after the call"
    assert feature(kyiv, "An air-raid alarm sounded in Kharkiv after the call", "name_conflict") == 1
    assert feature(kyiv, "An air-raid alarm sounded in Kyiv and Odesa after the call", "name_conflict") == 0


def test_feature_vector_order_and_bounds() -> None:
    vector = pair_features(extract_facts("A b 1"), extract_facts("C d e f 2"), 0.5)
    assert vector.shape == (len(FEATURES),)
    assert vector[0] == 0.5
    assert all(0.0 <= v <= 1.0 for v in vector)


@pytest.mark.parametrize(
    ("a", "b", "conflict"),
    [
        ("Aftermath of shelling in Mariupol", "Aftermath of shelling in Kharkiv", True),
        ("Damaged school in Donetsk", "Damaged school in Kharkiv", True),
        ("Russian missiles hit Kyiv, Ukraine says", "Kiev hit by Russian missiles", False),  # spellings
        ("Explosions in Odesa", "Explosions in Odessa", False),
        # one adds a place to the other's: a detail, not another report
        ("Ukraine says Russian strikes hit Kharkiv region", "Kyiv says Russian strikes hit Kharkiv", False),
        ("Explosions reported overnight", "Explosions in Kharkiv overnight", False),
        ("Shelling in Kharkiv and Odesa", "Shelling in Kharkiv and Dnipro", True),
        # a city and the region it is in, or two places within 25 km: maybe one incident
        ("Russia shelled Kramatorsk", "Russia shelled Donetsk region", False),
        ("Russia shelled Kramatorsk", "Russia shelled Sloviansk", False),
        ("Russia shelled Kramatorsk", "Russia shelled Donetsk", True),  # the city, 80 km away
        ("Russia shelled Kharkiv region", "Russia shelled Donetsk region", True),
        # Ukrainian and Russian decline the names: "по Харкову", "в Одессе", "у Києві"
        ("Ракетний удар по Харкову", "Ракетний удар по Одесі", True),
        ("Ракетный удар по Харькову", "Missile strike on Kharkiv", False),
        ("Вибухи у Києві", "Взрывы в Киеве", False),
        ("Взрывы в Киеве", "Взрывы в Одессе", True),
    ],
)
def test_different_cities_conflict(a: str, b: str, conflict: bool) -> None:
    assert place_conflict(extract_facts(a), extract_facts(b)) is conflict


def test_places_are_cities_under_any_spelling_not_countries_nor_names() -> None:
    assert {p.label for p in extract_facts("Kiev and Ukraine, Russia").places} == {"Kyiv|UA"}
    assert extract_facts("Київ").places == extract_facts("Kyiv").places
    assert extract_facts("Вибухи у Києві").places == extract_facts("Kyiv").places  # a case form
    assert {p.label for p in extract_facts("Удар по Харькову и Запоріжжю").places} == {
        "Kharkiv|UA",
        "Zaporizhzhya|UA",
    }
    assert {p.label for p in extract_facts("Vladimir Putin warns Kharkiv region").places} == {
        "Kharkiv|UA region"
    }
    assert not extract_facts("Putin speaks\nThe lead mentions Kharkiv").places  # the headline's only


@pytest.mark.parametrize(
    "text",
    [
        "Russia and Ukraine swap 175 POWs\nThe exchange, brokered by the UAE, freed 175 prisoners each.",
        "Повітряна тривога у Києві після розмови Трампа з Путіним\nДва мільйони людей, 2,5 години.",
        "Shelling in Kharkiv region kills three",
        "",
    ],
)
def test_packed_facts_are_the_facts(text: str) -> None:
    facts, packed = extract_packed(text)
    assert facts == extract_facts(text)
    unpacked = unpack_facts(packed, text)
    assert unpacked == facts
    assert unpacked.places == facts.places == extract_facts(text).places
