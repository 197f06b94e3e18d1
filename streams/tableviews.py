"""Faust tables seen as typed stores, and a per-batch write buffer over them.

Shared by the stages that keep state in tables (the sequencer, the
detectors): one lookup per read, one changelog message per changed key per
batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from monitor.errors import RecordDecodeError

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class TableView(Generic[K, V]):
    """A Faust table of bytes seen as a typed store; an unreadable value counts as absent."""

    def __init__(
        self,
        table: Any,
        encode_key: Callable[[K], bytes],
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
    ) -> None:
        self.table, self._key, self._encode, self._decode = table, encode_key, encode, decode
        # reads go to the table's store: one lookup (the table's own ``get`` asks twice: in? then get)
        self._store = getattr(table, "data", table)

    def get(self, key: K, /) -> V | None:
        raw = self._store.get(self._key(key))
        if raw is None:
            return None
        try:
            return self._decode(raw)
        except (RecordDecodeError, ValueError) as exc:
            log.warning("%s: unreadable entry for %r ignored: %s", self.table.name, key, exc)
            return None

    def __setitem__(self, key: K, value: V, /) -> None:
        self.table[self._key(key)] = self._encode(value)

    def delete(self, key: K, /) -> None:
        self.table.pop(self._key(key), None)


class BufferedView(Generic[K, V]):
    """A table view that holds a batch's writes and the values it read, and writes once per key.

    The sequencer rewrites a popular story several times per batch and reads
    the same window entries again and again; every table write is a changelog
    message. Writes wait in ``pending`` until ``flush`` (end of the batch, before
    its offsets are acknowledged), so each changed key costs one message per
    batch; decoded values are kept (up to ``cache_size``) so a hot key is decoded
    once. The stage is the tables' only writer, so the cache cannot go stale.
    """

    def __init__(self, view: TableView[K, V], cache_size: int = 50_000) -> None:
        self.view = view
        self.cache_size = cache_size
        self._cache: dict[K, V | None] = {}
        self._pending: dict[K, V | None] = {}

    def get(self, key: K, /) -> V | None:
        if key in self._cache:
            return self._cache[key]
        value = self.view.get(key)
        self._remember(key, value)
        return value

    def __setitem__(self, key: K, value: V, /) -> None:
        self._pending[key] = value
        self._remember(key, value)

    def delete(self, key: K, /) -> None:
        self._pending[key] = None
        self._remember(key, None)

    def _remember(self, key: K, value: V | None) -> None:
        if len(self._cache) >= self.cache_size:
            self._cache.clear()  # cheap and rare; the hot keys come back at once
        self._cache[key] = value

    def flush(self) -> int:
        """Write the batch's changes to the table; returns how many keys were written."""
        for key, value in self._pending.items():
            if value is None:
                self.view.delete(key)
            else:
                self.view[key] = value
        written = len(self._pending)
        self._pending.clear()
        return written
