"""Imported by the forkserver our worker processes are forked from: loads and warms extraction
and parsing once.

``monitor.procpool`` starts its processes with ``forkserver``. A fresh process's
first page extraction took ~550 ms where the next took ~17 ms: trafilatura and
lxml finish loading on the first call. Preloaded by the forkserver
(``set_forkserver_preload``), this module pays that once, so every process
forked afterwards starts with the code loaded. A forked process still pays
~140 ms on its first call, copying the memory it shares with the forkserver as
it touches it: the pools run the same warm call in each new process before
giving it work.
"""

from __future__ import annotations

from monitor.extract import warm_extraction
from monitor.parsing import warm_parsing

warm_extraction()
warm_parsing()
