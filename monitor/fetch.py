"""Fetching feeds politely and defensively with an injected ``httpx.AsyncClient``.

Polite: conditional GET (ETag / Last-Modified), a configurable User-Agent,
at most ``per_host_concurrency`` requests to one host and at least
``per_host_spacing`` between their starts, ``Retry-After`` reported to the
scheduler. Defensive: connect/read timeouts plus a total deadline (a server
that trickles one byte a second is cut off), bounded redirects, and a size
cap enforced on the *decompressed* bytes while streaming — we decode gzip and
deflate ourselves in bounded steps, so a gzip bomb never expands in memory.

Every outcome is a ``FetchResult`` with an ``outcome`` (``monitor.outcomes``) used for metrics;
nothing here raises for a bad server.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from urllib.parse import urlsplit

import httpx

from monitor.config import PollingConfig
from monitor.errors import TooLarge, UnsupportedEncoding
from monitor.outcomes import Outcome

DECODE_STEP = 64 * 1024


@dataclass
class FetchResult:
    """One request's result: ``outcome`` is a word of a closed set, ``error`` a sentence for logs."""

    outcome: Outcome
    url: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    retry_after: float | None = None
    error: str | None = None

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class _Decoder:
    """Incremental Content-Encoding decoder that never expands more than the cap allows."""

    def __init__(self, encoding: str, cap: int) -> None:
        encoding = encoding.strip().lower()
        self.cap = cap
        self.size = 0
        self.chunks: list[bytes] = []
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise UnsupportedEncoding(f"unsupported Content-Encoding {encoding!r}")
        self._first = True
        self._encoding = encoding

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise TooLarge(f"body exceeds {self.cap} bytes (decompressed)")
        self.chunks.append(data)

    def feed(self, data: bytes) -> None:
        if self._z is None:
            self._keep(data)
            return
        pending = data
        while pending:
            try:
                out = self._z.decompress(pending, DECODE_STEP)
            except zlib.error as exc:
                if self._first and self._encoding == "deflate":
                    # some servers send raw deflate without the zlib header
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise UnsupportedEncoding(f"corrupt {self._encoding} stream: {exc}") from exc
            self._first = False
            self._keep(out)
            pending = self._z.unconsumed_tail
        # drain what is buffered without new input, still in bounded steps
        while True:
            out = self._z.decompress(b"", DECODE_STEP)
            if not out:
                break
            self._keep(out)

    def result(self) -> bytes:
        if self._z is not None:
            self._keep(self._z.flush(DECODE_STEP))
        return b"".join(self.chunks)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class HostLimiter:
    """At most N requests in flight per host, and a minimum spacing between their starts."""

    def __init__(self, concurrency: int, spacing: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._semaphores: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(concurrency))
        self._next_start: dict[str, float] = defaultdict(float)
        self._spacing = spacing
        self._host_spacing: dict[str, float] = {}  # a site's own wish (robots.txt Crawl-delay)
        self._clock = clock

    def set_spacing(self, host: str, seconds: float | None) -> None:
        """A longer spacing for one host (its Crawl-delay); None returns it to the default."""
        if seconds is None or seconds <= self._spacing:
            self._host_spacing.pop(host, None)
        else:
            self._host_spacing[host] = seconds

    async def acquire(self, host: str) -> None:
        await self._semaphores[host].acquire()
        now = self._clock()
        start = max(now, self._next_start[host])
        spacing = self._host_spacing.get(host, self._spacing)
        self._next_start[host] = start + spacing  # reserve the slot before sleeping
        if start > now:
            try:
                await asyncio.sleep(start - now)
            except BaseException:
                self._semaphores[host].release()
                raise

    def release(self, host: str) -> None:
        self._semaphores[host].release()


def make_client(
    settings: PollingConfig, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The client the pollers use; tests pass their own ``transport``."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.total_timeout,
        ),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        },
        limits=httpx.Limits(
            max_connections=settings.concurrency * 2, max_keepalive_connections=settings.concurrency
        ),
        transport=transport,
    )


PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


