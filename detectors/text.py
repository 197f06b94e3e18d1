"""Text as detectors see it: folded (case and accents), split into words with their spans.

Folding is per character and keeps length (``Zélensky`` → ``zelensky``, one
character for one), so a span found in folded text is the span in the
original. Words are runs of Unicode letters and digits (Cyrillic, Arabic,
Greek ... as well as Latin, so ``Київ`` is one word and ``Київстар`` another);
Chinese, Japanese and Thai are written without spaces, so each of their
characters is a word of its own and a term in them matches as a phrase of
characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property

_NO_SPACES = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_NO_SPACES}]|[^\W_{_NO_SPACES}]+(?:['’][^\W_{_NO_SPACES}]+)*")


@cache
def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base if len(base) == 1 else ch.lower() if len(ch.lower()) == 1 else ch


def fold(text: str) -> str:
    """Lowercase and strip accents, one character for one: ``Zélensky`` → ``zelensky``."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


def words(text: str) -> list[str]:
    """The folded words of ``text`` (for terms and queries)."""
    return [m.group() for m in _WORD.finditer(fold(text))]


@dataclass(frozen=True)
class Token:
    word: str
    start: int
    end: int


class FieldText:
    """One article field, folded and tokenized once, shared by every detector that reads it."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def folded(self) -> str:
        return fold(self.text)

    @cached_property
    def tokens(self) -> list[Token]:
        return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(self.folded)]

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        """Word → its token positions, for phrase and proximity matching."""
        index: dict[str, list[int]] = {}
        for i, token in enumerate(self.tokens):
            index.setdefault(token.word, []).append(i)
        return index

    def phrase(self, phrase: tuple[str, ...], prefix: bool = False) -> list[tuple[int, int]]:
        """Token ranges ``[start, end)`` where the words of ``phrase`` occur in order.

        With ``prefix`` the last word matches any word it begins (``negotiat*``).
        """
        if not phrase:
            return []
        tokens = self.tokens
        if prefix and len(phrase) == 1:
            stem = phrase[0]
            return [(i, i + 1) for i, t in enumerate(tokens) if t.word.startswith(stem)]
        starts = self.positions.get(phrase[0], [])
        hits = []
        n = len(phrase)
        for i in starts:
            if i + n > len(tokens):
                continue
            ok = all(tokens[i + k].word == phrase[k] for k in range(1, n - 1 if prefix else n))
            if ok and prefix:
                ok = tokens[i + n - 1].word.startswith(phrase[-1])
            if ok:
                hits.append((i, i + n))
        return hits

    def char_span(self, first: int, end: int) -> tuple[int, int]:
        """Character span of tokens ``[first, end)`` in the original text."""
        return self.tokens[first].start, self.tokens[end - 1].end
