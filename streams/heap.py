"""Long-lived objects out of the garbage collector's way.

A worker builds a few million objects once (the embedding model, the
gazetteer's 80,000 place names, compiled detectors, the dedup window) and
then churns through short-lived ones per article. Every full collection
walked the long-lived ones again: on the detect benchmark that was a tenth of
the time. ``gc.freeze()`` after each big build moves everything alive into a
generation the collector never scans (what CPython documents it for); what is
built later, or rebuilt by a detectors release, is collected as usual.
"""

from __future__ import annotations

import atexit
import gc
import logging
import time

log = logging.getLogger(__name__)


def settle(what: str) -> None:
    """Collect once, then freeze what survives: call after building something that lives for good."""
    started = time.perf_counter()
    gc.collect()
    if not gc.get_freeze_count():
        # at exit, hand them back: extensions that count their objects at shutdown
        # (torch's nanobind modules) would otherwise report them as leaked
        atexit.register(gc.unfreeze)
    gc.freeze()
    took = time.perf_counter() - started
    log.debug("heap: froze %d objects after %s in %.2fs", gc.get_freeze_count(), what, took)
