"""The shipped detectors (examples/detectors.yaml) on headlines of the kinds that fooled them.

Each headline alone, as its own story; the expectation is which alerting
detectors match it. Real wordings from the seed's days and RUWA.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.base import ArticleContext
from detectors.engine import Engine
from detectors.store import MemoryStore
from monitor.loading import load_detectors

SHIPPED = Path(__file__).resolve().parents[3] / "examples" / "detectors.yaml"

CASES = [
    ("Russia and Ukraine swap 175 prisoners of war", {"prisoner-exchange"}),
    ("Hamas agrees to the release of the captives held in Gaza", set()),  # another war's hostages
    ("Israel and Hamas discuss the exchange of hostages for prisoners", set()),
    ("Putin agrees to halt strikes on energy infrastructure", set()),  # an agreement, not a strike
    ("Russian troops shell Sloviansk, civilians trapped under rubble", {"strike"}),
    ("Explosions heard in Kyiv as air raid alarm sounds", {"strike"}),
    ("Hyundai Motor to join strike against labor reform bill", set()),
    ("Coal mine blast in China kills 33", set()),
]


@pytest.mark.parametrize(("title", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_what_the_shipped_detectors_alert_on(title: str, expected: set[str]) -> None:
    document = load_detectors(SHIPPED)
    engine = Engine(list(document.detectors), {e.id: e for e in document.entities}, "test")
    article = ArticleContext(id="a", title=title, at=1.7e9, story_id="a")
    alerting = {s.id for s in document.detectors if s.alert}
    assert set(engine.evaluate(article, MemoryStore()).found) & alerting == expected
