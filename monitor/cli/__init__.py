"""The ``wirewatch`` command line: one module per command group, errors mapped to exit codes in one place.

Exit codes scripts can rely on (``common.ExitCode``): 0 success, 1 unexpected
failure, 2 usage error, 3 invalid configuration, 4 Kafka or broker problem.
``root`` turns our errors into messages and codes; each module below owns a
group of commands:

=============== ===========================================================
``config``      ``config check``
``broker``      ``broker install|start|stop|status`` (the embedded broker)
``topics``      ``topics ensure|list``, ``schema alert``
``feeds``       ``feeds check|list|sync|import|export``
``detectors``   ``detectors kinds|check|list|test|apply|current``
``dedup``       ``dedup check`` (the near-duplicate decision on pairs, explained)
``alerts``      ``alerts tail``
``archive``     ``replay``, ``backtest`` (``--decisions``: every article's decision and story)
``stories``     ``stories`` (the largest stories, from decisions or the sequenced topic)
``run``         ``run``, ``demo``
``prometheus``  ``prometheus install|check`` (promtool on the shipped rules)
=============== ===========================================================
"""

from __future__ import annotations

from monitor.cli import alerts, archive, run, stories
from monitor.cli.broker import broker_app
from monitor.cli.config import config_app
from monitor.cli.dedup import dedup_app
from monitor.cli.detectors import detectors_app
from monitor.cli.feeds import feeds_app
from monitor.cli.prometheus import prometheus_app
from monitor.cli.root import app
from monitor.cli.topics import schema_app, topics_app

app.add_typer(config_app, name="config")
app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(schema_app, name="schema")
app.add_typer(feeds_app, name="feeds")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(prometheus_app, name="prometheus")
app.add_typer(detectors_app, name="detectors")
app.add_typer(dedup_app, name="dedup")
app.command("replay")(archive.replay)
app.command("backtest")(archive.backtest)
app.command("stories")(stories.stories)
app.command("run")(run.run)
app.command("demo")(run.demo)

__all__ = ["app", "main"]


def main() -> None:
    app()
