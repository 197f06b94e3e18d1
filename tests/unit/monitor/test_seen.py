"""The seen index as numpy rows packs exactly what the Python objects it replaced packed.

The reference below is the index as it was written first (a dict of entries,
``struct`` "<8s4sHI", sorted by last seen on packing); random polls put,
touch and forget entries in both, and every packed blob must match byte for
byte, so indexes already on the poll-state topic read the same.
"""

from __future__ import annotations

import base64
import random
import struct
from dataclasses import dataclass

import pytest

from monitor.seen import ENTRY, SeenIndex, content_key, id_key

_ENTRY = struct.Struct("<8s4sHI")


@dataclass
class _Seen:
    content: bytes
    revision: int
    last_seen: int


class Reference:
    """The first implementation, kept as the oracle."""

    def __init__(self, blob: str) -> None:
        raw = base64.b64decode(blob) if blob else b""
        usable = len(raw) - len(raw) % _ENTRY.size
        self.entries = {k: _Seen(c, r, t) for k, c, r, t in _ENTRY.iter_unpack(raw[:usable])}

    def pack(self, limit: int) -> str:
        items = sorted(self.entries.items(), key=lambda kv: kv[1].last_seen, reverse=True)[:limit]
        raw = b"".join(
            _ENTRY.pack(k, s.content, min(s.revision, 0xFFFF), max(0, min(s.last_seen, 0xFFFFFFFF)))
            for k, s in items
        )
        return base64.b64encode(raw).decode("ascii")


def as_bytes(key: int, size: int) -> bytes:
    return key.to_bytes(size, "little")


@pytest.mark.parametrize("seed", range(8))
def test_random_polls_pack_the_same_bytes_as_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.choice([10, 50, 200])
    ids = [f"https://example.com/news/{n}" for n in range(400)]
    blob = ""
    now = 1_700_000_000
    for _ in range(40):
        now += rng.choice([0, 1, 60])  # equal times too: ties keep their order
        ours, reference = SeenIndex.unpack(blob), Reference(blob)
        for article_id in rng.sample(ids, rng.randint(0, 60)):
            key = id_key(article_id)
            digest = f"{rng.getrandbits(32):08x}" + "0" * 56
            found = ours.lookup(key)
            kept = reference.entries.get(as_bytes(key, 8))
            assert (found is None) == (kept is None)
            if found is not None and kept is not None:
                assert found == (int.from_bytes(kept.content, "little"), kept.revision)
            if found is not None and rng.random() < 0.6:  # unchanged: still in the feed
                ours.touch(key, now)
                assert kept is not None
                kept.last_seen = now
            else:  # new, or edited
                revision = 0 if found is None else found[1] + 1
                ours.put(key, content_key(digest), revision, now)
                reference.entries[as_bytes(key, 8)] = _Seen(bytes.fromhex(digest[:8]), revision, now)
        blob = ours.pack(limit)
        assert blob == reference.pack(limit)
        assert len(SeenIndex.unpack(blob)) == min(len(reference.entries), limit)


def test_the_layout_is_eighteen_bytes_little_endian() -> None:
    index = SeenIndex()
    index.put(id_key("a"), content_key("0a0b0c0d" + "0" * 56), 3, 1_700_000_000)
    raw = base64.b64decode(index.pack(10))
    assert len(raw) == ENTRY.itemsize == 18
    assert raw[8:12] == bytes.fromhex("0a0b0c0d")
    assert raw[12:14] == (3).to_bytes(2, "little")


def test_a_torn_blob_keeps_its_whole_entries() -> None:
    index = SeenIndex()
    for n in range(3):
        index.put(id_key(str(n)), n, 0, 1_700_000_000 + n)
    raw = base64.b64decode(index.pack(10))
    torn = SeenIndex.unpack(base64.b64encode(raw[:-5]).decode())
    assert len(torn) == 2
