"""A real HTTP server on loopback for feed tests: shared feed files, changing feeds, hostile cases.

Runs ``ThreadingHTTPServer`` in a background thread (real sockets; nothing is
mocked). Routes:

* ``/shared/<path>`` — a file under ``../shared/feeds``; ``Header:`` lines of
  feedparser's corpus files are sent as response headers;
* anything registered with ``server.set(path, body, ...)`` — served with an
  ETag and honouring ``If-None-Match``; the body can be changed between polls;
* ``server.hostile(path, kind)`` — misbehaving responses, see ``HOSTILE``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# the project's shared data sits next to the checkout (``../shared``); WIREWATCH_SHARED overrides
SHARED = Path(os.environ.get("WIREWATCH_SHARED") or Path(__file__).resolve().parents[2] / "shared")
SHARED_FEEDS = SHARED / "feeds"
HEADER_LINE = re.compile(r"^\s*Header:\s*([A-Za-z0-9-]+):\s*(.*?)\s*$", re.MULTILINE)

HOSTILE = {
    "never-ends": "200 with headers, then a few bytes every 0.2 s forever",
    "trickle": "200, then one byte per second",
    "huge-50mb": "a 50 MB body with Content-Length",
    "huge-chunked": "a 50 MB body without Content-Length",
    "gzip-bomb": "200 MB of zeros gzip-compressed to ~200 KB",
    "billion-laughs": "XML entity expansion",
    "html": "an HTML page where a feed was expected",
    "bad-bytes": "invalid bytes for the declared encoding",
    "404": "Not Found",
    "410": "Gone",
    "500": "Internal Server Error",
    "429": "Too Many Requests with Retry-After: 120",
    "503": "Service Unavailable with Retry-After as an HTTP date",
    "redirect-loop": "a redirect to itself",
    "stall": "nothing for 8 s, then a page (a site slower than any budget)",
    "binary": "a PNG image where a page was expected",
    "login-wall": "a 200 with a sign-in form and no article",
}

LOGIN_WALL = (
    b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign in</title></head><body><main>'
    b"<h1>Ceasefire talks resume</h1><p>Sign in or subscribe to keep reading this article.</p>"
    b'<form action="/login" method="post"><input type="email" name="email">'
    b'<input type="password" name="password"><button>Sign in</button></form></main></body></html>'
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>http://example.org/laughs</link></item></channel></rss>
"""


def _gzip_bomb(size: int = 200 * 1024 * 1024) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


def corpus_headers(raw: bytes) -> dict[str, str]:
    """The ``Header:`` lines of a feedparser corpus file (any of its encodings)."""
    text = decode_any(raw)
    return {m.group(1): m.group(2) for m in HEADER_LINE.finditer(text.split("-->", 1)[0])}


def decode_any(raw: bytes) -> str:
    """Decode a test file whatever its encoding (the corpus has UTF-16/32 files)."""
    for encoding in ("utf-8", "utf-16", "utf-32", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "Expect" in text or "Description" in text or encoding == "utf-32-be":
            return text
    return raw.decode("latin-1")


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up mid-response are expected here (timeouts, size caps)."""


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host  # any of 127.0.0.0/8: another host, as the poller's per-host limits see it
        self.routes: dict[str, Route] = {}
        self.hostile_routes: dict[str, str] = {}
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._bomb: bytes | None = None
        self.httpd = _QuietServer((host, 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def set(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> str:
        with self._lock:
            self.routes[path] = Route(body, status, dict(headers or {"Content-Type": "application/rss+xml"}))
        return self.url(path)

    def hostile(self, path: str, kind: str | None) -> str:
        """Make ``path`` misbehave (``None``: behave again)."""
        assert kind is None or kind in HOSTILE, kind
        if kind is None:
            self.hostile_routes.pop(path, None)
        else:
            self.hostile_routes[path] = kind
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p == path)

    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = _gzip_bomb()
        return self._bomb

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.requests.append((time.monotonic(), path, dict(self.headers.items())))
                try:
                    if path in server.hostile_routes:
                        self._hostile(server.hostile_routes[path])
                    elif path.startswith("/shared/"):
                        self._shared(path[len("/shared/") :])
                    elif path in server.routes:
                        self._route(server.routes[path])
                    else:
                        self._send(404, b"not found", {"Content-Type": "text/plain"})
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, route: Route) -> None:
                route.hits += 1
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                if route.status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send(route.status, route.body, {**route.headers, "ETag": etag})

            def _shared(self, relative: str) -> None:
                file = (SHARED_FEEDS / relative).resolve()
                if SHARED_FEEDS.resolve() not in file.parents or not file.is_file():
                    self._send(404, b"no such file", {})
                    return
                raw = file.read_bytes()
                declared = corpus_headers(raw) if "feedparser" in relative else {}
                headers = {"Content-Type": "application/xml"}
                if any(k.lower() == "content-type" for k in declared):
                    headers = {}
                headers.update(declared)
                self._send(200, raw, headers)

            def _stream_forever(self, piece: bytes, pause: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                deadline = time.monotonic() + 120  # bounded: never outlive a test run
                while time.monotonic() < deadline:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                    time.sleep(pause)

            def _hostile(self, kind: str) -> None:
                if kind == "never-ends":
                    self._stream_forever(b"<item><title>x</title></item>", 0.2)
                elif kind == "trickle":
                    self._stream_forever(b"<", 1.0)
                elif kind in ("huge-50mb", "huge-chunked"):
                    size = 50 * 1024 * 1024
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    chunked = kind == "huge-chunked"
                    self.send_header(
                        "Transfer-Encoding" if chunked else "Content-Length",
                        "chunked" if chunked else str(size),
                    )
                    self.end_headers()
                    block = b"<!-- padding -->" * 4096
                    for _ in range(size // len(block)):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                elif kind == "gzip-bomb":
                    self._send(
                        200,
                        server.bomb(),
                        {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
                    )
                elif kind == "billion-laughs":
                    self._send(200, BILLION_LAUGHS, {"Content-Type": "application/rss+xml"})
                elif kind == "html":
                    body = (
                        b"<!DOCTYPE html><html><head><title>News</title></head><body><p>Hi</p></body></html>"
                    )
                    self._send(200, body, {"Content-Type": "text/html; charset=utf-8"})
                elif kind == "bad-bytes":
                    body = (
                        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                        b"<title>Bad \xff\xfe bytes</title><item><title>Caf\xe9 news</title>"
                        b"<link>http://example.org/bad-bytes</link></item></channel></rss>"
                    )
                    self._send(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})
                elif kind == "429":
                    self._send(429, b"slow down", {"Retry-After": "120"})
                elif kind == "503":
                    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 300))
                    self._send(503, b"maintenance", {"Retry-After": when})
                elif kind == "redirect-loop":
                    self._send(302, b"", {"Location": self.path})
                elif kind == "stall":
                    time.sleep(8)
                    self._send(200, LOGIN_WALL, {"Content-Type": "text/html"})
                elif kind == "binary":
                    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
                    self._send(200, png, {"Content-Type": "image/png"})
                elif kind == "login-wall":
                    self._send(200, LOGIN_WALL, {"Content-Type": "text/html; charset=utf-8"})
                else:
                    self._send(int(kind), kind.encode(), {"Content-Type": "text/plain"})

        return Handler

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data)
