"""Many phrases found in one pass over a text (Aho-Corasick, via pyahocorasick).

Entity aliases and the gazetteer's hundreds of thousands of place names are
matched together in time linear in the text, whatever their number. Phrases
and text are folded alike (``detectors.text.fold``), and a hit counts only at
word boundaries; a phrase ending in ``*`` may run on into the word
(``Києв*`` finds ``Києві``, inflected), and a ``cased`` phrase must start
with a capital in the original text (``Nice`` the city, not "nice").
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import ahocorasick

from detectors.text import FieldText, fold


@dataclass(frozen=True)
class Hit:
    payload: Hashable
    phrase: str
    start: int
    end: int


class Phrasebook:
    """Add phrases with a payload, ``freeze``, then ``find`` them in texts."""

    def __init__(self) -> None:
        self._automaton = ahocorasick.Automaton()
        self._entries: dict[str, list[tuple[Hashable, str, bool, bool]]] = {}
        self._frozen = False

    def add(self, phrase: str, payload: Hashable, *, cased: bool = False) -> None:
        prefix = phrase.endswith("*")
        key = fold(phrase.rstrip("*").strip())
        if len(key) < 2 or self._frozen:
            return
        self._entries.setdefault(key, []).append((payload, phrase.rstrip("*"), prefix, cased))

    def freeze(self) -> Phrasebook:
        for key, entries in self._entries.items():
            self._automaton.add_word(key, (key, tuple(entries)))
        if self._entries:
            self._automaton.make_automaton()
        self._frozen = True
        return self

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, field: FieldText) -> list[Hit]:
        if not self._entries or not field.text:
            return []
        text, original = field.folded, field.text
        hits = []
        for last, (key, entries) in self._automaton.iter(text):
            start = last - len(key) + 1
            if start > 0 and text[start - 1].isalnum():
                continue
            whole = last + 1 >= len(text) or not text[last + 1].isalnum()
            end = last + 1
            if not whole:
                while end < len(text) and text[end].isalnum():
                    end += 1
            for payload, phrase, prefix, cased in entries:
                if not whole and not prefix:
                    continue
                if cased and original[start].islower():
                    continue
                hits.append(Hit(payload, phrase, start, end if prefix else last + 1))
        return hits
