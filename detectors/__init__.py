"""Detector kinds: pure logic, no Kafka imports. Each kind registers under its YAML ``kind:``."""

from detectors.registry import KINDS, DetectorSpec, Severity

__all__ = ["KINDS", "DetectorSpec", "Severity"]
