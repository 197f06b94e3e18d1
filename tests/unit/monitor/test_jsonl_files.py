"""JSON-lines files users hand us (archives, ``--decisions``): a bad line is named by its number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.archive import json_lines, read_article_lines
from monitor.errors import ArchiveError
from monitor.story_view import read_decision_lines


def test_blank_lines_are_skipped_and_numbers_are_the_file_s(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n  \n[2]\n', encoding="utf-8")
    assert list(json_lines(path)) == [(1, {"a": 1}), (4, [2])]


def test_a_line_that_is_not_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    path.write_text('{"title": "Ceasefire talks", "url": "https://example.org/a"}\n{"title": oops}\n')
    with pytest.raises(ArchiveError, match=r"articles\.jsonl:2: not JSON"):
        read_article_lines(path, "feed")


def test_a_decision_file_line_without_the_keys_names_them(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text('{"url": "https://example.org/a"}\n', encoding="utf-8")
    with pytest.raises(ArchiveError, match=r"decisions\.jsonl:1: not a decision line \(no "):
        list(read_decision_lines(path))


def test_a_loose_line_gets_its_language_detected_beside_a_declared_one(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    lines = [
        {"title": "Україна та Росія обмінялися 175 полоненими", "published": "2025-03-19T10:00:00+00:00"},
        {"title": "Russia and Ukraine swap 175 prisoners of war", "language": "en-GB"},
    ]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    ukrainian, english = read_article_lines(path, "feed").articles
    assert (ukrainian.language, ukrainian.detected_language) == (None, "uk")
    assert (english.language, english.detected_language, english.lang) == ("en-gb", "en", "en")
