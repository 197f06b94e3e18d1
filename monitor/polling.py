"""One poll of one feed: fetch, parse, compare with what the feed showed before.

No Kafka here: ``poll_feed`` takes the feed's spec and state and returns the
articles to publish and the next state. The Faust side
(``streams.agents.poll``) owns scheduling, publishing and the table.

Per entry, the state remembers the article id, a hash of its content and the
revision last published. A new id is published with revision 0; a known id
whose content changed is published again as an update (same id, next
revision); an unchanged one is counted as seen.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.config import PollingConfig
from monitor.errors import ParseCrashed, ParseTimeout
from monitor.fetch import Fetcher, FetchResult
from monitor.items import ItemMemory, KnownItems
from monitor.normalize import FeedContext
from monitor.outcomes import Outcome
from monitor.parsing import ParseResult, ParserPool
from monitor.seen import SeenIndex, content_key, id_key
from streams.records import Article, FeedSpec, FeedState, content_hash


@dataclass
class PollOutcome:
    """What one poll found: articles to publish (new and updated) and the feed's next state."""

    outcome: Outcome
    state: FeedState
    articles: list[Article] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    seen: int = 0
    skipped: int = 0
    fetch: FetchResult | None = None
    detail: str = ""
    parse_seconds: float | None = None  # set when the body went to the parser

    @property
    def succeeded(self) -> bool:
        return self.outcome.is_success


def feed_context(spec: FeedSpec, settings: PollingConfig) -> FeedContext:
    return FeedContext(
        feed_id=spec.id,
        url=spec.url,
        title=spec.title,
        language=spec.language,
        tags=spec.tags,
        future_tolerance=settings.future_tolerance,
        languages=settings.languages,
    )


def first_poll_at(now: float, settings: PollingConfig, spec: FeedSpec, rng: random.Random) -> float:
    """When a feed never polled before is first due: spread so new feeds do not fire together."""
    return now + rng.uniform(0, min(settings.first_poll_spread, spec.interval_seconds))


def next_delay(
    interval: float, failures: int, retry_after: float | None, settings: PollingConfig, rng: random.Random
) -> float:
    """Seconds until the next poll: the interval with jitter, doubled per consecutive failure
    (capped at ``backoff_max``), and never sooner than a ``Retry-After`` the server sent
    (itself capped at ``backoff_max``, so a hostile value cannot park a feed for years)."""
    delay = interval
    if failures > 0:
        delay = min(interval * 2 ** min(failures - 1, 30), max(settings.backoff_max, interval))
        delay = max(delay, interval)
    delay *= rng.uniform(1 - settings.jitter, 1 + settings.jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_max))
    return delay


@dataclass(frozen=True)
class Recall:
    """What a feed's state says about its last body: the items the parser may skip, and the seen index."""

    known: dict[bytes, int]  # item key → the key of its article in ``seen``
    scope: bytes
    seen: SeenIndex

    @classmethod
    def of(cls, state: FeedState) -> Recall:
        """Only items whose article the seen index still holds are known: the others must be read."""
        memory = ItemMemory.unpack(state.items)
        seen = SeenIndex.unpack(state.seen)
        known = {item: key for item, key in (memory.articles or {}).items() if key in seen}
        return cls(known, memory.scope, seen)

    @property
    def items(self) -> KnownItems:
        return KnownItems(self.scope, frozenset(self.known))

    def diff(
        self, parsed: ParseResult, state: FeedState, now: float, limit: int
    ) -> tuple[list[Article], FeedState, int, int, int]:
        """``diff_entries`` on a body parsed with ``items``: its known items, scope and seen index."""
        return diff_entries(
            parsed.articles,
            state,
            now,
            limit,
            items=parsed.items,
            scope=parsed.scope,
            known=self.known,
            seen=self.seen,
        )


def diff_entries(
    articles: list[Article],
    state: FeedState,
    now: float,
    limit: int,
    *,
    items: Sequence[tuple[bytes, int | None]] = (),
    scope: bytes = b"",
    known: Mapping[bytes, int] | None = None,
    seen: SeenIndex | None = None,
) -> tuple[list[Article], FeedState, int, int, int]:
    """(to publish, state with the new seen index, new count, updated count, unchanged count).

    ``items`` (``ParseResult.items``) walks the body's items in order, with ``known`` mapping the items
    that were not read to their article's key in the seen index; without it the articles are walked.
    The state then remembers the items whose article the seen index now holds (``monitor.items``).
    ``seen`` is the state's seen index when the caller has unpacked it already.
    """
    seen = seen if seen is not None else SeenIndex.unpack(state.seen)
    publish: list[Article] = []
    new = updated = unchanged = 0
    present: set[int] = set()
    read: dict[bytes, int] = {}  # item key → id key, for items whose article the index now holds
    walk = items or [(b"", index) for index in range(len(articles))]
    for item, index in walk:
        if index is None:  # known and unchanged: not read this time
            key = (known or {})[item]
            if key not in present:
                present.add(key)
                seen.touch(key, now)
                unchanged += 1
                read[item] = key
            continue
        article = articles[index]
        key = id_key(article.id)
        if key in present:  # the same link twice in one feed
            continue
        present.add(key)
        content = content_key(content_hash(article.title, article.summary, article.content))
        before = seen.lookup(key)
        if before is None:
            publish.append(article)
            seen.put(key, content, 0, now)
            new += 1
        elif before[0] != content:
            revision = before[1] + 1
            publish.append(article.model_copy(update={"revision": revision}))
            seen.put(key, content, revision, now)
            updated += 1
        else:
            seen.put(key, *before, now)  # unchanged: still in the feed
            unchanged += 1
        read[item] = key
    packed = seen.pack(limit)
    count = min(len(seen), limit)
    remembered = ItemMemory.pack(scope, read.items(), limit) if items else ""
    diffed = state.model_copy(update={"seen": packed, "seen_count": count, "items": remembered})
    return publish, diffed, new, updated, unchanged


