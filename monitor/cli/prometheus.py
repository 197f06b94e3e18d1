"""``wirewatch prometheus ...``: Debian's Prometheus and promtool, to check the shipped (or edited) rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ExitCode, say, tell
from monitor.prometheus import PrometheusDistribution

prometheus_app = typer.Typer(
    help="Prometheus and promtool from Debian's package, on which the shipped rules are proven.",
    no_args_is_help=True,
)


@prometheus_app.command("install")
def install() -> None:
    """Fetch Debian's prometheus package into the machine cache (once): the server and promtool."""
    dist = PrometheusDistribution()
    root = dist.resolve(progress=say)
    tell(f"{dist.version()}: {root}")


@prometheus_app.command("check")
def check(
    deploy_dir: Annotated[Path, typer.Argument(help="The folder with prometheus.yml and rules.")] = Path(
        "deploy/prometheus"
    ),
) -> None:
    """Check the scrape config and alert rules with promtool, and run the rules' unit tests."""
    dist = PrometheusDistribution()
    checks = [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "rules.yml"),
        ("test", "rules", "rules_test.yml"),
    ]
    failed = 0
    for args in checks:
        result = dist.promtool_run(*args, cwd=deploy_dir)
        ok = result.returncode == 0
        failed += not ok
        tell(f"{'ok  ' if ok else 'FAIL'} promtool {' '.join(args)}")
        if not ok:
            tell((result.stdout + result.stderr).strip())
    if failed:
        raise typer.Exit(ExitCode.FAILURE)
