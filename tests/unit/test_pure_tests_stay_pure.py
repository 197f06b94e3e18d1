"""A pure-logic test run loads neither OpenVINO nor torch: the root conftest loads the engine only for
tests marked ``model``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys, pytest
rc = pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]])
print("LOADED", sorted(m for m in ("openvino", "torch") if m in sys.modules))
sys.exit(rc)
"""


def loaded_engines(*tests: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *tests], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return next(line for line in done.stdout.splitlines() if line.startswith("LOADED"))


def test_pure_logic_tests_load_no_engine() -> None:
    assert (
        loaded_engines("tests/unit/monitor/test_outcomes.py", "tests/unit/detectors/test_store.py")
        == "LOADED []"
    )
