"""Records: plain versioned JSON, strict decoding, deterministic alert ids, the published schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from detectors.base import Severity
from detectors.engine import alert_id
from monitor.errors import RecordDecodeError
from streams.records import (
    Alert,
    Article,
    ArticleRef,
    EnrichedArticle,
    alert_json_schema,
    alert_json_schema_text,
    content_hash,
)
from tests import factories

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2025, 3, 18, 17, 45, tzinfo=UTC)


def make_article(**changes: object) -> Article:
    fields: dict[str, object] = {"url": "https://x.org/a?utm_source=rss", "canonical_url": "https://x.org/a"}
    return factories.article(at=T0, **(fields | changes))


def make_alert() -> Alert:
    article = make_article()
    return Alert(
        id=alert_id("air-raid-after-call", "kyiv|2025-03-18"),
        detector_id="air-raid-after-call",
        detector_kind="sequence",
        severity=Severity.high,
        title="Air-raid report follows leaders' call",
        fired_at=T0,
        articles=(
            ArticleRef(
                id=article.id,
                url=article.url,
                source=article.source,
                title=article.title,
                published_at=article.published_at,
            ),
        ),
        evidence={"join_key": "Ukraine", "gap_seconds": 1800},
        labels=("ukraine",),
    )


def test_article_json_is_plain_and_roundtrips() -> None:
    article = make_article()
    data = json.loads(article.encode())
    assert "__faust" not in data
    assert data["schema_version"] == 1
    assert data["revision"] == 0
    assert Article.decode(article.encode()) == article


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"not json", "Article: 1 problem(s)"),
        (b'{"id": "x"}', "Field required"),
        (b'{"id": 1, "title": []}', "Article:"),
        (None, "empty message"),
    ],
)
def test_bad_bytes_raise_decode_error(payload: bytes | None, fragment: str) -> None:
    with pytest.raises(RecordDecodeError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Article.decode(payload)


def test_naive_datetimes_are_refused() -> None:
    data = json.loads(make_article().encode())
    data["published_at"] = "2025-03-18T17:45:00"
    with pytest.raises(RecordDecodeError, match="published_at"):
        Article.decode(json.dumps(data).encode())


def test_newer_schema_version_is_refused_but_unknown_fields_are_tolerated() -> None:
    data = json.loads(make_article().encode())
    data["added_in_a_later_minor_release"] = True
    assert Article.decode(json.dumps(data).encode()).id == "a1"
    data["schema_version"] = 2
    with pytest.raises(RecordDecodeError, match="newer than this worker understands"):
        Article.decode(json.dumps(data).encode())


def test_vector_packs_to_float16_bytes() -> None:
    rng = np.random.default_rng(7)
    vector = rng.normal(size=384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    packed, dim = EnrichedArticle.pack_vector(vector)
    enriched = EnrichedArticle(
        article=make_article(),
        embedding=packed,
        dim=dim,
        model_id="m",
        content_hash="h",
        embedded_at=T0,
    )
    restored = EnrichedArticle.decode(enriched.encode()).vector()
    assert restored.dtype == np.float32
    assert restored.shape == (384,)
    assert float(restored @ vector) > 0.9999
    assert len(enriched.encode()) < 1800, "a 384-d vector must not cost kilobytes of JSON floats"


def test_alert_ids_are_deterministic_and_event_scoped() -> None:
    assert alert_id("pows", "exchange|2025-03-19") == alert_id("pows", "exchange|2025-03-19")
    assert alert_id("pows", "exchange|2025-03-19") != alert_id("pows", "exchange|2025-04-19")
    assert alert_id("pows", "k") != alert_id("pows-2", "k")
    assert alert_id("pows", "k").startswith("pows:")


def test_content_hash_ignores_case_and_whitespace_only() -> None:
    assert content_hash("Air raid  in Kyiv", "x") == content_hash("air raid in kyiv ", "x")
    assert content_hash("Air raid in Kyiv", "x") != content_hash("Air raid in Kharkiv", "x")


def test_published_alert_schema_is_current_and_validates_alerts() -> None:
    shipped = REPO / "schemas" / "alert.schema.json"
    assert shipped.read_text() == alert_json_schema_text(), (
        "schemas/alert.schema.json is stale: run `wirewatch schema alert -o schemas/alert.schema.json`"
    )
    validator = jsonschema.Draft202012Validator(alert_json_schema())
    validator.validate(json.loads(make_alert().encode()))
    broken = json.loads(make_alert().encode())
    broken["severity"] = "apocalyptic"
    assert list(validator.iter_errors(broken)), "an invalid severity must fail the schema"
