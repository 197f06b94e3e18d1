"""Every word a feed poll can end with: the ``outcome`` label of ``wirewatch_feed_polls_total``.

A closed set, so the alert rules and the dashboard can tell success from
failure by name: ``Outcome.success_pattern()`` is the regex they use, and a
unit test holds them to it. Fetch outcomes come from ``monitor.fetch``, the
rest from ``monitor.polling`` (parsing, HTTP statuses with a meaning of their
own) and ``streams.agents.poll`` (our own failures).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # fetch (monitor.fetch)
    OK = "ok"  # a 200 whose body went to the parser
    NOT_MODIFIED = "not_modified"  # a 304 to our conditional GET
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    CONNECT_ERROR = "connect_error"
    DNS_ERROR = "dns_error"
    REDIRECTS = "too_many_redirects"
    PROTOCOL_ERROR = "protocol_error"
    BAD_ENCODING = "bad_content_encoding"
    # poll (monitor.polling)
    UNCHANGED = "unchanged"  # a 200 with the body of the last poll: nothing parsed
    HTML_PAGE = "html_page"
    NOT_A_FEED = "not_a_feed"
    EMPTY = "empty_body"
    PARSE_TIMEOUT = "parse_timeout"
    PARSE_CRASH = "parse_crash"
    GONE = "http_410"
    NOT_FOUND = "http_404"
    HTTP_3XX = "http_3xx"  # a redirect status with nowhere to go
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    THROTTLED = "throttled"
    # the worker's own failures (streams.agents.poll)
    INTERNAL_ERROR = "internal_error"
    PUBLISH_ERROR = "publish_error"

    @property
    def is_success(self) -> bool:
        """The feed answered and we have its current content (new, or known to be unchanged)."""
        return self in _SUCCESSES

    @classmethod
    def of_status(cls, status: int) -> Outcome:
        """A failed HTTP status's outcome, by class; ``http_error`` for a status outside 3xx-5xx."""
        return _BY_STATUS_CLASS.get(status // 100, cls.HTTP_ERROR)

    @classmethod
    def successes(cls) -> frozenset[Outcome]:
        return _SUCCESSES

    @classmethod
    def success_pattern(cls) -> str:
        """The PromQL regex of the successes, as ``outcome!~"…"`` in the rules and dashboard uses it."""
        return "|".join(sorted(_SUCCESSES))


_SUCCESSES = frozenset({Outcome.OK, Outcome.NOT_MODIFIED, Outcome.UNCHANGED})
_BY_STATUS_CLASS = {3: Outcome.HTTP_3XX, 4: Outcome.HTTP_4XX, 5: Outcome.HTTP_5XX}


class PageOutcome(StrEnum):
    """Every word an article page fetch can end with: ``wirewatch_fulltext_pages_total{outcome}``
    and the article's ``fulltext.status``. Only ``extracted`` put the page's text into the article."""

    EXTRACTED = "extracted"
    # not fetched
    ROBOTS_DENIED = "robots_denied"  # robots.txt disallows the page for our product token
    # robots.txt answered 5xx/429 or not at all: RFC 9309 says stay out
    ROBOTS_UNREACHABLE = "robots_unreachable"
    BUDGET = "budget"  # the article's wait ran out (waiting for the host, the download or the extraction)
    BAD_URL = "bad_url"  # no http(s) link to fetch
    # fetched, nothing usable
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    THROTTLED = "throttled"  # 429 or 503
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    CONNECT_ERROR = "connect_error"
    DNS_ERROR = "dns_error"
    REDIRECTS = "too_many_redirects"
    PROTOCOL_ERROR = "protocol_error"
    BAD_ENCODING = "bad_content_encoding"
    NOT_HTML = "not_html"  # a PDF, an image, a video: not a page to read
    # too little text, and the page says it is not free (schema.org isAccessibleForFree) or asks a password
    PAYWALLED = "paywalled"
    NO_TEXT = "no_text"  # the extractor found no article, or one shorter than fulltext.min_chars
    EXTRACT_TIMEOUT = "extract_timeout"
    EXTRACT_ERROR = "extract_error"

    @classmethod
    def of_fetch(cls, outcome: Outcome, status: int | None) -> PageOutcome:
        """The page outcome of a fetch that did not give a body."""
        if outcome == Outcome.HTTP_ERROR:
            status = status or 0
            if status in (429, 503):
                return cls.THROTTLED
            return cls.HTTP_5XX if status >= 500 else cls.HTTP_4XX
        return _PAGE_OF_FETCH.get(outcome, cls.PROTOCOL_ERROR)


_PAGE_OF_FETCH = {
    Outcome.TIMEOUT: PageOutcome.TIMEOUT,
    Outcome.TOO_LARGE: PageOutcome.TOO_LARGE,
    Outcome.CONNECT_ERROR: PageOutcome.CONNECT_ERROR,
    Outcome.DNS_ERROR: PageOutcome.DNS_ERROR,
    Outcome.REDIRECTS: PageOutcome.REDIRECTS,
    Outcome.PROTOCOL_ERROR: PageOutcome.PROTOCOL_ERROR,
    Outcome.BAD_ENCODING: PageOutcome.BAD_ENCODING,
}
