"""robots.txt, fetched once per host and honoured for every article page (RFC 9309).

Parsing is ``protego`` (Scrapy's RFC 9309 parser: longest match wins,
``*`` and ``$`` wildcards, groups merged per agent) — Python 3.11's
``urllib.robotparser`` takes the first matching rule and knows no wildcards.
The file is fetched with the feeds' polite ``Fetcher`` (same per-host limits)
and cached per host:

* 2xx: its rules, for ``ttl`` (RFC 9309 §2.4: at most a day);
* 4xx: "unavailable", every page allowed (§2.3.1.3);
* 5xx, 429, a timeout or a network error: "unreachable", every page
  disallowed (§2.3.1.4), asked again after ``retry`` (an hour);
* more than 500 KiB: the first 500 KiB are parsed (§2.5).

Concurrent pages of one host share one robots.txt request. The product
token matched is the first word of ``polling.user_agent`` (``Wirewatch``).
``Crawl-delay`` is not in the RFC, but sites set it: it widens the host's
spacing (capped at ``MAX_CRAWL_DELAY``).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from monitor.fetch import Fetcher
from monitor.outcomes import Outcome

ROBOTS_MAX_BYTES = 500 * 1024
MAX_CRAWL_DELAY = 30.0


def product_token(user_agent: str) -> str:
    """``Wirewatch/0.1 (news monitor…)`` → ``Wirewatch``: the name robots.txt groups match."""
    return (user_agent.split("/", 1)[0].split() or ["*"])[0]


@dataclass(frozen=True)
class RobotsVerdict:
    allowed: bool
    unreachable: bool = False  # disallowed because robots.txt could not be read, not by its rules


@dataclass
class _HostRules:
    parser: Protego | None  # None: no rules (allow all) or unreachable (disallow all)
    allow_all: bool
    expires: float
    crawl_delay: float | None = None


class RobotsCache:
    """Per-host robots.txt rules, bounded (least recently used hosts forgotten)."""

    def __init__(
        self,
        fetcher: Fetcher,
        user_agent: str,
        *,
        ttl: float = 86400.0,
        retry: float = 3600.0,
        max_hosts: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self.token = product_token(user_agent)
        self.ttl = ttl
        self.retry = retry
        self.max_hosts = max_hosts
        self._clock = clock
        self._rules: OrderedDict[str, _HostRules] = OrderedDict()
        self._pending: dict[str, asyncio.Task[_HostRules]] = {}

    async def check(self, url: str) -> RobotsVerdict:
        """May our product token fetch ``url``?"""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        rules = await self._rules_for(origin)
        if rules.parser is None:
            return RobotsVerdict(rules.allow_all, unreachable=not rules.allow_all)
        return RobotsVerdict(bool(rules.parser.can_fetch(url, self.token)))

    async def _rules_for(self, origin: str) -> _HostRules:
        cached = self._rules.get(origin)
        if cached is not None and cached.expires > self._clock():
            self._rules.move_to_end(origin)
            return cached
        task = self._pending.get(origin)
        if task is None:  # one request per host, its own task: a waiter that gives up cancels only itself
            task = asyncio.create_task(self._fetch(origin), name=f"robots:{origin}")
            self._pending[origin] = task
            task.add_done_callback(lambda done: self._done(origin, done))
        return await asyncio.shield(task)

    def _done(self, origin: str, task: asyncio.Task[_HostRules]) -> None:
        self._pending.pop(origin, None)
        if not task.cancelled() and task.exception() is None:
            self._store(origin, task.result())

    def _store(self, origin: str, rules: _HostRules) -> None:
        self._rules[origin] = rules
        self._rules.move_to_end(origin)
        while len(self._rules) > self.max_hosts:
            self._rules.popitem(last=False)
        host = urlsplit(origin).hostname or ""
        self.fetcher.hosts.set_spacing(host, rules.crawl_delay)

    async def _fetch(self, origin: str) -> _HostRules:
        now = self._clock()
        result = await self.fetcher.fetch(f"{origin}/robots.txt", max_bytes=ROBOTS_MAX_BYTES * 4)
        if result.outcome == Outcome.OK:
            text = result.body[:ROBOTS_MAX_BYTES].decode("utf-8-sig", errors="replace")
            try:
                parser = Protego.parse(text)
            except Exception:  # a file protego cannot read is no rules at all
                return _HostRules(None, True, now + self.ttl)
            delay = parser.crawl_delay(self.token)
            crawl_delay = min(float(delay), MAX_CRAWL_DELAY) if delay else None
            return _HostRules(parser, True, now + self.ttl, crawl_delay)
        status = result.status or 0
        if result.outcome == Outcome.HTTP_ERROR and 400 <= status < 500 and status != 429:
            return _HostRules(None, True, now + self.ttl)  # unavailable: allowed
        if result.outcome == Outcome.TOO_LARGE:
            return _HostRules(None, True, now + self.retry)  # a "robots.txt" of megabytes: no rules read
        return _HostRules(None, False, now + self.retry)  # unreachable: stay out for a while
