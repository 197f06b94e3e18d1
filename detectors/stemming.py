"""Word stems, so a keyword matches the inflections of a word: ``explosion`` ~ ``explosions``.

Search engines analyse both the query and the text with the same stemmer; so
do we, one folded word at a time (``detectors.text``):

* Latin script: Snowball English (Porter2, from PyStemmer), plus two steps it
  lacks: a small table of irregular verbs (``struck`` → ``strike``) and the
  Latin ``-sion``/``-sive`` family joined to its verb (``explosion``,
  ``explosive`` ~ ``explode``; ``invasion`` ~ ``invade``; ``decision`` ~
  ``decide``), the derivation news about attacks needs most.
* Cyrillic with a Ukrainian letter (і ї є ґ): a light suffix stripper written
  here, because Snowball (and so PyStemmer and snowballstemmer) has no
  Ukrainian, and the lemmatizers that do (simplemma) cost 60+ MB per worker.
* Other Cyrillic: Snowball Russian. Ukrainian forms without a Ukrainian
  letter (``удари``, ``ракета``) land here too; both strippers cut the shared
  endings alike, so ``удари`` and ``ударів`` still meet at ``удар``.
* Any other script: the folded word itself.

A stem is a matching key, not a word to show: the evidence spans point at
the original text. Stems are cached per word (a news vocabulary repeats).
"""

from __future__ import annotations

import re

import Stemmer

_ENGLISH = Stemmer.Stemmer("english")
_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH.maxCacheSize = _RUSSIAN.maxCacheSize = 0  # our own cache below holds the final key

_IRREGULAR = {
    # past forms Porter2 leaves alone, of verbs news about violence and talks uses
    "struck": "strike",
    "stricken": "strike",
    "shot": "shoot",
    "fought": "fight",
    "fled": "flee",
    "blew": "blow",
    "blown": "blow",
    "took": "take",
    "taken": "take",
    "shook": "shake",
    "shaken": "shake",
    "brought": "bring",
    "caught": "catch",
    "lost": "lose",
    "slain": "slay",
    "slew": "slay",
    "woke": "wake",
    "spoke": "speak",
    "spoken": "speak",
    "held": "hold",
    "met": "meet",
    "sent": "send",
    "risen": "rise",
    "fell": "fall",
    "fallen": "fall",
    "froze": "freez",
    "frozen": "freez",
    "sank": "sink",
    "sunk": "sink",
    "threw": "throw",
    "thrown": "throw",
}

_SION = re.compile(r"[aeiou]s(?:ion|ions|ive|ives)$")
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-z]")

_UK_VOWELS = frozenset("аеиіїоуюяє")
# longest first; the first that ends the word inside the stem's region is cut
_UK_REFLEXIVE = ("ся", "сь")
_UK_ENDINGS = tuple(
    sorted(
        {
            # verbs: infinitive, present, the -ува-/-ну- past (plain past tense: see _UK_AFTER_A)
            "ували",
            "увала",
            "увало",
            "ував",
            "ують",
            "ує",
            "увати",
            "нули",
            "нула",
            "нуло",
            "нув",
            "нути",
            "ати",
            "яти",
            "ити",
            "іти",
            "оти",
            "ути",
            "ать",
            "ять",
            "ить",
            "уть",
            "ють",
            "ємо",
            "емо",
            "имо",
            "ете",
            "єте",
            "ите",
            "ає",
            "яє",
            # nouns and adjectives, every case
            "ами",
            "ями",
            "ові",
            "еві",
            "єві",
            "ого",
            "ього",
            "ому",
            "ьому",
            "ими",
            "іми",
            "ів",
            "їв",
            "ах",
            "ях",
            "ою",
            "ею",
            "єю",
            "ий",
            "ій",
            "ої",
            "ьої",
            "их",
            "іх",
            "им",
            "ім",
            "ом",
            "ем",
            "єм",
            "ую",
            "юю",
            "ая",
            "яя",
            "ії",
            "ння",
            "і",
            "ї",
            "и",
            "а",
            "я",
            "у",
            "ю",
            "о",
            "е",
            "є",
            "ь",
            "й",
        },
        key=len,
        reverse=True,
    )
)
# past tense cut only after а/я, as Snowball Russian does: "обстріли" is a plural noun
_UK_AFTER_A = ("ли", "ла", "ло")
_UK_KEEP = 2  # letters the stem keeps after its first vowel, at least


def _ukrainian(word: str) -> str:
    start = next((i + 1 for i, ch in enumerate(word) if ch in _UK_VOWELS), len(word))
    for ending in _UK_REFLEXIVE:
        if word.endswith(ending) and len(word) - len(ending) >= start + _UK_KEEP:
            word = word[: -len(ending)]
            break
    for ending in _UK_AFTER_A:
        if word.endswith(ending) and word[-3:-2] in ("а", "я") and len(word) - 2 >= start + _UK_KEEP:
            return word[:-2]
    for ending in _UK_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= start + _UK_KEEP - 1:
            word = word[: -len(ending)]
            break
    return word[:-1] if word.endswith("ь") else word


def _english(word: str) -> str:
    irregular = _IRREGULAR.get(word)
    if irregular is not None:
        return irregular
    stemmed: str = _ENGLISH.stemWord(word)
    if _SION.search(word) and stemmed.endswith("s"):
        return stemmed[:-1] + "d"  # explos(ion) → explod, the stem of explode
    return stemmed


def _stem(word: str) -> str:
    if word.isascii():
        return _english(word) if _LATIN.search(word) else word
    if _CYRILLIC.search(word):
        if not _UKRAINIAN_LETTERS.isdisjoint(word):
            return _ukrainian(word)
        stemmed: str = _RUSSIAN.stemWord(word)
        return stemmed
    return word


class _StemTable(dict[str, str]):
    """Word → stem, computed the first time a word is seen: a lookup is a C dict access."""

    limit = 200_000  # distinct words; a day of world news has about 100,000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        found = self[word] = _stem(word)
        return found


STEMS = _StemTable()
stems_of = STEMS.__getitem__  # for map(): no Python frame per word


def stem(word: str) -> str:
    """The matching key of one folded word (see the module docstring)."""
    return STEMS[word]
