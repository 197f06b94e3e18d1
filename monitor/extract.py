"""An article page's main text: pure, run in an extraction process (``monitor.procpool``).

The generic extractor is trafilatura (the measured leader of open-source
extractors on the Fundus evaluation set; our own figure: docs/quality.md).
A site rule (``fulltext.sites``) may remove elements first and name the
article body by a CSS selector, the way Miniflux keeps scraper rules.

Before extracting, a page is refused when it is not HTML (a PDF, an image)
and a page is "paywalled" when it holds too little text to be an article
(``fulltext.min_chars``) and either says it is not free to read (schema.org's
``isAccessibleForFree: false`` in its JSON-LD, which publishers add for
search engines) or shows a password form. Metered sites (Reuters, the LA
Times in the Fundus set) carry the flag and still serve the whole article
to an anonymous reader, and sites show a login box on every page: a page
with an article's worth of text is used whatever its flags
(``fulltext.sites`` can turn a site off). Nothing here touches the network: trafilatura only ever gets the
bytes we fetched (never a URL to fetch).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from typing import Any

from monitor.outcomes import PageOutcome

HTML_TYPES = ("text/html", "application/xhtml+xml")
BLOCKS = ("p", "h2", "h3", "h4", "li", "blockquote", "pre")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
_TRAFILATURA = f"trafilatura {version('trafilatura')}"


@dataclass(frozen=True)
class Extraction:
    """The page's text (``status`` extracted) or why there is none."""

    status: PageOutcome
    text: str = ""
    extractor: str | None = None
    chars: int = 0  # before the max_chars cut
    detail: str = ""
    seconds: float = 0.0  # the extraction's own time (in its process: no queueing)


def looks_like_html(body: bytes, content_type: str) -> bool:
    """Declared HTML, or (with no usable type) bytes that start like markup."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in HTML_TYPES:
        return True
    if mime and mime not in ("application/octet-stream", "text/plain", "application/xml", "text/xml"):
        return False  # image/…, application/pdf, video/…: the server says what it is
    head = body[:2048].lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if b"\x00" in head[:1024]:
        return False
    lowered = head[:1024].lower()
    starts = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")
    return lowered.startswith(starts) or b"<html" in lowered


def _not_free(tree: Any) -> bool:
    """schema.org ``isAccessibleForFree: false`` anywhere in the page's JSON-LD."""

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "isAccessibleForFree" and str(value).strip().lower() in ("false", "0", "no"):
                    return True
                if walk(value):
                    return True
        elif isinstance(node, list):
            return any(walk(item) for item in node)
        return False

    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        if walk(data):
            return True
    return False


def _clean(text: str) -> str:
    """Paragraphs on their own lines, runs of blanks folded, empty lines gone."""
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _selected_text(tree: Any, selector: str) -> str:
    """The text of the elements ``selector`` matches, a paragraph per block element."""
    parts: list[str] = []
    for element in tree.cssselect(selector):
        blocks = [b for b in element.iter(*BLOCKS)]
        if blocks:
            parts.extend(b.text_content() for b in blocks)
        else:
            parts.append(element.text_content())
    return _clean("\n".join(parts))


def cut(text: str, max_chars: int) -> str:
    """At most ``max_chars``, cut at a word boundary."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    space = max(head.rfind(" "), head.rfind("\n"))
    return head[:space].rstrip() if space > max_chars // 2 else head


def extract_page(
    body: bytes,
    url: str,
    content_type: str = "",
    *,
    selector: str | None = None,
    remove: tuple[str, ...] = (),
    min_chars: int = 300,
    max_chars: int = 20000,
    fallback: bool = False,
) -> Extraction:
    """The main text of one page, or why not. Pure: safe in any process. ``fallback``: trafilatura
    may also try its fallback extractors (``fulltext.fallback``)."""
    started = time.perf_counter()
    found = _extract(body, url, content_type, selector, remove, min_chars, max_chars, fallback)
    return replace(found, seconds=time.perf_counter() - started)


def _extract(
    body: bytes,
    url: str,
    content_type: str,
    selector: str | None,
    remove: tuple[str, ...],
    min_chars: int,
    max_chars: int,
    fallback: bool,
) -> Extraction:
    if not looks_like_html(body, content_type):
        mime = content_type.split(";", 1)[0].strip() or "no type"
        return Extraction(PageOutcome.NOT_HTML, detail=f"not an HTML page ({mime})")
    import trafilatura
    from trafilatura.utils import load_html

    tree = load_html(body)
    if tree is None:
        return Extraction(PageOutcome.NOT_HTML, detail="no HTML document could be read")
    walled = (
        "the page says isAccessibleForFree: false"
        if _not_free(tree)
        else "a login form"
        if tree.xpath('//input[@type="password"]')
        else ""
    )
    for css in remove:
        for element in tree.cssselect(css):
            element.drop_tree()
    text, extractor = "", _TRAFILATURA
    if selector:
        text = _selected_text(tree, selector)
        extractor = "selector"
    if not text:
        extracted = trafilatura.extract(
            tree,
            url=url or None,
            include_comments=False,
            include_tables=False,
            deduplicate=False,
            fast=not fallback,
        )
        text, extractor = _clean(extracted or ""), _TRAFILATURA
    if walled and len(text) < max(1, min_chars):
        return Extraction(PageOutcome.PAYWALLED, chars=len(text), detail=f"{walled} and no article")
    if len(text) < max(1, min_chars):
        return Extraction(
            PageOutcome.NO_TEXT, chars=len(text), detail=f"{len(text)} characters of text (< {min_chars})"
        )
    return Extraction(PageOutcome.EXTRACTED, cut(text, max_chars), extractor, len(text))


def _warm_page(paragraphs: int) -> bytes:
    """A page of navigation, lists and comments around ``paragraphs`` of text: with a few,
    trafilatura finds too little (and may fall back to its other extractors), with many it does not."""
    links = "".join(f"<li><a href='/section/{n}'>Section {n} of the site</a></li>" for n in range(40))
    comments = "".join(f"<li><p>Reader {n} says this is a comment.</p></li>" for n in range(20))
    body = "".join(
        f"<p>Paragraph {n} of the report, with a sentence long enough to count as text, "
        "the way an article's paragraphs are written.</p>"
        for n in range(paragraphs)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>A report | Warm</title>"
        f"</head><body><header><nav><ul>{links}</ul></nav></header><main><article>"
        f"<h1>A report</h1><p class='byline'>By a reporter</p><div class='body'>{body}</div></article>"
        f"<aside><ul>{links}</ul></aside><section class='comments'><ul>{comments}</ul></section>"
        f"</main><footer><ul>{links}</ul></footer></body></html>"
    ).encode()


def warm_extraction() -> None:
    """A teaser page and an article page, with and without the fallback extractors: a new
    process's first ones are slow (``monitor.prewarm``)."""
    for paragraphs in (1, 12):
        for fallback in (False, True):
            extract_page(_warm_page(paragraphs), "http://warm.invalid/report", "text/html", fallback=fallback)
