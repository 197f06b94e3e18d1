"""The key-value store that pure logic keeps its state in: the detectors' state and the sequencer's tables.

Three operations, nothing else, so a dict in tests and a Faust table in the
worker (``streams.tableviews``) both fit: ``get`` (``None`` when absent),
``store[key] = value``, and ``delete`` (absent keys are fine). Deleting
returns nothing: a buffered table only knows the old value after its flush.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

K = TypeVar("K", contravariant=True)
V = TypeVar("V")
KT = TypeVar("KT")
VT = TypeVar("VT")


class Store(Protocol[K, V]):
    """What the detector engine and the dedup sequencer need of a key-value store."""

    def get(self, key: K, /) -> V | None: ...

    def __setitem__(self, key: K, value: V, /) -> None: ...

    def delete(self, key: K, /) -> None: ...


class MemoryStore(dict[KT, VT]):
    """A dict as a store: tests, backtests, dry runs and benchmarks without Kafka."""

    def delete(self, key: KT, /) -> None:
        self.pop(key, None)
