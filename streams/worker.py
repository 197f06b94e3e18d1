"""Running a worker: topics first, then the Faust worker with every stage registered."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from monitor.config import WirewatchConfig
from streams.admin import ensure_topics, wait_for_coordinator
from streams.agents import register_all
from streams.app import (
    ConsumerLag,
    RecoveryProgress,
    StageContext,
    add_faust_sensor,
    add_health_pages,
    add_metrics_page,
    create_app,
)
from streams.embedder import prepare_backend
from streams.gc_policy import relax_gc
from streams.registry import sync_feeds
from streams.topics import Topics

log = logging.getLogger(__name__)


def build_app(config: WirewatchConfig) -> Any:
    """The Faust app with every stage's agents registered and ``/metrics`` served."""
    app = create_app(config)
    ctx = StageContext(app=app, config=config, topics=Topics(config.kafka.topic_prefix))
    register_all(ctx)
    add_faust_sensor(app, ctx.metrics)
    ctx.metrics.registry.register(ConsumerLag(app))  # custom collectors, read at scrape time
    ctx.metrics.registry.register(RecoveryProgress(app))
    add_metrics_page(app, ctx.metrics)
    add_health_pages(app, ctx)
    return app


def run_worker(config: WirewatchConfig) -> None:
    """Ensure topics, then run a Faust worker until SIGINT/SIGTERM. Blocks."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much
    report = asyncio.run(ensure_topics(config.kafka, routes=config.routes))
    log.info("topics: %s", report.summary())
    if not asyncio.run(wait_for_coordinator(config.kafka, config.worker.app_id)):
        log.warning("Kafka cannot coordinate group %s yet; the worker will retry", config.worker.app_id)
    if config.feeds:  # a config without feeds (a processing-only worker) leaves the registry alone
        log.info("%s", asyncio.run(sync_feeds(config, remove=False)).summary())
    prepare_backend(config.pipeline.embed)  # before any stage loads usearch
    relax_gc()
    asyncio.set_event_loop(asyncio.new_event_loop())  # asyncio.run() left none; Faust needs one
    app = build_app(config)
    config.worker.data_dir.mkdir(parents=True, exist_ok=True)
    # stdout stays stdout (Faust would turn prints into log lines): the demo prints alerts there
    worker = faust.Worker(app, loglevel=config.worker.log_level.upper(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
