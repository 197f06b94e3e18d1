"""Fact agreement between two news texts: the numbers, names and wording they share.

Near-duplicate means the same report, not the same topic. Sentence embeddings
place "175 prisoners were exchanged" and "90 prisoners were exchanged" close
together; for a news monitor the second may be the news. So the decision looks
at the facts too: numbers that conflict (neither set contains the other),
places that conflict (two reports of shelling, one in Mariupol, one in
Kharkiv: cities and regions from the gazetteer, any spelling it knows),
named people and places that differ, and plain word overlap. The features
below feed a small logistic model (``streams.dedup.decision``) whose weights
were fitted on the MRPC news paraphrase corpus (see docs/architecture.md for the method
and figures); extraction is regex-only and costs microseconds per text.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detectors.gazetteer import Gazetteer, Place
from detectors.text import FieldText, lazy

# a scale word (or its stem: "175 тисяч", "1,5 миллиарда") after a number multiplies it
_SCALES = {
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9, "m": 1e6,
    "тис": 1e3, "тыс": 1e3, "млн": 1e6, "мільйон": 1e6, "миллион": 1e6,
    "млрд": 1e9, "мільярд": 1e9, "миллиард": 1e9,
}  # fmt: skip
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    rf"(?:\s*({'|'.join(sorted(_SCALES, key=len, reverse=True))})[а-яіїє]*\b\.?)?",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "hundred": 100,
    "dozen": 12,
    # Ukrainian, the forms news counts people and things with (п'ять and дев'ять split at the apostrophe)
    "двоє": 2, "дві": 2, "двох": 2, "три": 3, "троє": 3, "трьох": 3, "чотири": 4, "четверо": 4,
    "чотирьох": 4, "шість": 6, "шестеро": 6, "шістьох": 6, "сім": 7, "семеро": 7, "вісім": 8,
    "восьмеро": 8, "десять": 10, "десятеро": 10, "двадцять": 20, "тридцять": 30, "сто": 100,
    # Russian (the forms it shares with Ukrainian are above)
    "два": 2, "две": 2, "двое": 2, "трое": 3, "трех": 3, "трёх": 3, "четыре": 4, "четырех": 4,
    "четырёх": 4, "пять": 5, "пятеро": 5, "пяти": 5, "шесть": 6, "семь": 7,
    "восемь": 8, "девять": 9, "двадцать": 20, "тридцать": 30,
}  # fmt: skip
_NUMBER_WORD_SET = frozenset(_NUMBER_WORDS)
_WORD = re.compile(r"\w+", re.UNICODE)
# a capitalised word, in any script with case (Latin, Cyrillic, Greek...)
_NAME = re.compile(r"\b[^\W\d_a-zа-яёіїєґ][\w'’-]+", re.UNICODE)
_NOT_NAMES_TEXT = """
the a an in on at for and but or if as by of to from with he she it they we i you his her its
their our this that these those mr mrs ms dr after before when while there here said says
monday tuesday wednesday thursday friday saturday sunday
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


@dataclass(frozen=True)
class Facts:
    """What one text states, as far as a regex can tell.

    ``places`` is read from the title on first use: the gazetteer lookup costs
    more than the rest together, and the sequencer needs it only for the few
    pairs that the model would call the same report, or that would join a story.
    """

    numbers: frozenset[float]
    names: frozenset[str]
    words: frozenset[str]
    length: int
    title: str = ""  # the first line: where ``places`` are read
    bigrams: frozenset[tuple[str, str]] = frozenset()  # adjacent word pairs
    word_count: int = 0

    @lazy
    def places(self) -> frozenset[PlaceMention]:
        """Cities, and regions named after them, that the title names (``places_in``)."""
        return places_in(self.title)


