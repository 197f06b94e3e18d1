"""The dedup stage's write buffer: one table write per changed key per batch, reads see the batch."""

from __future__ import annotations

from typing import Any

from streams.tableviews import BufferedView, TableView


class CountingTable(dict[bytes, bytes]):
    """A Faust table stand-in that counts writes (each would be a changelog message)."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.reads = 0

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)

    def pop(self, key: bytes, default: Any = None) -> Any:
        self.writes += 1
        return super().pop(key, default)

    def get(self, key: bytes, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)


def view(table: CountingTable, cache_size: int = 100) -> BufferedView[str, str]:
    return BufferedView(TableView(table, str.encode, str.encode, bytes.decode), cache_size=cache_size)


def test_a_key_written_many_times_in_a_batch_is_written_once() -> None:
    table = CountingTable()
    stories = view(table)
    for members in range(1, 6):
        stories["story-1"] = f"members={members}"
    assert stories.get("story-1") == "members=5"  # the batch reads its own writes
    assert table.writes == 0
    assert stories.flush() == 1
    assert table == {b"story-1": b"members=5"}
    assert table.writes == 1
    assert stories.flush() == 0  # nothing new


def test_a_delete_after_a_set_deletes_and_reads_as_absent() -> None:
    table = CountingTable()
    table[b"old"] = b"1"
    table.writes = 0
    hashes = view(table)
    hashes["new"] = "2"
    hashes.delete("old")
    hashes.delete("new")
    assert hashes.get("old") is None
    assert hashes.get("new") is None
    hashes.flush()
    assert table == {}


def test_values_read_once_come_from_the_cache_and_the_cache_is_bounded() -> None:
    table = CountingTable()
    for n in range(10):
        table[str(n).encode()] = f"v{n}".encode()
    window = view(table, cache_size=4)
    assert [window.get(str(n)) for n in range(3)] == ["v0", "v1", "v2"]
    reads = table.reads
    assert window.get("1") == "v1"
    assert table.reads == reads  # from the cache
    for n in range(3, 10):
        assert window.get(str(n)) == f"v{n}"
    assert len(window._cache) <= 4
    assert window.get("missing") is None