async def poll_feed(
    spec: FeedSpec,
    state: FeedState,
    fetcher: Fetcher,
    parser: ParserPool,
    settings: PollingConfig,
    *,
    now: float | None = None,
    rng: random.Random | None = None,
) -> PollOutcome:
    """Fetch and process one feed. Never raises for anything a server or a body can do."""
    rng = rng or random.Random()
    started = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
    now_s = started.timestamp()
    fetched = await fetcher.fetch(spec.url, state.etag, state.last_modified)
    base = state.model_copy(update={"last_attempt_at": now_s})

    def failure(outcome: Outcome, detail: str, *, disable: str | None = None, **extra: object) -> PollOutcome:
        failures = state.consecutive_failures + 1
        delay = next_delay(spec.interval_seconds, failures, fetched.retry_after, settings, rng)
        new_state = base.model_copy(
            update={
                "consecutive_failures": failures,
                "next_poll_at": now_s + delay,
                "last_outcome": outcome,
                "last_error": detail,
                "disabled_reason": disable,
                "consecutive_404": 0,
                **extra,
            }
        )
        return PollOutcome(outcome, new_state, fetch=fetched, detail=detail)

    def success(outcome: Outcome, **extra: object) -> PollOutcome:
        delay = next_delay(spec.interval_seconds, 0, fetched.retry_after, settings, rng)
        new_state = base.model_copy(
            update={
                "consecutive_failures": 0,
                "consecutive_404": 0,
                "last_success_at": now_s,
                "next_poll_at": now_s + delay,
                "last_outcome": outcome,
                "last_error": None,
                **extra,
            }
        )
        return PollOutcome(outcome, new_state, fetch=fetched)

    if fetched.outcome == Outcome.NOT_MODIFIED:
        return success(Outcome.NOT_MODIFIED)
    if fetched.outcome == Outcome.HTTP_ERROR:
        status = fetched.status or 0
        if status == 410:
            return failure(
                Outcome.GONE, f"{spec.url}: HTTP 410 Gone — feed disabled", disable="HTTP 410 Gone"
            )
        if status == 404:
            count = state.consecutive_404 + 1
            disable = (
                f"HTTP 404 on {count} consecutive polls" if count >= settings.disable_after_404 else None
            )
            return failure(
                Outcome.NOT_FOUND,
                f"{spec.url}: HTTP 404 Not Found ({count} in a row)",
                disable=disable,
                consecutive_404=count,
            )
        if status in (429, 503):
            return failure(
                Outcome.THROTTLED, f"{spec.url}: {fetched.error}, Retry-After {fetched.retry_after}"
            )
        return failure(Outcome.of_status(status), f"{spec.url}: {fetched.error}")
    if fetched.outcome != Outcome.OK:
        return failure(fetched.outcome, f"{spec.url}: {fetched.error}")

    body_hash = hashlib.sha256(fetched.body).hexdigest()[:32]
    validators = {"etag": fetched.etag, "last_modified": fetched.last_modified}
    if body_hash == state.body_hash:  # stale ETag or no validators: same bytes as last time
        return success(Outcome.UNCHANGED, **validators)
    recall = Recall.of(state)
    parse_started = time.monotonic()
    try:
        parsed = await parser.parse(
            fetched.body,
            fetched.headers,
            feed_context(spec, settings),
            started,
            recall.items,
        )
    except (ParseTimeout, ParseCrashed) as exc:
        crashed = failure(
            Outcome.PARSE_TIMEOUT if isinstance(exc, ParseTimeout) else Outcome.PARSE_CRASH,
            f"{spec.url}: {exc}",
        )
        crashed.parse_seconds = time.monotonic() - parse_started
        return crashed
    parse_seconds = time.monotonic() - parse_started
    if parsed.kind != "feed":
        outcome = {"html": Outcome.HTML_PAGE, "empty": Outcome.EMPTY}.get(parsed.kind, Outcome.NOT_A_FEED)
        rejected = failure(outcome, f"{spec.url}: {parsed.reason}")
        rejected.parse_seconds = parse_seconds
        return rejected
    publish, diffed, new, updated, unchanged = recall.diff(parsed, state, now_s, settings.seen_entries)
    result = success(
        Outcome.OK,
        body_hash=body_hash,
        seen=diffed.seen,
        seen_count=diffed.seen_count,
        items=diffed.items,
        **validators,
    )
    result.articles = publish
    result.parse_seconds = parse_seconds
    result.new, result.updated, result.seen, result.skipped = new, updated, unchanged, parsed.skipped
    if parsed.bozo:
        result.detail = f"parsed despite errors: {parsed.bozo}"
    return result
