"""Where Wirewatch keeps what a machine downloads or builds once: jars, Debian tools, converted models."""

from __future__ import annotations

import os
from pathlib import Path


def wirewatch_home() -> Path:
    """Machine-wide cache (jars, the installed environment): ``$WIREWATCH_HOME`` or ``~/.cache/wirewatch``."""
    env = os.environ.get("WIREWATCH_HOME")
    return Path(env) if env else Path.home() / ".cache" / "wirewatch"
