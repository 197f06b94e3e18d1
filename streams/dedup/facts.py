"""Fact agreement between two news texts: the numbers, names and wording they share.

Near-duplicate means the same report, not the same topic. Sentence embeddings
place "175 prisoners were exchanged" and "90 prisoners were exchanged" close
together; for a news monitor the second may be the news. So the decision looks
at the facts too: numbers that conflict (neither set contains the other),
named people and places that differ, and plain word overlap. The features
below feed a small logistic model (``streams.dedup.decision``) whose weights
were fitted on the MRPC news paraphrase corpus (see docs/architecture.md for the method
and figures); extraction is regex-only and costs microseconds per text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion|bn|m)\b)?",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "hundred": 100,
    "dozen": 12,
}  # fmt: skip
_WORD = re.compile(r"\w+", re.UNICODE)
# a capitalised word, in any script with case (Latin, Cyrillic, Greek...)
_NAME = re.compile(r"\b[^\W\d_a-zа-яёіїєґ][\w'’-]+", re.UNICODE)
_NOT_NAMES_TEXT = """
the a an in on at for and but or if as by of to from with he she it they we i you his her its
their our this that these those mr mrs ms dr after before when while there here said says
monday tuesday wednesday thursday friday saturday sunday
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


@dataclass(frozen=True, slots=True)
class Facts:
    """What one text states, as far as a regex can tell."""

    numbers: frozenset[float]
    names: frozenset[str]
    words: frozenset[str]
    length: int


def extract_facts(text: str) -> Facts:
    numbers: set[float] = set()
    for match in _NUMBER.finditer(text):
        value = float(match.group(1).replace(",", ""))
        scale = (match.group(2) or "").lower()
        value *= _SCALES.get(scale, 1e9 if scale == "bn" else 1e6 if scale == "m" else 1.0)
        numbers.add(round(value, 6))
    words = [w.lower() for w in _WORD.findall(text)]
    numbers.update(float(_NUMBER_WORDS[w]) for w in words if w in _NUMBER_WORDS)
    names = {n.lower() for n in _NAME.findall(text)} - _NOT_NAMES
    return Facts(frozenset(numbers), frozenset(names), frozenset(words), len(text))


FEATURES = (
    "cosine",
    "number_conflict",  # both state numbers and neither set contains the other
    "numbers_differ",  # the sets are not equal (one may just add a detail)
    "number_jaccard",
    "name_jaccard",
    "name_conflict",  # each names someone or somewhere the other does not
    "word_jaccard",
    "length_ratio",
)


def _jaccard(a: frozenset[float] | frozenset[str], b: frozenset[float] | frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


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
        ],
        dtype=np.float64,
    )
