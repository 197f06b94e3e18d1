"""The shipped Prometheus config and alert rules, checked by the real promtool.

promtool comes from Debian's prometheus package, which ``make install``
unpacks into the machine cache (``wirewatch prometheus install``). The rules'
own unit tests (``deploy/prometheus/rules_test.yml``) show each alert firing
on the series that should raise it and quiet on those that should not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.prometheus import PrometheusDistribution

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> PrometheusDistribution:
    dist = PrometheusDistribution()
    dist.resolve()
    return dist


@pytest.mark.parametrize(
    "args",
    [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "rules.yml"),
        ("test", "rules", "rules_test.yml"),
    ],
    ids=lambda args: " ".join(args),
)
def test_promtool_accepts(promtool: PrometheusDistribution, args: tuple[str, ...]) -> None:
    result = promtool.promtool_run(*args, cwd=DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load((DEPLOY / "rules.yml").read_text())
    alerts = {r["alert"] for group in rules["groups"] for r in group["rules"] if "alert" in r}
    tests = yaml.safe_load((DEPLOY / "rules_test.yml").read_text())
    tested = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])}
    assert alerts, "rules.yml declares no alerts"
    assert alerts == tested


def test_workers_are_discovered_not_listed() -> None:
    """`--scale worker=N` must not outgrow the config: the worker job uses DNS discovery."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "wirewatch"]
    assert "static_configs" not in job
    assert job["dns_sd_configs"][0]["names"] == ["worker"]
