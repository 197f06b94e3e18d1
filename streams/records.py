"""Every record that travels on a Wirewatch topic, in one module.

Records are plain JSON that any Kafka client can read: no framework metadata
(Faust's ``Record`` would add a ``__faust`` key). Each carries
``schema_version``; readers ignore fields they do not know (additive changes
stay compatible) and reject versions newer than they understand. Agents read
raw bytes and call ``decode`` themselves, so a bad message becomes a
``RecordDecodeError`` that is dead-lettered instead of a crashed agent.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from detectors.base import DecisionKind, Severity
from monitor.errors import RecordDecodeError

R = TypeVar("R", bound="WireRecord")


def base_language(tag: str | None) -> str | None:
    """``en-GB`` → ``en``: the part of a language tag an identifier can tell."""
    return tag.split("-", 1)[0].lower() if tag else None


class WireRecord(BaseModel):
    """Base of topic records: frozen, versioned, tolerant of unknown (newer) fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    SCHEMA_VERSION: ClassVar[int] = 1

    schema_version: int = Field(1, ge=1, description="Version of this record's layout.")

    def encode(self) -> bytes:
        """UTF-8 JSON bytes for a Kafka message value."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def decode(cls: type[R], data: bytes | str | None) -> R:
        """Parse message bytes; any problem is a ``RecordDecodeError`` naming the record type."""
        if data is None:
            raise RecordDecodeError(f"{cls.__name__}: empty message (tombstone or null value)")
        try:
            record = cls.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            raise RecordDecodeError(
                f"{cls.__name__}: {exc.error_count()} problem(s), first at {where}: {first['msg']}"
            ) from exc
        if record.schema_version > cls.SCHEMA_VERSION:
            raise RecordDecodeError(
                f"{cls.__name__}: schema_version {record.schema_version} is newer than "
                f"this worker understands ({cls.SCHEMA_VERSION}); upgrade the worker"
            )
        return record


class FeedSpec(WireRecord):
    """A feed on the compacted feeds topic (key = feed id; a tombstone removes it)."""

    id: str
    url: str
    title: str = ""
    interval_seconds: float = Field(300.0, gt=0)
    tags: tuple[str, ...] = ()
    language: str | None = None
    enabled: bool = True
    fulltext: bool | None = Field(None, description="Fetch item pages: always, never, or (None) by rule.")


class FeedState(WireRecord):
    """Per-feed polling state, on the poll-results topic and in the worker's feeds table."""

    feed_id: str
    url: str | None = Field(None, description="The feed URL this state belongs to; a new URL starts afresh.")
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = Field(None, description="Hash of the last body parsed (stale-ETag guard).")
    last_attempt_at: float | None = Field(None, description="Epoch seconds of the last poll.")
    last_success_at: float | None = Field(None, description="Epoch seconds of the last good poll.")
    consecutive_failures: int = 0
    consecutive_404: int = 0
    next_poll_at: float | None = Field(None, description="Epoch seconds when the feed is due.")
    last_outcome: str | None = None
    last_error: str | None = None
    disabled_reason: str | None = Field(None, description="Set when polling stopped (410, repeated 404).")
    seen: str = Field("", description="Recently seen entries, packed (see monitor.seen).")
    seen_count: int = Field(0, ge=0, description="Entries in `seen`.")
    items: str = Field(
        "", description="The last body's items, packed (see monitor.items): the next poll reads the others."
    )


class FeedEntry(WireRecord):
    """A feed as the worker's feeds table holds it: the spec from the registry and the poll state."""

    spec: FeedSpec
    state: FeedState | None = None


# Words of a page's text embedded after the title and summary: a lead paragraph. The near-duplicate
# model and the story thresholds were fitted on title + teaser (20-60 words); a whole body would move
# every cosine out of that regime, and two outlets' bodies differ far more than their leads.
LEAD_WORDS = 60


