"""The real news that int8 quantization calibrates on, shipped in the package.

NNCF's post-training quantization runs the fp32 model on sample inputs and
sets each quantized activation's range from what it saw; inputs unlike the
stream's (random tokens, one length) give ranges that clip real news. So the
samples are news as the embed stage sees it (``Article.text_for_embedding``:
a title, a line break, the lead), 300 of them, drawn by rule from two corpora
the agreement benchmark does not judge on (``tests/benchmarks/test_int8_bench.py``
judges on RUWA, the BBC home-feed polls, MRPC and the demo):

* 150 AG News test rows (every 50th): title and description, four sections
  of 2004 news wires;
* 150 BBC News 2005 articles (every 14th): title and the first ``LEAD_WORDS``
  words, as an extracted page's lead.

The file is data, not code run at start: a machine without the corpora
quantizes from it, and ``python -m streams.calibration SHARED_DIR`` redraws
it (``tests/unit/streams/test_calibration.py`` checks that the redraw equals
the shipped file when the corpora are there).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from streams.records import LEAD_WORDS

CALIBRATION = Path(__file__).resolve().parent / "data" / "calibration-news.json"
AG_NEWS_STEP = 50
BBC_STEP = 14
PER_CORPUS = 150


def calibration_texts() -> list[str]:
    """The shipped calibration texts, in file order."""
    texts: list[str] = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    return texts


def draw(shared: Path) -> list[str]:
    """The calibration texts drawn again from ``shared/corpus`` (the project's data directory)."""
    corpus = shared / "corpus"
    with (corpus / "ag-news-test.csv").open(newline="", encoding="utf-8") as f:
        ag_rows = [r for r in csv.reader(f) if r[0] != "label"]  # label, title, description
    with (corpus / "bbc-news-2005.csv").open(newline="", encoding="utf-8") as f:
        bbc_rows = list(csv.DictReader(f))
    ag = [f"{r[1].strip()}\n{r[2].strip()}" for r in ag_rows[::AG_NEWS_STEP][:PER_CORPUS]]
    bbc = [
        f"{r['title'].strip()}\n{' '.join(r['text'].split()[:LEAD_WORDS])}"
        for r in bbc_rows[::BBC_STEP][:PER_CORPUS]
    ]
    return ag + bbc


if __name__ == "__main__":  # python -m streams.calibration SHARED_DIR
    texts = draw(Path(sys.argv[1]))
    CALIBRATION.write_text(json.dumps(texts, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(texts)} texts written to {CALIBRATION}")
