"""The Fundus evaluation set and its metric, ROUGE-LSum, reimplemented from its description.

The set (github.com/dobbersc/fundus-evaluation, MIT; the pages are their
publishers'): 80 English news pages as gzipped HTML and a gold body per page,
paragraphs in brackets optional. It is not in the repository: point
``WIREWATCH_FUNDUS_DIR`` at a checkout's ``dataset/`` folder.

The metric follows the set's scorer (Google's ``rouge-score`` with
``rougeLsum``, ``split_summaries=True``, no stemming), written here from its
description rather than imported: tokens are runs of ``[a-z0-9]`` in the
lowercased text; sentences come from a regex splitter, where the authors
use NLTK's Punkt (whose model would have to be downloaded), so figures can
differ from theirs in the decimals — the published trafilatura output scored
here is the check of that. Per page, the best F1 over the gold variants
(every subset of at most 4 optional paragraphs removed, else all kept and all
removed); corpus figures are means ×100.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FUNDUS_ENV = "WIREWATCH_FUNDUS_DIR"
MAX_OPTIONAL = 4
_TOKEN = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"“'‘(\[]?[A-Z0-9])")


def fundus_dir() -> Path | None:
    value = os.environ.get(FUNDUS_ENV)
    return Path(value) if value and (Path(value) / "ground_truth.json").is_file() else None


@dataclass(frozen=True)
class Page:
    name: str
    url: str
    html: bytes
    gold: tuple[str, ...]


def pages(directory: Path) -> Iterator[Page]:
    gold = json.loads((directory / "ground_truth.json").read_text(encoding="utf-8"))
    for name in sorted(gold):
        html = gzip.decompress((directory / "html" / name).read_bytes())
        yield Page(name, gold[name]["url"], html, tuple(gold[name]["body"]))


def sentences(paragraphs: list[str]) -> list[list[str]]:
    """Token lists, one per sentence (empty ones dropped)."""
    found = []
    for paragraph in paragraphs:
        for sentence in _SENTENCE_END.split(paragraph):
            tokens = _TOKEN.findall(sentence.lower())
            if tokens:
                found.append(tokens)
    return found


def _lcs_positions(reference: list[str], candidate: list[str]) -> set[int]:
    """Positions in ``reference`` of one longest common subsequence with ``candidate``."""
    rows, cols = len(reference), len(candidate)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        ref, row, above = reference[i - 1], table[i], table[i - 1]
        for j in range(1, cols + 1):
            row[j] = above[j - 1] + 1 if ref == candidate[j - 1] else max(above[j], row[j - 1])
    positions, i, j = set(), rows, cols
    while i > 0 and j > 0:
        if reference[i - 1] == candidate[j - 1]:
            positions.add(i - 1)
            i, j = i - 1, j - 1
        elif table[i - 1][j] >= table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return positions


def rouge_lsum(reference: list[str], hypothesis: list[str]) -> tuple[float, float, float]:
    """(precision, recall, F1) of the hypothesis paragraphs against the reference paragraphs."""
    ref, hyp = sentences(reference), sentences(hypothesis)
    m, n = sum(map(len, ref)), sum(map(len, hyp))
    if not m or not n:
        return 0.0, 0.0, 0.0
    left_ref = Counter(t for s in ref for t in s)
    left_hyp = Counter(t for s in hyp for t in s)
    hits = 0
    for sentence in ref:
        union: set[int] = set()
        for candidate in hyp:
            union |= _lcs_positions(sentence, candidate)
        for position in sorted(union):
            token = sentence[position]
            if left_ref[token] > 0 and left_hyp[token] > 0:
                hits += 1
                left_ref[token] -= 1
                left_hyp[token] -= 1
    precision, recall = hits / n, hits / m
    f1 = 0.0 if not hits else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def gold_variants(gold: tuple[str, ...]) -> Iterator[list[str]]:
    optional = [i for i, p in enumerate(gold) if p.startswith("[") and p.endswith("]")]
    plain = [p[1:-1] if i in optional else p for i, p in enumerate(gold)]
    if len(optional) <= MAX_OPTIONAL:
        drops = [set(c) for r in range(len(optional) + 1) for c in itertools.combinations(optional, r)]
    else:
        drops = [set(), set(optional)]
    for drop in drops:
        yield [p for i, p in enumerate(plain) if i not in drop]


def score(gold: tuple[str, ...], text: str) -> tuple[float, float, float]:
    """The page's (P, R, F1): the best F1 over the gold variants."""
    hypothesis = [" ".join(p.split()) for p in text.split("\n") if p.strip()]
    return max((rouge_lsum(variant, hypothesis) for variant in gold_variants(gold)), key=lambda s: s[2])