class PageText(BaseModel):
    """What the full-text step did with an article's page (``monitor.fulltext``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str = Field(
        description="`extracted`, or why the feed's text was kept (a word of `monitor.outcomes.PageOutcome`)."
    )
    extractor: str | None = Field(
        None, description="What produced `content`: `trafilatura 2.3.1`, `selector`."
    )
    chars: int = Field(0, ge=0, description="Characters of extracted text (before the `max_chars` cut).")
    bytes: int = Field(0, ge=0, description="Bytes of the page read (decompressed).")
    url: str | None = Field(None, description="The page's final URL, after redirects.")
    seconds: float = Field(0.0, ge=0, description="Time the article waited for its page.")


class Article(WireRecord):
    """A normalized feed entry, keyed by its stable id on the raw articles topic."""

    id: str = Field(description="Stable id: from the canonical URL, else the GUID, else a content hash.")
    revision: int = Field(0, ge=0, description="0 for the first version; updates count up.")
    feed_id: str
    source: str = Field(description="Publisher name, e.g. the feed title or host.")
    url: str
    canonical_url: str
    title: str
    summary: str = ""
    content: str = ""
    authors: tuple[str, ...] = ()
    published_at: AwareDatetime
    fetched_at: AwareDatetime
    language: str | None = Field(
        None, description="Declared: the entry's, else the feed's (YAML, the feed itself, Content-Language)."
    )
    detected_language: str | None = Field(
        None,
        description="Read from title and summary (monitor.language); None for a text without letters.",
    )
    language_probability: float | None = Field(
        None, ge=0, le=1, description="The identifier's probability of `detected_language`."
    )
    tags: tuple[str, ...] = ()
    fulltext: PageText | None = Field(
        None, description="Set when the article's page was fetched for its text (which is then `content`)."
    )

    @property
    def extracted(self) -> bool:
        """``content`` is the page's text, not the feed's."""
        return self.fulltext is not None and self.fulltext.status == "extracted"

    @property
    def lang(self) -> str | None:
        """The language stages act on: detected, else the declared one's base (``en-gb`` → ``en``)."""
        return self.detected_language or base_language(self.language)

    def text_for_embedding(self) -> str:
        """Title and lead text: what the embed stage encodes (the model cuts it at ``embed.max_tokens``).

        The lead is the feed's summary, or its content when it has none; for an
        article whose page was extracted, the summary (unless the page opens with
        it) and the page's first ``LEAD_WORDS`` words.
        """
        if not self.extracted:
            lead = self.summary or self.content
            return f"{self.title}\n{lead}".strip()
        body = " ".join(self.content[: LEAD_WORDS * 20].split()[:LEAD_WORDS])
        summary = self.summary
        if summary and " ".join(summary.split()[:12]) in body:
            summary = ""  # the page opens with the teaser
        return "\n".join(part for part in (self.title, summary, body) if part).strip()


class EnrichedArticle(WireRecord):
    """An article with its embedding, on the enriched topic (the ordered sequencer)."""

    article: Article
    embedding: str = Field(
        "", description="Base64 of little-endian float16 components of the L2-normalized vector."
    )
    dim: int = Field(0, ge=0, description="Number of vector components (0 when not embedded).")
    model_id: str = Field(description="Model that produced the vector.")
    content_hash: str = Field(description="SHA-256 of the normalized title and text.")
    embedded_at: AwareDatetime
    skipped_reason: str | None = Field(
        None, description="Why no vector was computed (e.g. no text); the article still flows on."
    )

    @classmethod
    def of(
        cls,
        article: Article,
        vector: npt.NDArray[Any] | None,
        model_id: str,
        embedded_at: datetime,
        skipped_reason: str | None = None,
    ) -> EnrichedArticle:
        """The article with its vector (or none, with the reason) and its content hash."""
        packed, dim = cls.pack_vector(vector) if vector is not None else ("", 0)
        return cls(
            article=article,
            embedding=packed,
            dim=dim,
            model_id=model_id,
            content_hash=content_hash(article.title, article.summary, article.content),
            embedded_at=embedded_at,
            skipped_reason=skipped_reason,
        )

    @staticmethod
    def pack_vector(vector: npt.NDArray[Any]) -> tuple[str, int]:
        """Compact float16 bytes: 768 bytes for 384 dimensions instead of ~8 KB of JSON floats."""
        array = np.asarray(vector, dtype="<f2").ravel()
        return base64.b64encode(array.tobytes()).decode("ascii"), int(array.size)

    def vector(self) -> npt.NDArray[np.float32]:
        """The embedding as float32 (empty when the article was not embedded)."""
        raw = base64.b64decode(self.embedding)
        array = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        if array.size != self.dim:
            raise RecordDecodeError(
                f"EnrichedArticle: vector has {array.size} components, dim says {self.dim}"
            )
        return array


