"""Detector kinds keyed by the YAML ``kind:`` field.

Adding a kind is adding a module with a ``DetectorSpec`` subclass (whose
``kind`` is a ``Literal``) and one line here; configuration validation,
``wirewatch detectors list`` and the workers all read this mapping.
"""

from __future__ import annotations

from detectors.base import DetectorSpec, Severity
from detectors.keyword import KeywordSpec

KINDS: dict[str, type[DetectorSpec]] = {
    "keyword": KeywordSpec,
}

__all__ = ["KINDS", "DetectorSpec", "Severity"]
