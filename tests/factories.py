"""Records for tests, built one way: an ``Article`` as a poller publishes it, and its enriched form.

Each test module keeps the few values it cares about (ids, titles, minutes)
and gets the rest from here, so a new required field of ``Article`` is added
in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from streams.records import Article, EnrichedArticle

T0 = datetime(2025, 3, 18, 12, 0, tzinfo=UTC)


def article(
    article_id: str = "a1",
    title: str = "Air raid alarm in Kyiv after Trump-Putin call",
    summary: str = "",
    *,
    feed: str = "wire",
    source: str | None = None,
    at: datetime = T0,
    fetched_after: timedelta = timedelta(0),
    url: str | None = None,
    **fields: Any,
) -> Article:
    """An article of ``feed`` published at ``at`` and fetched ``fetched_after`` later.

    The URL and the source derive from the feed and id unless given; any other
    ``Article`` field goes in ``fields`` (``language="en"``, ``canonical_url=...``).
    """
    link = url or f"https://{feed}.example/{article_id}"
    values: dict[str, Any] = {
        "id": article_id,
        "feed_id": feed,
        "source": source if source is not None else feed.title(),
        "url": link,
        "canonical_url": link,
        "title": title,
        "summary": summary,
        "published_at": at,
        "fetched_at": at + fetched_after,
    }
    values.update(fields)
    return Article.model_validate(values)


def enriched(
    of: Article, vector: npt.NDArray[np.float32] | None, model: str = "test", at: datetime | None = None
) -> EnrichedArticle:
    """``of`` with its vector (None: nothing to embed), as the embed stage sends it."""
    return EnrichedArticle.of(of, vector, model, at if at is not None else of.fetched_at)
