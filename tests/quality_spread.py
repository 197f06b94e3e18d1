"""Compare the quality figures of two or more test runs: ``python -m tests.quality_spread A.json B.json``.

Prints each figure in every run and its spread (largest minus smallest), and
names a figure that one run has and another lacks. Exit status 1 if any run
lacks a figure another has (a test that did not run is no evidence).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[str]) -> int:
    runs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    names = sorted(set().union(*(r["figures"] for r in runs)))
    print("runs:")
    for p, r in zip(paths, runs, strict=True):
        print(f"  {p}: {r['vectors']}")
    width = max(len(n) for n in names)
    print(
        f"{'figure':{width}}  "
        + "  ".join(f"{'run ' + str(i + 1):>10}" for i in range(len(runs)))
        + "      spread"
    )
    missing = 0
    for name in names:
        values = [r["figures"].get(name) for r in runs]
        cells = "  ".join(f"{v:10.4f}" if v is not None else f"{'missing':>10}" for v in values)
        present = [v for v in values if v is not None]
        missing += len(present) < len(values)
        print(f"{name:{width}}  {cells}  {max(present) - min(present):10.2e}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
