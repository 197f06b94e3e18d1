"""Extracting an article page's text: each file in ``page_cases/`` states what a correct extraction gives.

A case opens with ``<!-- Expect: STATUS -->`` and may add ``<!-- Contains: … -->``
(a phrase the text must hold: the story) and ``<!-- Lacks: … -->`` (one it must not:
navigation, ads, comments), the way feedparser's corpus files state their own
expectations.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.extract import cut, extract_page, looks_like_html
from monitor.outcomes import PageOutcome

CASES = sorted((Path(__file__).parent / "page_cases").glob("*.html"))
EXPECT = re.compile(r"<!--\s*(Expect|Contains|Lacks):\s*(.*?)\s*-->")


def expectations(path: Path) -> tuple[str, list[str], list[str]]:
    found = EXPECT.findall(path.read_text(encoding="utf-8"))
    status = [v for k, v in found if k == "Expect"]
    assert len(status) == 1, f"{path.name}: one Expect line"
    return status[0], [v for k, v in found if k == "Contains"], [v for k, v in found if k == "Lacks"]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_each_page_case_extracts_as_it_says(path: Path) -> None:
    status, contains, lacks = expectations(path)
    page = extract_page(path.read_bytes(), f"https://news.example/{path.stem}", "text/html; charset=utf-8")
    assert page.status == status, page
    for phrase in contains:
        assert phrase in page.text, (phrase, page.text)
    for phrase in lacks:
        assert phrase not in page.text, (phrase, page.text)
    if page.status == PageOutcome.EXTRACTED:
        assert page.extractor is not None
        assert page.extractor.startswith("trafilatura ")
        assert page.chars == len(page.text)
    else:
        assert page.text == ""
        assert page.detail


def test_there_are_cases_of_every_kind() -> None:
    assert {expectations(p)[0] for p in CASES} >= {"extracted", "paywalled", "no_text"}


@pytest.mark.parametrize(
    ("body", "content_type", "html"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", False),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "application/pdf", False),
        (b"\x00\x01\x02binary", "application/octet-stream", False),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", "", True),
        (b"\xef\xbb\xbf<html><body>x</body></html>", "application/octet-stream", True),
        (b"<p>x</p>", "text/html; charset=utf-8", True),
        (b"<html><body>x</body></html>", "video/mp4", False),
    ],
)
def test_only_html_is_read_as_a_page(body: bytes, content_type: str, html: bool) -> None:
    assert looks_like_html(body, content_type) is html
    if not html:
        page = extract_page(body, "https://news.example/file", content_type)
        assert page.status == PageOutcome.NOT_HTML
        assert "not an HTML page" in page.detail


def test_a_site_rule_picks_the_body_by_selector_and_removes_what_it_names() -> None:
    path = Path(__file__).parent / "page_cases" / "article-amid-boilerplate.html"
    page = extract_page(
        path.read_bytes(),
        "https://news.example/pows",
        "text/html",
        selector="div.article-body",
        remove=("div.article-body p:last-child",),
    )
    assert page.status == PageOutcome.EXTRACTED
    assert page.extractor == "selector"
    assert page.text.splitlines()[0].startswith("Russia and Ukraine will exchange 175 prisoners of war")
    assert "largest exchanges" not in page.text  # removed by the rule
    # a selector that matches nothing falls back to the generic extractor
    fallback = extract_page(path.read_bytes(), "https://news.example/pows", "text/html", selector="div.nope")
    assert fallback.status == PageOutcome.EXTRACTED
    assert fallback.extractor is not None
    assert fallback.extractor.startswith("trafilatura")


def test_long_text_is_cut_at_a_word_and_short_text_is_no_article() -> None:
    assert cut("one two three four", 9) == "one two"
    assert cut("short", 100) == "short"
    path = Path(__file__).parent / "page_cases" / "article-amid-boilerplate.html"
    page = extract_page(path.read_bytes(), "https://news.example/pows", "text/html", max_chars=200)
    assert len(page.text) <= 200
    assert page.chars > 200  # the length before the cut
    assert not page.text.endswith(" ")
    strict = extract_page(path.read_bytes(), "https://news.example/pows", "text/html", min_chars=5000)
    assert strict.status == PageOutcome.NO_TEXT
