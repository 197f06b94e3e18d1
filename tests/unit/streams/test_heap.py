"""HeapTrimmer: the heap is trimmed when RSS has grown by its slack since the last trim, not per batch."""

from __future__ import annotations

import pytest

from streams import embedder
from streams.embedder import HeapTrimmer, resident_bytes

MB = 2**20


class FakeProcess:
    """RSS that batches raise and trims lower, and a count of the trims asked for."""

    def __init__(self, rss: int) -> None:
        self.rss = rss
        self.trimmed = 0
        self.floor_after_trim = rss

    def trim(self, pad: int) -> int:
        assert pad == 0
        self.trimmed += 1
        self.rss = self.floor_after_trim
        return 1


@pytest.fixture
def process(monkeypatch: pytest.MonkeyPatch) -> FakeProcess:
    fake = FakeProcess(1000 * MB)
    monkeypatch.setattr(embedder, "resident_bytes", lambda: fake.rss)
    monkeypatch.setattr(embedder, "_malloc_trim", lambda: fake.trim)
    return fake


def test_growth_below_the_slack_is_left_alone(process: FakeProcess) -> None:
    trimmer = HeapTrimmer(slack=128 * MB)
    for _ in range(10):
        process.rss += 10 * MB
        trimmer.after_batch()
    assert process.trimmed == 0  # 100 MB of growth: not worth faulting pages in again


def test_growth_past_the_slack_is_trimmed_and_the_floor_moves(process: FakeProcess) -> None:
    trimmer = HeapTrimmer(slack=128 * MB)
    process.rss += 200 * MB
    trimmer.after_batch()
    assert (process.trimmed, trimmer.trims, process.rss) == (1, 1, 1000 * MB)

    process.floor_after_trim = 1100 * MB  # live data grew (a bigger window): the floor follows it
    process.rss = 1300 * MB
    trimmer.after_batch()
    assert process.trimmed == 2
    process.rss = 1200 * MB  # 100 MB above the new floor
    trimmer.after_batch()
    assert process.trimmed == 2


def test_without_rss_figures_it_trims_every_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProcess(0)
    monkeypatch.setattr(embedder, "resident_bytes", lambda: None)
    monkeypatch.setattr(embedder, "_malloc_trim", lambda: fake.trim)
    trimmer = HeapTrimmer()
    for _ in range(3):
        trimmer.after_batch()
    assert fake.trimmed == 3


def test_without_malloc_trim_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder, "_malloc_trim", lambda: None)
    trimmer = HeapTrimmer(slack=0)
    trimmer.after_batch()
    assert trimmer.trims == 0


def test_resident_bytes_reads_this_process() -> None:
    rss = resident_bytes()
    assert rss is not None
    assert 10 * MB < rss < 64 * 2**30
