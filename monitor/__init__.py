"""Wirewatch monitor: feed polling, configuration, CLI and metrics."""

__version__ = "0.1.0"