class Decision(BaseModel):
    """What the sequencer decided for one delivery of an article; stored, so a replay gets it back.

    ``first``: a report not seen before (it may open a story or join one);
    ``update``: a known article id whose content changed (a higher revision);
    ``exact``: the same content seen before (same id from another feed, or the
    same text under another id); ``near``: the same report worded differently.
    """

    model_config = ConfigDict(frozen=True)

    kind: DecisionKind
    revision: int = Field(ge=0, description="The article's revision as the sequencer numbers it.")
    seq: int = Field(ge=0, description="Position in the sequencer's order (offset on the enriched topic).")
    duplicate_of: str | None = Field(None, description="Id of the first article of the same report.")
    similarity: float | None = Field(None, description="Cosine similarity to `duplicate_of` (near).")
    probability: float | None = Field(None, description="The near-duplicate model's P(same report).")
    story_id: str = Field(description="Stable id of the story the article belongs to.")
    new_story: bool = Field(False, description="This article opened the story.")


class StoryState(WireRecord):
    """A story: articles about one event. In the sequencer's ``stories`` table; also sent with articles."""

    id: str = Field(description="Stable: derived from the id of the article that opened it.")
    first_article_id: str
    title: str = Field(description="Title of the article that opened the story.")
    first_seen_at: AwareDatetime
    last_seen_at: AwareDatetime
    members: int = Field(1, ge=1, description="Articles in the story, duplicates and updates included.")
    sources: tuple[str, ...] = Field((), description="Distinct sources, first ones first (at most 64).")
    source_count: int = Field(0, ge=0, description="Distinct sources (keeps counting past 64).")
    last_seq: int = Field(0, ge=0, description="Sequence number of the story's latest article.")
    centroid: str = Field(
        "",
        description=(
            "Base64 float16 mean of the embedded members' vectors (`streams.dedup.stories`); "
            "in the sequencer's table only, empty on `articles.sequenced`."
        ),
    )
    vectors: int = Field(0, ge=0, description="Embedded members the centroid averages.")
    terms: dict[str, int] = Field(
        default_factory=dict,
        description="The members' most frequent words with their counts (at most 48); table only.",
    )
    languages: tuple[str, ...] = Field(
        (),
        description=(
            "Languages of the embedded members (`Article.lang`), first ones first (at most 8): an "
            "article in another language is scored by `stories.crosslingual_cosine`."
        ),
    )


class SequencedArticle(WireRecord):
    """An article after dedup and story grouping, on the sequenced topic (key = article id).

    Every article reaches this topic, duplicates included, flagged by ``decision.kind``:
    a consumer that wants each report once keeps ``first`` (and ``update``).
    """

    article: Article
    decision: Decision
    story: StoryState
    content_hash: str
    model_id: str
    replayed: bool = Field(False, description="A redelivery that got its stored decision back.")


class RevisionState(BaseModel):
    """One content version of an article id, in the sequencer's ``articles`` table."""

    model_config = ConfigDict(frozen=True)

    revision: int
    content_hash: str
    title_hash: str
    feed_id: str


class ArticleState(WireRecord):
    """What the sequencer remembers of an article id (``articles`` table, key = article id)."""

    id: str
    story_id: str
    root_id: str = Field(description="The article this one duplicates, or its own id.")
    last_seq: int
    revisions: tuple[RevisionState, ...] = Field(description="Known versions, oldest first (at most 16).")
    deliveries: dict[str, Decision] = Field(
        default_factory=dict,
        description="Decision per delivery (feed + fetch time + content): how replays are recognized.",
    )


