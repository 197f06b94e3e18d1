"""The entries a feed showed recently, packed to 18 bytes each.

A busy feed shows thousands of distinct entries a week, and a worker polls
thousands of feeds, so this index lives as one bytes blob per feed (in the
feeds table and on the poll-state topic) and is unpacked only while a poll of
that feed is processed. Per entry: 8 bytes of the article id's hash, 4 of the
content hash, the revision last published (2 bytes) and when it was last
present in the feed (4 bytes, epoch seconds).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

_ENTRY = struct.Struct("<8s4sHI")


@dataclass
class Seen:
    content: bytes  # 4-byte content hash
    revision: int
    last_seen: int  # epoch seconds


def id_key(article_id: str) -> bytes:
    return hashlib.blake2b(article_id.encode(), digest_size=8).digest()


def content_key(content_hash_hex: str) -> bytes:
    return bytes.fromhex(content_hash_hex[:8])


class SeenIndex:
    """Article id → (content hash, revision, last seen), bounded by count, oldest forgotten first."""

    def __init__(self, entries: dict[bytes, Seen] | None = None) -> None:
        self.entries: dict[bytes, Seen] = entries or {}

    @classmethod
    def unpack(cls, blob: str | None) -> SeenIndex:
        if not blob:
            return cls()
        raw = base64.b64decode(blob)
        usable = len(raw) - len(raw) % _ENTRY.size
        return cls(
            {
                key: Seen(content, revision, last_seen)
                for key, content, revision, last_seen in _ENTRY.iter_unpack(raw[:usable])
            }
        )

    def pack(self, limit: int) -> str:
        items = sorted(self.entries.items(), key=lambda kv: kv[1].last_seen, reverse=True)[:limit]
        raw = b"".join(
            _ENTRY.pack(k, s.content, min(s.revision, 0xFFFF), max(0, min(s.last_seen, 0xFFFFFFFF)))
            for k, s in items
        )
        return base64.b64encode(raw).decode("ascii")

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, article_id: str) -> Seen | None:
        return self.entries.get(id_key(article_id))

    def put(self, article_id: str, content_hash_hex: str, revision: int, now: float) -> None:
        self.entries[id_key(article_id)] = Seen(content_key(content_hash_hex), revision, int(now))
