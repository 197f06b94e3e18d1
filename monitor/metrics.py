"""Every Prometheus metric Wirewatch exports, built as one bundle on an injectable registry.

Names follow Prometheus conventions (base units, ``_total`` counters). Label
values are bounded: ``feed`` only takes configured feed ids, and a worker
removes the series of feeds it no longer owns (``forget_feed``), so per-feed
series follow partition ownership; dashboards aggregate with ``max by (feed)``.
The feed label never goes on a histogram.
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ITEM_KINDS = ("new", "updated", "seen")
# seconds to a day: fetched → alert is seconds; published → alert adds the feed's own delay
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


class Metrics:
    """The metric objects of one worker process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.feed_polls = Counter(
            "wirewatch_feed_polls_total",
            "Feed polls by outcome (monitor.outcomes: ok, not_modified, unchanged, each error kind).",
            ["feed", "outcome"],
            registry=r,
        )
        self.feed_fetch_duration = Histogram(
            "wirewatch_feed_fetch_duration_seconds",
            "Time to fetch a feed, by outcome.",
            ["outcome"],
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.feed_parse_duration = Histogram(
            "wirewatch_feed_parse_duration_seconds",
            "Time to parse and normalize a changed feed body.",
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.feed_items = Counter(
            "wirewatch_feed_items_total",
            "Feed entries by kind: new, updated (content changed), seen.",
            ["feed", "kind"],
            registry=r,
        )
        self.feed_last_success = Gauge(
            "wirewatch_feed_last_success_timestamp_seconds",
            "When the feed was last polled successfully (Unix time).",
            ["feed"],
            registry=r,
        )
        self.feed_disabled = Gauge(
            "wirewatch_feed_disabled",
            "1 when polling of the feed stopped (410, repeated 404).",
            ["feed"],
            registry=r,
        )
        self.feed_poll_interval = Gauge(
            "wirewatch_feed_poll_interval_seconds",
            "The feed's configured poll interval (alert rules measure staleness in intervals).",
            ["feed"],
            registry=r,
        )
        self.fulltext_pages = Counter(
            "wirewatch_fulltext_pages_total",
            "Article pages the full-text step tried, by feed and outcome (monitor.outcomes.PageOutcome: "
            "extracted, or why the feed's text was kept).",
            ["feed", "outcome"],
            registry=r,
        )
        self.fulltext_wait = Histogram(
            "wirewatch_fulltext_wait_seconds",
            "Time an article waited for its page (host slot, robots.txt, download, extraction), by outcome "
            "class: extracted or not.",
            ["extracted"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0),
            registry=r,
        )
        self.fulltext_extract_duration = Histogram(
            "wirewatch_fulltext_extract_duration_seconds",
            "Time to extract one page's text (in the extraction process).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=r,
        )
        self.fulltext_chars = Histogram(
            "wirewatch_fulltext_extracted_chars",
            "Characters of text extracted from a page (before the `fulltext.max_chars` cut).",
            buckets=(300, 500, 1000, 2000, 3000, 5000, 8000, 12000, 20000, 40000),
            registry=r,
        )
        self.fulltext_bytes = Counter(
            "wirewatch_fulltext_bytes_total",
            "Bytes of article pages read (decompressed).",
            registry=r,
        )
        self.feeds_owned = Gauge(
            "wirewatch_feeds_owned",
            "Feeds this worker polls (from its partitions).",
            registry=r,
        )
        self.articles = Counter(
            "wirewatch_articles_total",
            "Articles handled, by pipeline stage.",
            ["stage"],
            registry=r,
        )
        self.duplicates = Counter(
            "wirewatch_duplicates_total",
            "Articles found to repeat an earlier one, by kind (exact, near).",
            ["kind"],
            registry=r,
        )
        self.dedup_decisions = Counter(
            "wirewatch_dedup_decisions_total",
            "Sequencer decisions by kind (first, update, exact, near); replays not counted.",
            ["kind"],
            registry=r,
        )
        self.dedup_replays = Counter(
            "wirewatch_dedup_replays_total",
            "Redelivered articles that got their stored decision back.",
            registry=r,
        )
        self.dedup_index_vectors = Gauge(
            "wirewatch_dedup_index_vectors",
            "Vectors in the sequencer's window index.",
            registry=r,
        )
        self.dedup_index_bytes = Gauge(
            "wirewatch_dedup_index_bytes",
            "Memory held by the sequencer's window index.",
            registry=r,
        )
        self.stories_opened = Counter(
            "wirewatch_stories_opened_total",
            "Stories opened (an article unlike any open story).",
            registry=r,
        )
        self.stories_open = Gauge(
            "wirewatch_stories_open",
            "Stories with an article inside the window (counted as they open and close, kept in the "
            "sequencer's tables; workers not sequencing report 0).",
            registry=r,
        )
        self.dedup_recovery_seconds = Gauge(
            "wirewatch_dedup_recovery_seconds",
            "Time the last index rebuild took after an assignment (snapshot load + changelog tail).",
            registry=r,
        )
        self.dedup_batch_size = Histogram(
            "wirewatch_dedup_batch_size",
            "Articles per sequencer batch (one batched index search, one write per changed key).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=r,
        )
        self.dedup_batch_duration = Histogram(
            "wirewatch_dedup_batch_duration_seconds",
            "Time to sequence one batch (search, decisions, table writes queued).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.dedup_table_writes = Counter(
            "wirewatch_dedup_table_writes_total",
            "Sequencer table keys written or deleted, each one changelog message (per article: about 4 "
            "with the window filling, 5 with it full).",
            registry=r,
        )
        self.embed_batch_size = Histogram(
            "wirewatch_embed_batch_size",
            "Articles per embedding batch.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.embed_duration = Histogram(
            "wirewatch_embed_batch_duration_seconds",
            "Time to encode one batch.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.detector_matches = Counter(
            "wirewatch_detector_matches_total",
            "Articles a detector matched (alerting or not), by detector.",
            ["detector"],
            registry=r,
        )
        self.detector_held = Counter(
            "wirewatch_detector_held_total",
            "Matches that did not alert, by detector and reason (duplicate, already alerted, cooling down).",
            ["detector", "reason"],
            registry=r,
        )
        self.detector_errors = Counter(
            "wirewatch_detector_errors_total",
            "Detector evaluations that raised (the article and the other detectors went on).",
            ["detector"],
            registry=r,
        )
        self.detector_disabled = Gauge(
            "wirewatch_detector_disabled",
            "1 for a detector disabled after `error_limit` evaluation errors (until a changed "
            "definition is applied), 0 for one running; by detector of the document in force.",
            ["detector"],
            registry=r,
        )
        self.alerts = Counter(
            "wirewatch_alerts_total",
            "Alerts sent, by detector and severity (replays re-sending a stored alert not counted).",
            ["detector", "severity"],
            registry=r,
        )
        self.alert_latency = Histogram(
            "wirewatch_alert_latency_seconds",
            "From the triggering article's publication (`since=published`: feed delay included) "
            "or its fetch (`since=fetched`: our pipeline) to the alert being made.",
            ["since"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.detector_evaluations = Counter(
            "wirewatch_detector_evaluations_total",
            "Detector runs on articles, by detector (those a gate ruled out are neither run nor counted).",
            ["detector"],
            registry=r,
        )
        self.detect_duration = Histogram(
            "wirewatch_detect_batch_duration_seconds",
            "Time to run every detector on one sequencer batch.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.detectors_rejected = Counter(
            "wirewatch_detectors_rejected_total",
            "Detectors releases on the control topic this worker refused (invalid, or failed to build).",
            registry=r,
        )
        self.detectors_version = Gauge(
            "wirewatch_detectors_info",
            "The detectors document in force (value 1), by version.",
            ["version"],
            registry=r,
        )
        self.deadletters = Counter(
            "wirewatch_deadletter_messages_total",
            "Messages sent to the dead-letter topic, by stage.",
            ["stage"],
            registry=r,
        )
        self.routed = Counter(
            "wirewatch_alerts_routed_total",
            "Alerts copied to a route topic, by route.",
            ["route"],
            registry=r,
        )
        self.sink_deliveries = Counter(
            "wirewatch_sink_deliveries_total",
            "Alerts a webhook sink finished with, by sink (route) and outcome: "
            "delivered, dead_lettered, duplicate (already delivered by this worker, not sent again).",
            ["sink", "outcome"],
            registry=r,
        )
        self.sink_delivery_duration = Histogram(
            "wirewatch_sink_delivery_duration_seconds",
            "From an alert's first request to its outcome (retries and their waits included), by sink.",
            ["sink"],
            buckets=(*FETCH_BUCKETS, 120.0, 300.0, 600.0),
            registry=r,
        )
        self.sink_retries = Counter(
            "wirewatch_sink_retries_total",
            "Webhook requests that failed and were retried, by sink.",
            ["sink"],
            registry=r,
        )

    def forget_feed(self, feed_id: str) -> None:
        """Drop a feed's series (this worker no longer owns it, or it was removed)."""
        for metric in (self.feed_last_success, self.feed_disabled, self.feed_poll_interval):
            _remove(metric, feed_id)
        for kind in ITEM_KINDS:
            _remove(self.feed_items, feed_id, kind)
        for counter in (self.feed_polls, self.fulltext_pages):
            for labels in list(_label_sets(counter)):
                if labels[0] == feed_id:
                    _remove(counter, *labels)


def _remove(metric: Counter | Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)


def _label_sets(metric: Counter) -> list[tuple[str, ...]]:
    # prometheus-client keeps children keyed by their label values
    return [tuple(labels) for labels in metric._metrics]