_REGION_WORDS = frozenset(["region", "regions", "oblast", "oblasts", "province", "district", "raion"])
_PLACE_WORDS = _REGION_WORDS | {"city", "direction", "area", "areas", "npp", "tpp"}
_NEXT_WORD = re.compile(r"(?:[ \t]+|-)([^\W\d_][\w'’]*)", re.UNICODE)  # "Vladimir Putin", not "Kyiv - Lviv"
_SAYS = frozenset(
    (
        "says", "said", "say", "claims", "claimed", "accuses", "accused", "denies", "denied", "warns",
        "warned", "insists", "confirms", "confirmed", "reports", "reported", "announces", "announced",
        "vows", "urges",
    )
)  # fmt: skip
_BY = re.compile(r"\bby\s*$")
_ATTRIBUTION = re.compile(r"[:\-–—]\s*$")  # "...: Kyiv", "... - Moscow"
_END = re.compile(r"^\s*[)\]\s.]*$")


def _speaker(title: str, start: int, end: int) -> bool:
    """The place speaks: "claimed by Moscow", or named last after a colon or dash ("...: Kyiv")."""
    before = title[max(0, start - 12) : start]
    return bool(_BY.search(before)) or bool(_ATTRIBUTION.search(before) and _END.match(title[end:]))


NEAR_KM = 25.0  # two places closer than this may be one incident (a city and its suburb)


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A city a headline names, or the region named after it ("Kharkiv region")."""

    place: Place
    region: bool = False

    @property
    def label(self) -> str:
        return f"{self.place.name}|{self.place.country}" + (" region" if self.region else "")

    def covered_by(self, other: PlaceMention) -> bool:
        """Could both name the same incident's place: one place, one region, or within NEAR_KM?"""
        a, b = self.place, other.place
        if a == b:
            return True
        if self.region or other.region:
            return bool(a.admin1) and (a.country, a.admin1) == (b.country, b.admin1)
        return _km(a, b) <= NEAR_KM


def _km(a: Place, b: Place) -> float:
    la, lb = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lb - la, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(la) * math.cos(lb) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def prepare() -> None:
    """Build the gazetteer now (about a second), so the first article does not pay for it."""
    Gazetteer.shared().book  # noqa: B018


def places_in(text: str, gazetteer: Gazetteer | None = None) -> frozenset[PlaceMention]:
    """The cities (and regions named after them) a headline names, whatever the spelling.

    The title only (the first line): leads list the places around the event
    ("... in the Kramatorsk and Bakhmut directions"), and two reports of one
    strike differ there more than in their headlines. Countries are left out:
    "Ukraine" and "Kyiv" name the same side of most reports, and a country
    contains its cities. A name followed by another capitalised word is a
    person's or a thing's ("Vladimir Putin", "Washington Post"), not a place.
    """
    title = text.split("\n", 1)[0]
    found = set()
    for place, _, (start, end) in (gazetteer or Gazetteer.shared()).find(FieldText(title)):
        if place.kind != "city":
            continue
        following = _NEXT_WORD.match(title, end)
        word = following.group(1) if following else ""
        if word[:1].isupper() and word.lower() not in _PLACE_WORDS:
            continue
        if word.lower() in _SAYS or _speaker(title, start, end):
            continue  # "Kyiv says", "... - Moscow": the government, not the place
        region = word.lower() in _REGION_WORDS
        found.add(PlaceMention(place, region))
    return frozenset(found)


def extract_facts(text: str) -> Facts:
    return _extract(text)[0]


def extract_packed(text: str) -> tuple[Facts, str]:
    """The facts of ``text`` and the same facts packed for storage (``unpack_facts``).

    The sequencer stores them in the article's window entry: every later
    article compares with its nearest earlier ones, and unpacking costs a
    fraction of extracting again (the regexes over a 1,000-character lead).
    """
    facts, tokens = _extract(text)
    packed = [sorted(facts.numbers), sorted(facts.names), " ".join(tokens), facts.length]
    return facts, json.dumps(packed, ensure_ascii=False, separators=(",", ":"))


