"""``wirewatch run`` and ``wirewatch demo``: a worker, with the embedded broker when the config says so."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.common import (
    ConfigOption,
    bootstrap,
    console,
    escape,
    load,
    local_broker,
    out,
    say,
    setup_logging,
    with_port,
)
from monitor.config import WirewatchConfig

if TYPE_CHECKING:
    from monitor.demo import DemoWatch
    from streams.records import Alert


def run(config_file: ConfigOption = None) -> None:
    """Run a worker. With `kafka.bootstrap: embedded` it starts the local broker first."""
    _serve(load(config_file))


def _serve(
    config: WirewatchConfig, beside: Callable[[WirewatchConfig], Callable[[], None]] | None = None
) -> None:
    """The broker (when embedded), then the worker until Ctrl-C.

    ``beside(config)`` starts something next to the worker (the demo's display) and returns
    its stop function, called after the worker stopped and before the broker does.

    The broker runs in its own process group, so the terminal's Ctrl-C reaches
    only the worker: it leaves its group and commits while the broker is still
    up, and the broker is stopped after it.
    """
    from streams.worker import run_worker

    setup_logging(config.worker.log_level)
    broker = None
    stop_beside: Callable[[], None] | None = None
    if config.kafka.is_embedded:
        broker = local_broker(config).start(attached=True, progress=say)
        config = with_port(config, broker.port)
    try:
        console.print(
            f"worker [bold]{escape(config.worker.app_id)}[/]: Kafka {escape(', '.join(bootstrap(config)))}, "
            f"topics '{escape(config.kafka.topic_prefix)}*', metrics on "
            f"http://{config.metrics.host}:{config.metrics.port}/"
        )
        if beside is not None:
            stop_beside = beside(config)
        run_worker(config)
    finally:
        if stop_beside is not None:
            stop_beside()
        if broker is not None:
            say("stopping the local broker…")
            broker.stop()


def demo(
    config_file: ConfigOption = None,
    speed: Annotated[float, typer.Option(min=0.1, help="Play the demo news this many times faster.")] = 1.0,
    keep_state: Annotated[
        bool, typer.Option(help="Keep the last demo's broker and worker data (the news is then not new).")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            help=(
                "Embed with this model instead of pipeline.embed.model: `multilingual-e5-small` puts the "
                "Ukrainian and Russian reports into the English stories."
            )
        ),
    ] = None,
) -> None:
    """Run the monitor on the bundled demo news with the embedded local broker; alerts show as they fire."""
    from monitor.alert_view import alert_text
    from monitor.demo import DEMO_CONFIG, FEEDS_ENV, DemoFeedServer, DemoWatch

    path = config_file or DEMO_CONFIG
    watch: list[DemoWatch] = []
    with DemoFeedServer(speed=speed) as feeds:
        os.environ[FEEDS_ENV] = feeds.url
        config = load(path)
        if model is not None:
            pipeline = config.pipeline
            embed = pipeline.embed.model_copy(update={"model": model})
            config = config.model_copy(update={"pipeline": pipeline.model_copy(update={"embed": embed})})
        if not keep_state and config_file is None:  # the bundled demo starts afresh every time
            for directory in (config.kafka.embedded.data_dir, config.worker.data_dir):
                shutil.rmtree(directory, ignore_errors=True)
        console.print(
            f"[bold]Wirewatch demo[/]: {len(feeds.news.outlets)} outlets serve the demo news "
            f"from {feeds.url}; "
            f"items appear over {feeds.news.duration / speed:.0f} s once the worker is ready. "
            f"Starting the local Kafka broker and a worker with {escape(str(path))}, embedding with "
            f"{escape(config.pipeline.embed.model)}. Ctrl-C stops everything."
        )

        def show(alert: Alert) -> None:
            out.print(alert_text(alert))

        def beside(running: WirewatchConfig) -> Callable[[], None]:
            watch.append(DemoWatch(running, feeds, show).start())
            return watch[0].stop

        try:
            _serve(config, beside)
        finally:
            if watch:
                console.print(f"[bold]demo summary[/]: {escape(watch[0].summary())}")
