"""OPML import and export: the subscription list every feed reader speaks.

Import turns an OPML file into validated ``feeds:`` entries for the YAML
config (the config stays the one source of truth that ``wirewatch run`` and
``wirewatch feeds sync`` publish to the feeds topic). Parsing is listparser's
(the feedparser maintainer's OPML parser; it does not expand entities); we add
stable ids, validation and de-duplication against the configured feeds.

OPML carries title, URL, language and categories (→ tags, folders included).
It has no place for Wirewatch's ``id``, ``interval`` and ``enabled``: import
derives ids from titles and gives every feed the interval asked for; export
writes the three as ``wirewatch:`` attributes that other readers ignore and our
import reads back, so export → import round-trips.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import listparser
from pydantic import ValidationError

from detectors.durations import format_duration
from monitor.config import FeedConfig
from monitor.errors import ConfigError

WIREWATCH_NS = "https://github.com/wirewatch/wirewatch/opml"
_ID_MAX = 64


@dataclass
class OpmlImport:
    """Feeds read from an OPML file, and the outlines skipped with the reason why."""

    feeds: list[FeedConfig] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url or title, reason)

    def as_yaml_data(self) -> dict[str, Any]:
        """The ``feeds:`` section, with only the keys that differ from the defaults."""
        defaults = FeedConfig.model_fields
        rows = []
        for feed in self.feeds:
            row: dict[str, Any] = {"id": feed.id, "url": str(feed.url)}
            for key in ("title", "interval", "tags", "language", "enabled"):
                value = getattr(feed, key)
                if value != defaults[key].default:
                    row[key] = list(value) if isinstance(value, tuple) else value
            rows.append(row)
        return {"feeds": rows}


def feed_id_for(title: str, url: str, taken: set[str]) -> str:
    """A readable, valid, unused feed id from the title (else the URL's host and path)."""
    base = _slug(title) or _slug(re.sub(r"^[a-z]+://(www\.)?", "", url.lower())) or "feed"
    base = base[: _ID_MAX - 4].strip("-._") or "feed"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _slug(text: str) -> str:
    ascii_text = text.lower().encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def import_opml(
    data: bytes,
    existing: Sequence[FeedConfig] = (),
    *,
    interval: float = 300.0,
    source: str = "OPML",
) -> OpmlImport:
    """Feeds of an OPML document not already configured (by URL), each validated.

    Raises ConfigError when the document is not OPML at all.
    """
    parsed = listparser.parse(data)
    if parsed.get("bozo") and not parsed.feeds:
        raise ConfigError(source, [f"not an OPML subscription list: {parsed.get('bozo_exception')}"])
    if not parsed.feeds and b"<opml" not in data[:4096].lower():
        raise ConfigError(source, ["not an OPML subscription list: no <opml> element"])
    extras = _wirewatch_attributes(data)
    result = OpmlImport()
    taken = {feed.id for feed in existing}
    known_urls = {str(feed.url) for feed in existing}
    for outline in parsed.feeds:
        url = str(outline.get("url", "")).strip()
        title = str(outline.get("title", "")).strip()
        if not url:
            result.skipped.append((title or "?", "no xmlUrl"))
            continue
        extra = extras.get(url, {})
        wanted_id = extra.get("id")
        if wanted_id and title == wanted_id:
            title = ""  # we exported an untitled feed with its id as the required text
        feed_id = wanted_id if wanted_id and wanted_id not in taken else feed_id_for(title, url, set(taken))
        try:
            feed = FeedConfig(
                id=feed_id,
                url=url,
                title=title,
                interval=extra.get("interval", interval),
                tags=tuple(dict.fromkeys(str(t) for t in outline.get("tags", []) if t)),
                language=extra.get("language"),
                enabled=extra.get("enabled", "true") != "false",
            )
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            result.skipped.append((url, reason))
            continue
        if str(feed.url) in known_urls:
            result.skipped.append((url, "already configured"))
            continue
        known_urls.add(str(feed.url))
        taken.add(feed.id)
        result.feeds.append(feed)
    return result


def _wirewatch_attributes(data: bytes) -> dict[str, dict[str, str]]:
    """Per xmlUrl: ``id``/``interval``/``enabled`` we exported, and the OPML 2.0 ``language``.

    Read with ElementTree only when listparser accepted the document; entity
    declarations make ElementTree refuse it (no expansion), then there are none.
    """
    found: dict[str, dict[str, str]] = {}
    if b"<!ENTITY" in data:
        return found
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return found
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        values = {
            key: value
            for key in ("id", "interval", "enabled")
            if (value := outline.get(f"{{{WIREWATCH_NS}}}{key}")) is not None
        }
        if outline.get("language"):
            values["language"] = outline.get("language", "")
        found[url] = values
    return found


def export_opml(feeds: Sequence[FeedConfig], title: str = "Wirewatch feeds") -> bytes:
    """An OPML 2.0 document of the feeds, readable by any feed reader."""
    ET.register_namespace("wirewatch", WIREWATCH_NS)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {
            "type": "rss",
            "text": feed.title or feed.id,
            "title": feed.title or feed.id,
            "xmlUrl": str(feed.url),
        }
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        if feed.language:
            attrs["language"] = feed.language
        attrs[f"{{{WIREWATCH_NS}}}id"] = feed.id
        attrs[f"{{{WIREWATCH_NS}}}interval"] = format_duration(feed.interval)
        if not feed.enabled:
            attrs[f"{{{WIREWATCH_NS}}}enabled"] = "false"
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    document = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    assert isinstance(document, bytes)
    return document + b"\n"
