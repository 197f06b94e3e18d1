"""Text as detectors see it: folded (case and accents), split into words with their spans.

Folding is per character and keeps length (``Zélensky`` → ``zelensky``, one
character for one; ``й`` and ``ї`` stay letters, the stemmers need them), so a
span found in folded text is the span in the original. Words are runs of
Unicode letters and digits (Cyrillic, Arabic, Greek ... as well as Latin,
so ``Київ`` is one word and ``Київстар`` another);
Chinese, Japanese and Thai are written without spaces, so each of their
characters is a word of its own and a term in them matches as a phrase of
characters. Each word also has a stem (``detectors.stemming``), so a term
matches the word's inflections; spans still come from the folded words.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from detectors.stemming import stems_of

T = TypeVar("T")


class lazy(Generic[T]):  # noqa: N801 — used like the decorator it replaces
    """``functools.cached_property`` without its lock.

    Python 3.11's version takes a lock on every first access; per-article
    values (an article's fields, folded text, words) are computed by one
    thread, millions of times, and the lock was a tenth of the detect stage.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> lazy[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | lazy[T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


_NO_SPACES = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_NO_SPACES}]|[^\W_{_NO_SPACES}]+(?:['’][^\W_{_NO_SPACES}]+)*")


_LETTERS_NOT_ACCENTS = frozenset("йї")  # letters of their own in Ukrainian and Russian, not и, і with a mark


def _fold_char(ch: str) -> str:
    if ch.lower() in _LETTERS_NOT_ACCENTS:
        return ch.lower()
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base if len(base) == 1 else ch.lower() if len(ch.lower()) == 1 else ch


class _FoldTable(dict[int, str]):
    """``str.translate`` table that folds each character once, the first time it is seen."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase and strip accents, one character for one: ``Zélensky`` → ``zelensky``."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def words(text: str) -> list[str]:
    """The folded words of ``text`` (for terms and queries)."""
    return [m.group() for m in _WORD.finditer(fold(text))]


class FieldText:
    """One article field, folded and tokenized once, shared by every detector that reads it.

    Phrase lookups are memoized too: a hundred detectors often ask for the
    same words.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._phrases: dict[tuple[tuple[str, ...], bool, bool], list[tuple[int, int]]] = {}

    @lazy
    def folded(self) -> str:
        return fold(self.text)

    @lazy
    def words(self) -> list[str]:
        return _WORD.findall(self.folded)

    @lazy
    def stems(self) -> list[str]:
        """The stem of each word, in order (``detectors.stemming``)."""
        return list(map(stems_of, self.words))

    @lazy
    def _spans(self) -> tuple[list[int], list[int]]:
        # only for evidence: most articles never need them
        starts, ends = [], []
        for m in _WORD.finditer(self.folded):
            starts.append(m.start())
            ends.append(m.end())
        return starts, ends

    @lazy
    def positions(self) -> dict[str, list[int]]:
        """Word → its token positions, for phrase and proximity matching."""
        return _positions(self.words)

    @lazy
    def stem_positions(self) -> dict[str, list[int]]:
        """Stem → its token positions."""
        return _positions(self.stems)

    def phrase(
        self, phrase: tuple[str, ...], prefix: bool = False, stemmed: bool = False
    ) -> list[tuple[int, int]]:
        """Token ranges ``[start, end)`` where the words of ``phrase`` occur in order.

        With ``prefix`` the last word matches any word it begins (``negotiat*``);
        with ``stemmed`` ``phrase`` holds stems, matched against the words' stems.
        """
        key = (phrase, prefix, stemmed)
        hits = self._phrases.get(key)
        if hits is None:
            hits = self._phrases[key] = self._find(phrase, prefix, stemmed)
        return hits

    def _find(self, phrase: tuple[str, ...], prefix: bool, stemmed: bool) -> list[tuple[int, int]]:
        if not phrase:
            return []
        words = self.stems if stemmed else self.words
        positions = self.stem_positions if stemmed else self.positions
        n = len(phrase)
        if prefix and n == 1:
            stem = phrase[0]
            return [(i, i + 1) for i, w in enumerate(words) if w.startswith(stem)]
        starts = positions.get(phrase[0])
        if not starts:
            return []
        if n == 1:
            return [(i, i + 1) for i in starts]
        hits = []
        for i in starts:
            if i + n > len(words):
                continue
            ok = all(words[i + k] == phrase[k] for k in range(1, n - 1 if prefix else n))
            if ok and prefix:
                ok = words[i + n - 1].startswith(phrase[-1])
            if ok:
                hits.append((i, i + n))
        return hits

    def char_span(self, first: int, end: int) -> tuple[int, int]:
        """Character span of tokens ``[first, end)`` in the original text."""
        starts, ends = self._spans
        return starts[first], ends[end - 1]


def _positions(tokens: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        index.setdefault(token, []).append(i)
    return index


class Vocabulary:
    """The distinct words (and stems) of some fields: sets for lookups, a sorted list for prefixes."""

    def __init__(self, fields: list[FieldText]) -> None:
        self.words: set[str] = set()
        for field in fields:
            self.words.update(field.words)

    @lazy
    def stems(self) -> set[str]:
        return set(map(stems_of, self.words))  # distinct words only: fewer lookups than every token

    @lazy
    def _sorted(self) -> list[str]:  # only queries with a prefix term need it
        return sorted(self.words)

    def has_prefix(self, stem: str) -> bool:
        i = bisect.bisect_left(self._sorted, stem)
        return i < len(self._sorted) and self._sorted[i].startswith(stem)