class Fetcher:
    """Conditional, size-capped, deadline-bound GETs through one shared client.

    Feeds and article pages (``page=True``) share the per-host limits, so a
    site sees one polite client; they have separate global slots
    (``polling.concurrency``, ``page_concurrency``), so a burst of pages
    never delays the feeds' polls.
    """

    def __init__(self, client: httpx.AsyncClient, settings: PollingConfig, page_concurrency: int = 8) -> None:
        self.client = client
        self.settings = settings
        self.hosts = HostLimiter(settings.per_host_concurrency, settings.per_host_spacing)
        self._global = asyncio.Semaphore(settings.concurrency)
        self._pages = asyncio.Semaphore(page_concurrency)

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        *,
        page: bool = False,
        max_bytes: int | None = None,
    ) -> FetchResult:
        host = (urlsplit(url).hostname or "").lower()
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if page:
            headers["Accept"] = PAGE_ACCEPT
        # the host's slot first: feeds queued for one busy host must not hold global slots
        # that requests to other hosts could use
        await self.hosts.acquire(host)
        try:
            async with self._pages if page else self._global:
                started = time.monotonic()
                try:
                    async with asyncio.timeout(self.settings.total_timeout):
                        result = await self._get(url, headers, max_bytes or self.settings.max_bytes)
                except TimeoutError:
                    result = FetchResult(
                        Outcome.TIMEOUT,
                        url,
                        error=f"no complete response within {self.settings.total_timeout:g}s",
                    )
        finally:
            self.hosts.release(host)
        result.elapsed = time.monotonic() - started
        return result

    async def _get(self, url: str, headers: dict[str, str], cap: int) -> FetchResult:
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                final_url = str(response.url)
                info = {k.lower(): v for k, v in response.headers.items()}
                status = response.status_code
                retry_after = parse_retry_after(info.get("retry-after"))
                if status == 304:
                    return FetchResult(Outcome.NOT_MODIFIED, final_url, status, headers=info)
                if status >= 400:
                    return FetchResult(
                        Outcome.HTTP_ERROR,
                        final_url,
                        status,
                        headers=info,
                        retry_after=retry_after,
                        error=f"HTTP {status} {response.reason_phrase}".strip(),
                    )
                declared = info.get("content-length", "")
                if declared.isdigit() and int(declared) > cap and "content-encoding" not in info:
                    return FetchResult(
                        Outcome.TOO_LARGE,
                        final_url,
                        status,
                        headers=info,
                        error=f"Content-Length {declared} exceeds the {cap}-byte limit",
                    )
                decoder = _Decoder(info.get("content-encoding", ""), cap)
                async for chunk in response.aiter_raw():
                    decoder.feed(chunk)
                body = decoder.result()
                return FetchResult(Outcome.OK, final_url, status, body=body, headers=info)
        except TooLarge as exc:
            return FetchResult(Outcome.TOO_LARGE, url, error=str(exc))
        except UnsupportedEncoding as exc:
            return FetchResult(Outcome.BAD_ENCODING, url, error=str(exc))
        except httpx.TooManyRedirects:
            return FetchResult(
                Outcome.REDIRECTS, url, error=f"more than {self.settings.max_redirects} redirects"
            )
        except httpx.TimeoutException as exc:
            return FetchResult(Outcome.TIMEOUT, url, error=f"{type(exc).__name__}: timed out")
        except httpx.ConnectError as exc:
            text = str(exc)
            dns = any(
                s in text
                for s in (
                    "Name or service not known",
                    "nodename nor servname",
                    "Temporary failure in name resolution",
                    "No address associated",
                )
            )
            return FetchResult(
                Outcome.DNS_ERROR if dns else Outcome.CONNECT_ERROR, url, error=text or type(exc).__name__
            )
        except (
            httpx.RemoteProtocolError,
            httpx.LocalProtocolError,
            httpx.ReadError,
            httpx.WriteError,
        ) as exc:
            return FetchResult(Outcome.PROTOCOL_ERROR, url, error=f"{type(exc).__name__}: {exc}")
        except httpx.UnsupportedProtocol as exc:
            return FetchResult(Outcome.CONNECT_ERROR, url, error=str(exc))
        except httpx.TransportError as exc:  # any other transport failure (CloseError, proxy errors…)
            return FetchResult(Outcome.PROTOCOL_ERROR, url, error=f"{type(exc).__name__}: {exc}")
