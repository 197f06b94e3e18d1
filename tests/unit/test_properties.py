"""Properties, checked on generated input (hypothesis, bounded in time): never a traceback.

- URL canonicalization is idempotent, drops every tracking parameter, and keeps
  everything else byte for byte (so it never merges two different pages);
- dates from feeds become aware UTC datetimes or nothing, and an entry's
  publication time is never later than its fetch plus the tolerance;
- config loading gives a config or a ``ConfigError`` naming lines, whatever the YAML;
- the detector query parser gives a query or a ``QuerySyntaxError``, and what it
  parses it can evaluate.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from detectors.query import QuerySyntaxError, evaluate, parse
from detectors.text import FieldText
from monitor.config import WirewatchConfig
from monitor.errors import ConfigError
from monitor.loading import parse_config
from monitor.normalize import FeedContext, normalize_entry, to_utc
from monitor.urls import TRACKING_PARAMS, TRACKING_PREFIXES, canonical_url, is_tracking_param

BOUNDED = settings()  # tests/conftest.py: fixed examples by default, ``explore`` for fresh ones

# ----------------------------------------------------------------- URLs

url_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789-._~%", min_size=1, max_size=12)
tracking_name = st.one_of(
    st.sampled_from(sorted(TRACKING_PARAMS)),
    st.builds(lambda p, s: p + s, st.sampled_from(TRACKING_PREFIXES), url_text),
)
kept_name = url_text.filter(lambda n: not is_tracking_param(n))


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(a URL with tracking and other parameters, the other parameters as written)."""
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(st.sampled_from(["News.Example", "example.org", "bbc.co.uk", "127.0.0.1", "[::1]"]))
    port = draw(st.sampled_from(["", ":443", ":80", ":8080"]))
    path = "/" + "/".join(draw(st.lists(url_text, max_size=4)))
    kept = [f"{n}={v}" for n, v in draw(st.lists(st.tuples(kept_name, url_text), max_size=4))]
    tracking = [f"{n}={v}" for n, v in draw(st.lists(st.tuples(tracking_name, url_text), max_size=3))]
    params = draw(st.permutations(kept + tracking))
    query = "?" + "&".join(params) if params else ""
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    return f"{scheme}://{host}{port}{path}{query}{fragment}", [p for p in params if p in kept]


@BOUNDED
@given(urls())
def test_canonical_urls_are_idempotent_drop_tracking_and_keep_the_rest(case: tuple[str, list[str]]) -> None:
    url, kept = case
    canonical = canonical_url(url)
    assert canonical_url(canonical) == canonical
    parts = urlsplit(canonical)
    remaining = parts.query.split("&") if parts.query else []
    assert remaining == kept, "kept parameters in order, byte for byte; tracking ones gone"
    assert parts.fragment == ""
    assert parts.path == urlsplit(url).path or (parts.path == "/" and urlsplit(url).path == "")


@BOUNDED
@given(st.text(max_size=80))
@example("0 #")  # found by a CI run: the space before the fragment survived the first pass
def test_canonicalization_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    canonical = canonical_url(text)
    assert canonical_url(canonical) == canonical


# ----------------------------------------------------------------- dates

struct_times = st.tuples(*[st.integers(-(10**6), 10**6)] * 9).map(time.struct_time)


@BOUNDED
@given(
    st.one_of(st.none(), struct_times, st.datetimes(timezones=st.just(UTC)).map(lambda d: d.utctimetuple()))
)
def test_dates_become_aware_utc_or_nothing(parsed: time.struct_time | None) -> None:
    result = to_utc(parsed)
    assert result is None or result.tzinfo == UTC


FETCHED = datetime(2025, 3, 18, 16, 0, tzinfo=UTC)
FEED = FeedContext(feed_id="f", url="https://example.org/feed", future_tolerance=600.0)


@BOUNDED
@given(
    title=st.text(max_size=40),
    summary=st.text(max_size=40),
    published=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)).map(lambda d: d.utctimetuple())),
    link=st.one_of(st.none(), st.text(max_size=30), urls().map(lambda c: c[0])),
)
def test_an_entry_is_an_article_or_nothing_and_never_from_the_future(
    title: str, summary: str, published: time.struct_time | None, link: str | None
) -> None:
    entry = {"title": title, "summary": summary, "published_parsed": published, "link": link}
    article = normalize_entry(entry, FEED, "Source", None, FETCHED)
    if article is not None:
        assert article.published_at <= FETCHED + timedelta(seconds=FEED.future_tolerance)
        assert article.published_at.tzinfo is not None
        assert article.id


# ----------------------------------------------------------------- config

section_keys = st.sampled_from(
    ["kafka", "feeds", "polling", "pipeline", "worker", "metrics", "detectors", "entities", "kafak", "x"]
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
leaf_keys = st.sampled_from(
    [
        "partitions",
        "bootstrap",
        "id",
        "url",
        "interval",
        "port",
        "stages",
        "kind",
        "query",
        "window",
        "intervl",
    ]
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(leaf_keys, inner, max_size=3)),
    max_leaves=8,
)


@BOUNDED
@given(st.dictionaries(section_keys, values, max_size=4))
def test_any_yaml_gives_a_config_or_errors_with_lines(document: dict[str, object]) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    assert_config_or_errors_with_lines(text)


@BOUNDED
@given(st.text(max_size=120))
def test_any_text_gives_a_config_or_errors_with_lines(text: str) -> None:
    assert_config_or_errors_with_lines(text)


def assert_config_or_errors_with_lines(text: str) -> None:
    issues: list[str] = []
    try:
        config = parse_config(text, source="w.yaml", env={})
    except ConfigError as exc:
        issues = exc.issues
    else:
        assert isinstance(config, WirewatchConfig)
        return
    assert issues
    assert all(re.match(r"w\.yaml:\d+:\d+: ", issue) for issue in issues), issues


# ----------------------------------------------------------------- detector queries

query_tokens = st.sampled_from(
    ["AND", "OR", "NOT", "-", "(", ")", '"', "NEAR/3", "NEAR/", "*", "ceasefire", "energy*", '"air raid"',
     "Київ", "175", "prisoners", "x", " "]
)  # fmt: skip


@BOUNDED
@given(st.one_of(st.lists(query_tokens, max_size=12).map(" ".join), st.text(max_size=40)))
def test_a_query_parses_or_says_why_and_a_parsed_query_evaluates(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as exc:
        message = str(exc)
        assert message, "a syntax error says why"
        return
    fields = {"title": FieldText("Energy ceasefire: 175 prisoners exchanged after the air raid in Київ")}
    evaluate(node, fields)  # no exception: a match or not