def unpack_facts(packed: str, text: str) -> Facts:
    """What ``extract_packed`` stored, for the text it came from (its title gives the places)."""
    numbers, names, joined, length = json.loads(packed)
    words = joined.split(" ") if joined else []
    return _facts(frozenset(numbers), frozenset(names), words, length, text)


def _extract(text: str) -> tuple[Facts, list[str]]:
    numbers: set[float] = set()
    for match in _NUMBER.finditer(text):
        value = float(match.group(1).replace(",", ""))
        value *= _SCALES.get((match.group(2) or "").lower(), 1.0)
        numbers.add(round(value, 6))
    words = list(map(str.lower, _WORD.findall(text)))
    numbers.update(float(_NUMBER_WORDS[w]) for w in _NUMBER_WORD_SET.intersection(words))
    names = {n.lower() for n in _NAME.findall(text)} - _NOT_NAMES
    return _facts(frozenset(numbers), frozenset(names), words, len(text), text), words


def _facts(
    numbers: frozenset[float], names: frozenset[str], words: list[str], length: int, text: str
) -> Facts:
    return Facts(
        numbers,
        names,
        frozenset(words),
        length,
        text.split("\n", 1)[0],
        bigrams=frozenset(itertools.pairwise(words)),
        word_count=len(words),
    )


def place_conflict(a: Facts, b: Facts) -> bool:
    """Both name places and neither's are all near the other's: reports of two places, two reports.

    Like conflicting numbers: a headline that adds a place to the other's
    ("Kyiv says strikes hit Kharkiv" ~ "Strikes hit Kharkiv") is a detail, not
    another report; a city and its region, or two places within ``NEAR_KM``,
    may be one incident.
    """
    pa, pb = a.places, b.places
    if not pa or not pb:
        return False
    a_in_b = all(any(x.covered_by(y) for y in pb) for x in pa)
    b_in_a = all(any(y.covered_by(x) for x in pa) for y in pb)
    return not (a_in_b or b_in_a)


FEATURES = (
    "cosine",
    "number_conflict",  # both state numbers and neither set contains the other
    "numbers_differ",  # the sets are not equal (one may just add a detail)
    "number_jaccard",
    "name_jaccard",
    "name_conflict",  # each names someone or somewhere the other does not
    "word_jaccard",
    "length_ratio",
    # MRPC's "related but different" pairs mostly add a clause to one side: how much of each text
    # the other covers (the less covered side first), in words and in word pairs, and the gap in
    # words (per ten, capped at 3) see what one Jaccard cannot
    "word_cover_low",
    "word_cover_high",
    "bigram_cover_low",
    "bigram_cover_high",
    "word_count_gap",
)


def _jaccard(a: frozenset[float] | frozenset[str], b: frozenset[float] | frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


Tokens = frozenset[str] | frozenset[tuple[str, str]]


def _coverage(a: Tokens, b: Tokens) -> tuple[float, float]:
    """(lower, higher) of the shares of ``a`` in ``b`` and of ``b`` in ``a``."""
    if not a or not b:
        return (1.0, 1.0) if not a and not b else (0.0, 0.0)
    shared = len(a & b)
    first, second = shared / len(a), shared / len(b)
    return (first, second) if first <= second else (second, first)


def pair_features(a: Facts, b: Facts, cosine: float) -> npt.NDArray[np.float64]:
    """The feature vector of a pair, in the order of ``FEATURES``."""
    na, nb = a.numbers, b.numbers
    conflict = bool(na) and bool(nb) and not (na <= nb or nb <= na)
    return np.array(
        [
            cosine,
            float(conflict),
            float(na != nb),
            _jaccard(na, nb),
            _jaccard(a.names, b.names),
            float(bool(a.names - b.names) and bool(b.names - a.names)),
            _jaccard(a.words, b.words),
            min(a.length, b.length) / max(a.length, b.length, 1),
            *_coverage(a.words, b.words),
            *_coverage(a.bigrams, b.bigrams),
            min(abs(a.word_count - b.word_count) / 10.0, 3.0),
        ],
        dtype=np.float64,
    )
