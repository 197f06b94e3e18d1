"""Detector state over any key-value store: per-detector keys that expire by event time.

The engine's store is a plain mapping of string keys to JSON values — a dict
in tests and ``wirewatch detectors test``, a changelog-backed table in the
worker. Every value carries its expiry (event time, seconds); an hourly
expiry index lists the keys due in each hour, so state stays bounded without
scanning the store: when the clock passes an hour, its keys are looked at and
those not renewed since are deleted.
"""

from __future__ import annotations

import math
from typing import Any

from detectors.store import Store

EXPIRY_BUCKET = 3600.0


class Expiring:
    """The store with expiry: ``get``/``set``/``delete`` of values that vanish after their ttl."""

    CLOCK = "engine/clock"
    HOURS = "engine/expiry-hours"  # sorted hours that have keys due

    def __init__(self, store: Store[str, Any]) -> None:
        self.store = store

    @property
    def clock(self) -> float:
        return float(self.store.get(self.CLOCK) or 0.0)

    def advance(self, at: float) -> None:
        """Move the clock to ``at`` (never back) and drop the keys that expired meanwhile."""
        if at <= self.clock:
            return
        self.store[self.CLOCK] = at
        hours: list[int] = self.store.get(self.HOURS) or []
        current = math.floor(at / EXPIRY_BUCKET)
        if not hours or hours[0] >= current:
            return
        for hour in [h for h in hours if h < current]:
            for key in self.store.get(f"engine/expiry/{hour}") or []:
                entry = self.store.get(key)
                if entry is not None and entry["exp"] <= at:
                    self.store.delete(key)
            self.store.delete(f"engine/expiry/{hour}")
        self.store[self.HOURS] = [h for h in hours if h >= current]

    def get(self, key: str) -> Any:
        entry = self.store.get(key)
        if entry is None or entry["exp"] <= self.clock:
            return None
        return entry["v"]

    def set(self, key: str, value: Any, expires: float) -> None:
        entry = self.store.get(key)
        hour = math.floor(expires / EXPIRY_BUCKET)
        if entry is None or math.floor(entry["exp"] / EXPIRY_BUCKET) != hour:
            index = f"engine/expiry/{hour}"
            due = self.store.get(index)
            if due is None:
                hours = self.store.get(self.HOURS) or []
                self.store[self.HOURS] = sorted({*hours, hour})
            self.store[index] = [*(due or []), key]
        self.store[key] = {"v": value, "exp": expires}

    def delete(self, key: str) -> None:
        self.store.delete(key)


class DetectorState:
    """One detector's view: its own key prefix, ttls counted from the article's event time."""

    def __init__(self, expiring: Expiring | None, detector_id: str, at: float = 0.0) -> None:
        self._expiring: Expiring = expiring  # type: ignore[assignment]  # bound per article by `at`
        self._prefix = f"d/{detector_id}/"
        self._at = at

    def bind(self, expiring: Expiring, at: float) -> DetectorState:
        """The same detector's view for the next article (one object per detector, not per article)."""
        self._expiring = expiring
        self._at = at
        return self

    def get(self, key: str) -> Any:
        return self._expiring.get(self._prefix + key)

    def set(self, key: str, value: Any, ttl: float) -> None:
        self._expiring.set(self._prefix + key, value, max(self._at, self._expiring.clock) + ttl)

    def delete(self, key: str) -> None:
        self._expiring.delete(self._prefix + key)
