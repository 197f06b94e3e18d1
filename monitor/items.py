"""A feed body cut into its items, so that a poll parses only the items it has not seen.

A feed shows the same 30–100 items for hours and changes by one or two at a
time, yet every changed body used to go through feedparser whole: reading an
item costs far more than everything else a poll does with it. ``split_items``
finds each top-level ``<item>``/``<entry>`` with expat (byte offsets only,
no text is decoded), the poll drops the items whose bytes it parsed last time,
and feedparser reads what is left: the channel's own elements and the new or
changed items.

An item's bytes are not all that decides its article: its ancestors'
attributes (``xml:base``, ``xml:lang``, namespace declarations), the response
headers, the feed's title and language, and the feed's settings count too.
``parse_feed`` hashes all of them into a *scope*; an item is skipped only under
the scope it was read in, and a body whose scope changed is parsed whole.

A body that cannot be cut safely is parsed whole, exactly as before: not
well-formed XML to expat, an internal DTD subset with entities, an encoding
that is not ASCII-compatible, a self-closing item, or (checked by the caller)
feedparser finding a different number of entries than there are items.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.parsers import expat

ITEM_NAMES = frozenset({"item", "entry"})  # RSS (0.9x, 1.0, 2.0) and Atom; prefixed names are not cut
KEY_BYTES = 8


def item_key(item: bytes) -> bytes:
    """A short hash of an item's bytes: what the next poll compares."""
    return hashlib.blake2b(item, digest_size=KEY_BYTES).digest()


def scope_key(*parts: object) -> bytes:
    """A short hash of everything besides its bytes that decides an item's article."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=KEY_BYTES).digest()


@dataclass(frozen=True)
class FeedItems:
    """Where a body's top-level items are: ``spans`` are [start, end) byte offsets, in order."""

    spans: tuple[tuple[int, int], ...]
    ancestors: str  # the items' ancestors: names and attributes, for the scope

    def keys(self, body: bytes) -> list[bytes]:
        return [item_key(body[start:end]) for start, end in self.spans]

    def without(self, body: bytes, drop: set[int]) -> bytes:
        """The body with the items at the indexes in ``drop`` cut out; everything between items stays."""
        parts: list[bytes] = []
        at = 0
        for index, (start, end) in enumerate(self.spans):
            if index in drop:
                parts.append(body[at:start])
                at = end
        parts.append(body[at:])
        return b"".join(parts)


_TAG_END = (b">", b" ", b"\t", b"\r", b"\n")


def _ascii_compatible(body: bytes) -> bool:
    head = body[:4]
    return not (
        head.startswith((b"\xfe\xff", b"\xff\xfe", b"\x00\x00\xfe\xff"))
        or b"\x00" in head  # UTF-16/32 without a byte-order mark
    )


def split_items(body: bytes) -> FeedItems | None:
    """The body's top-level items, or None when it cannot be cut safely (see the module docstring)."""
    if not _ascii_compatible(body) or b"<!ENTITY" in body:
        return None
    parser = expat.ParserCreate()  # no namespace processing: a name keeps its prefix
    ancestors: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    scopes: set[str] = set()
    spans: list[tuple[int, int]] = []
    item_start = -1
    depth = 0

    def on_start(name: str, attrs: dict[str, str]) -> None:
        nonlocal item_start, depth
        if item_start >= 0:
            depth += 1
        elif name in ITEM_NAMES:
            item_start, depth = parser.CurrentByteIndex, 1
            scopes.add(repr(ancestors))
        else:
            ancestors.append((name, tuple(sorted(attrs.items()))))

    def on_end(name: str) -> None:
        nonlocal item_start, depth
        if item_start < 0:
            ancestors.pop()
            return
        depth -= 1
        if depth:
            return
        at = parser.CurrentByteIndex  # where the end tag starts; for <item/>, where the next thing starts
        tag = b"</" + name.encode()
        if not (body.startswith(tag, at) and body[at + len(tag) : at + len(tag) + 1] in _TAG_END):
            raise ValueError("a self-closing item")  # no end tag to find the item's end by
        spans.append((item_start, body.index(b">", at) + 1))
        item_start = -1

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, ValueError, LookupError):  # not well-formed, <item/>, an unknown encoding
        return None
    if not spans:
        return None
    return FeedItems(tuple(spans), "|".join(sorted(scopes)))


@dataclass(frozen=True)
class KnownItems:
    """What the parser may skip: the keys of items read last time, and the scope they were read in."""

    scope: bytes
    keys: frozenset[bytes]


@dataclass(frozen=True)
class ItemMemory:
    """The last body's items as (item key → key of its article's id in ``monitor.seen``), and their scope.

    Packed into the feed's state (``FeedState.items``): 8 bytes of scope, then 16 bytes per item.
    """

    scope: bytes = b""
    articles: Mapping[bytes, int] | None = None  # item key → ``monitor.seen.id_key`` of its article

    @classmethod
    def unpack(cls, blob: str | None) -> ItemMemory:
        if not blob:
            return cls()
        raw = base64.b64decode(blob)
        scope, rest = raw[:KEY_BYTES], raw[KEY_BYTES:]
        pair = 2 * KEY_BYTES
        usable = len(rest) - len(rest) % pair
        return cls(
            scope,
            {
                rest[i : i + KEY_BYTES]: int.from_bytes(rest[i + KEY_BYTES : i + pair], "little")
                for i in range(0, usable, pair)
            },
        )

    @staticmethod
    def pack(scope: bytes, pairs: Iterable[tuple[bytes, int]], limit: int) -> str:
        raw = b"".join(item + article.to_bytes(KEY_BYTES, "little") for item, article in list(pairs)[:limit])
        return base64.b64encode(scope + raw).decode("ascii") if raw else ""
