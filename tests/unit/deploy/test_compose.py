"""docker-compose.yml and the Dockerfile, checked without Docker (which does not run here).

``docker-compose config`` (Debian's docker-compose, unpacked into the machine
cache) reads and validates the compose file as Compose does. Then the
topology is checked against our own files: the workers' configuration as the
container sees it (rebuilt from the compose mounts) validates and points at
the compose Kafka, Prometheus finds the workers by the service's DNS name on
their metrics port, Grafana gets our provisioning, and the worker service can
be scaled. hadolint is not packaged for Debian, so the Dockerfile is checked
here for what the project promises: non-root user, health check, model baked
in, nothing downloaded at run time, pinned base images, sources that exist.
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.loading import load_config
from tests.debian_tools import DockerCompose

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    result = DockerCompose().config(COMPOSE, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def test_compose_reads_the_file_and_every_bind_mount_exists(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services) == {"kafka", "worker", "prometheus", "grafana"}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_kafka_is_kraft_with_its_data_on_a_volume(resolved: dict[str, Any]) -> None:
    kafka = resolved["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert any(str(v).startswith("kafka-data:") for v in kafka["volumes"])
    assert "kafka-data" in resolved["volumes"]
    assert "healthcheck" in kafka


def test_workers_scale_and_their_config_as_the_container_sees_it_is_valid(
    resolved: dict[str, Any], tmp_path: Path
) -> None:
    worker = resolved["services"]["worker"]
    assert "container_name" not in worker, "a fixed name stops --scale"
    assert "ports" not in worker, "a host port stops --scale"
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    etc = tmp_path / "etc"  # rebuild /etc/wirewatch from the mounts
    for volume in worker["volumes"]:
        source, target = str(volume).split(":")[:2]
        if target.startswith("/etc/wirewatch/"):
            (etc / Path(target).name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, etc / Path(target).name)
    config = load_config(etc / "wirewatch.yaml", env={k: str(v) for k, v in worker["environment"].items()})
    advertised = resolved["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert [f"PLAINTEXT://{b}" for b in config.kafka.bootstrap] == [advertised]
    assert config.detectors, "the mounted detectors file is loaded"
    assert config.metrics.host == "0.0.0.0"
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    sd = [c for job in scrape["scrape_configs"] for c in job.get("dns_sd_configs", [])]
    assert len(sd) == 1
    assert sd[0]["names"] == ["worker"], "Prometheus finds every worker by the service's DNS name"
    assert sd[0]["port"] == config.metrics.port
    assert str(config.metrics.port) in [str(p) for p in worker["expose"]]


def test_prometheus_and_grafana_get_our_files(resolved: dict[str, Any]) -> None:
    prometheus = resolved["services"]["prometheus"]
    assert any(str(v).startswith(f"{REPO}/deploy/prometheus:/etc/prometheus") for v in prometheus["volumes"])
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    grafana = resolved["services"]["grafana"]
    mounts = [str(v) for v in grafana["volumes"]]
    assert f"{REPO}/deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    provider = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/wirewatch.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert any(m.startswith(f"{REPO}/deploy/grafana/dashboards:{path}") for m in mounts)


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_dockerfile_keeps_its_promises() -> None:
    steps = instructions(DOCKERFILE.read_text())
    stages = [i for i, (op, _) in enumerate(steps) if op == "FROM"]
    final = steps[stages[-1] :]
    for op, arg in steps:
        if op == "FROM":
            image = arg.split()[0]
            assert ":" in image, f"pin the base image: {image}"
            assert not image.endswith(":latest"), f"pin the base image: {image}"
        if op == "COPY" and "--from" not in arg:
            for source in arg.split()[:-1]:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    users = [arg for op, arg in final if op == "USER"]
    assert users, "the worker runs as a non-root user"
    assert users[-1] not in ("root", "0"), "the worker runs as a non-root user"
    health = [arg for op, arg in final if op == "HEALTHCHECK"]
    assert len(health) == 1
    assert "/health" in health[0]
    assert "6066" in health[0]
    env = " ".join(arg for op, arg in final if op == "ENV")
    assert "HF_HUB_OFFLINE=1" in env, "the baked-in model is loaded offline"
    run = " ".join(arg for op, arg in steps if op == "RUN")
    assert "download.pytorch.org/whl/cpu" in run, "CPU torch: no CUDA libraries in the image"
    assert "openvino_ir(model_path(DEFAULT_MODEL), 'int8')" in run, "the int8 model is quantized at build"
    for code in re.findall(r'python -c "(.*?)"', run):  # the build's Python steps name what exists
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module or "")
                assert all(hasattr(module, alias.name) for alias in node.names), code
    assert ("EXPOSE", "6066") in final
    assert any(op == "ENTRYPOINT" and "wirewatch" in arg for op, arg in final)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".wirewatch" in ignored
    assert ".git" in ignored
