"""Running a worker: topics first, then the Faust worker with every stage registered."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from monitor.config import WirewatchConfig
from streams.admin import ensure_topics
from streams.agents import register_all
from streams.app import StageContext, create_app
from streams.topics import Topics

log = logging.getLogger(__name__)


def build_app(config: WirewatchConfig) -> Any:
    """The Faust app with every stage's agents registered."""
    app = create_app(config)
    register_all(StageContext(app=app, config=config, topics=Topics(config.kafka.topic_prefix)))
    return app


def run_worker(config: WirewatchConfig) -> None:
    """Ensure topics, then run a Faust worker until SIGINT/SIGTERM. Blocks."""
    report = asyncio.run(ensure_topics(config.kafka))
    log.info("topics: %s", report.summary())
    asyncio.set_event_loop(asyncio.new_event_loop())  # asyncio.run() left none; Faust needs one
    app = build_app(config)
    config.worker.data_dir.mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(app, loglevel=config.worker.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