class WindowEntry(WireRecord):
    """One sequenced article in the window (``window`` table, key = sequence number).

    Holds what a later article needs to be compared with this one without
    re-embedding anything: the vector (float16 bytes) and the text its facts
    come from. The in-memory vector index is rebuilt from these entries.
    """

    seq: int
    id: str
    root_id: str
    story_id: str
    content_hash: str
    at: float = Field(description="Sequencer clock (epoch seconds) when it entered the window.")
    text: str = Field("", description="Title and lead (at most 1,000 characters), for fact agreement.")
    embedding: str = Field("", description="Base64 float16 vector, empty when not indexed.")
    dim: int = 0
    facts: str = Field(
        "", description="The text's facts, packed (``streams.dedup.facts.extract_packed``); empty: from text."
    )
    language: str = Field(
        "", description="`Article.lang`; empty when unknown. Near duplicates are same-language only."
    )

    def vector(self) -> npt.NDArray[np.float32]:
        return np.frombuffer(base64.b64decode(self.embedding), dtype="<f2").astype(np.float32)


class ArticleRef(BaseModel):
    """The article behind an alert, enough for a person to open it."""

    model_config = ConfigDict(frozen=True)

    id: str
    revision: int = 0
    url: str
    source: str
    title: str
    published_at: AwareDatetime


class Alert(WireRecord):
    """A detector fired. Keyed by ``id`` on the alerts topic; the same event always has the same id."""

    id: str = Field(description="Deterministic: hash of detector id and the event's dedupe key.")
    detector_id: str
    detector_kind: str
    severity: Severity
    title: str
    summary: str = ""
    fired_at: AwareDatetime
    articles: tuple[ArticleRef, ...] = Field(description="Triggering articles, earliest first.")
    evidence: dict[str, Any] = Field(
        default_factory=dict,
        description="Why it fired: matched terms and spans, scores, earlier events.",
    )
    story_id: str | None = None
    labels: tuple[str, ...] = ()
    config_version: str | None = Field(None, description="Version of the detectors document in force.")


class DetectorsRelease(WireRecord):
    """A detectors document as published on the control topic (key ``detectors``, compacted).

    ``document`` is the validated document (``monitor.config.DetectorsDocument``)
    as JSON; workers validate it again before switching to it.
    """

    version: str = Field(description="The document's `version`, or a hash of its content.")
    published_at: AwareDatetime
    source: str = Field("", description="Where it came from (the file name given to `apply`).")
    document: dict[str, Any] = Field(description="`entities` and `detectors`, as in the YAML.")


class SinkDeadLetter(WireRecord):
    """An alert a webhook sink gave up on (retry budget spent or a permanent error), with the error.

    On ``{prefix}sinks.deadletter``, keyed by alert id: the alert is never lost;
    an operator re-delivers it once the receiver is fixed.
    """

    sink: str = Field(description="The route whose webhook failed.")
    url: str = Field(description="The webhook's URL, without its query string.")
    alert: Alert
    attempts: int
    error: str = Field(description="The last attempt's outcome: HTTP status and body head, or the exception.")
    first_attempt_at: AwareDatetime
    failed_at: AwareDatetime


class DeadLetter(WireRecord):
    """A message a stage could not process, with the original bytes and the error."""

    stage: str
    topic: str
    partition: int
    offset: int
    key: str | None = Field(None, description="Original key, base64.")
    value: str | None = Field(None, description="Original value, base64.")
    error_type: str
    error: str
    failed_at: AwareDatetime

    @classmethod
    def of(
        cls,
        *,
        stage: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        error: BaseException,
    ) -> DeadLetter:
        return cls(
            stage=stage,
            topic=topic,
            partition=partition,
            offset=offset,
            key=None if key is None else base64.b64encode(key).decode("ascii"),
            value=None if value is None else base64.b64encode(value).decode("ascii"),
            error_type=type(error).__name__,
            error=str(error)[:2000],
            failed_at=datetime.now(UTC),
        )


def content_hash(*parts: str) -> str:
    """SHA-256 over whitespace- and case-normalized text parts."""
    normalized = "\x1f".join(" ".join(p.split()).casefold() for p in parts)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def alert_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the Alert record, as published in ``schemas/``."""
    schema = Alert.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "alert.schema.json"
    schema["title"] = "Wirewatch Alert"
    return schema


def alert_json_schema_text() -> str:
    return json.dumps(alert_json_schema(), indent=2, sort_keys=True) + "\n"
