"""NTREX-128 (Microsoft, CC BY-SA 4.0): 1,997 news sentences of 123 documents, in en, uk and ru.

Parallel text, the same sentences in three languages, so a language-ID or a
cross-lingual test compares like with like. It is not in ``../shared`` and we
commit none of it: point ``WIREWATCH_NTREX_DIR`` at a checkout of
``MicrosoftTranslator/NTREX`` (the folder holding ``NTREX-128/`` and
``DOCUMENT_IDS.tsv``) or at a folder holding those files flat. Benchmarks that
need it skip without it and say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

FILES = {
    "en": "newstest2019-src.eng.txt",
    "uk": "newstest2019-ref.ukr.txt",
    "ru": "newstest2019-ref.rus.txt",
}


@dataclass(frozen=True)
class Ntrex:
    lines: dict[str, list[str]]  # language → the 1,997 aligned lines
    documents: list[str]  # the document id of each line

    @property
    def headlines(self) -> list[int]:
        """Line numbers of each document's first line: its headline."""
        return [i for i, doc in enumerate(self.documents) if i == 0 or doc != self.documents[i - 1]]


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / "NTREX-128" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name} not under {folder}")


def load_ntrex() -> Ntrex:
    """The en/uk/ru lines, or a skip that says how to get them."""
    where = os.environ.get("WIREWATCH_NTREX_DIR")
    if not where:
        pytest.skip("WIREWATCH_NTREX_DIR is not set: a checkout of MicrosoftTranslator/NTREX (see ntrex.py)")
    folder = Path(where)
    documents = _find(folder, "DOCUMENT_IDS.tsv").read_text("utf-8").splitlines()
    lines = {lang: _find(folder, name).read_text("utf-8").splitlines() for lang, name in FILES.items()}
    count = len(documents)
    if any(len(text) != count for text in lines.values()):
        sizes = [len(text) for text in lines.values()]
        raise ValueError(f"NTREX files are not aligned: {sizes} lines vs {count} ids")
    return Ntrex(lines, documents)
