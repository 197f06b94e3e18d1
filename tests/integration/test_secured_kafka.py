"""Wirewatch on a secured broker: SASL_SSL with SCRAM-SHA-512, mutual TLS, and ACLs enforced.

The broker (``tests.secured_kafka``) is secured as a production cluster is;
the configs here are the ones docs/operations.md shows. A client that cannot
authenticate fails at start with the cause named and exit code 4, never a
hang or a retry loop.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from monitor.config import WirewatchConfig
from monitor.loading import load_detectors
from streams.connection import aiokafka_options
from streams.topics import Topics
from tests.feed_server import FeedServer
from tests.integration.test_detect import EXPECTED, SEED_STREAM
from tests.integration.test_routes import Receiver
from tests.integration.test_seed_end_to_end import alerts_on, rss
from tests.kafka_fixtures import write_config
from tests.secured_kafka import SecuredKafka

REPO = Path(__file__).resolve().parents[2]

FAIL_WITHIN = 60.0  # seconds a refused client may take to give up


def wirewatch(
    config: WirewatchConfig, folder: Path, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    path = write_config(config, folder / "wirewatch.yaml")
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args, "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def refused(config: WirewatchConfig, folder: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = wirewatch(config, folder, "topics", "ensure", timeout=FAIL_WITHIN + 60)
    return result, time.monotonic() - started


def test_a_super_user_creates_the_topics(secured_config, tmp_path: Path) -> None:
    result = wirewatch(secured_config("admin"), tmp_path, "topics", "ensure")
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout


def test_a_wrong_password_fails_at_once_naming_authentication(secured_config, tmp_path: Path) -> None:
    config = secured_config("admin", kafka={"security": {"sasl_password": "not-the-password"}})
    result, seconds = refused(config, tmp_path)
    assert result.returncode == 4, result.stderr
    assert "authentication failed" in result.stderr.lower(), result.stderr
    assert seconds < FAIL_WITHIN


def test_an_untrusted_ca_fails_at_once_naming_the_certificate(
    secured_config, secured_kafka: SecuredKafka, tmp_path: Path
) -> None:
    from tests.tls import TestCA

    other = TestCA(tmp_path / "other-ca", "Somebody else's CA")
    config = secured_config("admin", kafka={"security": {"ssl_cafile": str(other.cert)}})
    result, seconds = refused(config, tmp_path)
    assert result.returncode == 4, result.stderr
    assert "certificate is not trusted by kafka.security.ssl_cafile" in result.stderr, result.stderr
    assert seconds < FAIL_WITHIN


def test_a_plaintext_client_fails_at_once(secured_config, tmp_path: Path) -> None:
    config = secured_config("admin", kafka={"security": {"protocol": "PLAINTEXT"}})
    result, seconds = refused(config, tmp_path)
    assert result.returncode == 4, result.stderr
    assert "PLAINTEXT" in result.stderr, result.stderr
    assert seconds < FAIL_WITHIN


def grant(secured_kafka: SecuredKafka, config: WirewatchConfig, folder: Path, *args: str) -> list[str]:
    """``wirewatch topics acls ARGS`` printed the commands; run each as the admin, as the docs say."""
    printed = wirewatch(
        config,
        folder,
        "topics",
        "acls",
        *args,
        "--bootstrap",
        secured_kafka.bootstrap,  # the admin's listener (SASL_SSL)
        "--command-config",
        str(secured_kafka.admin_properties()),
    )
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    for line in lines:
        done = secured_kafka.run_tool(shlex.split(line))
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    return lines


async def produce_as(config: WirewatchConfig, topic: str) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(config.kafka), acks="all", request_timeout_ms=15000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"x")
    finally:
        await producer.stop()


async def read_as(config: WirewatchConfig, topic: str) -> None:
    consumer = AIOKafkaConsumer(topic, **aiokafka_options(config.kafka), group_id=None)
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=5000)
        await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()


@pytest.mark.slow
async def test_least_rights_run_the_pipeline_and_a_subscriber_can_only_read_alerts(
    secured_kafka: SecuredKafka,
    secured_config,
    worker_factory,
    feed_server: FeedServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The worker principal holds only what ``topics acls worker`` grants, the reader only what
    ``topics acls subscriber`` grants: the seed report alerts through every stage, the reader
    tails the alerts, and every other thing the reader tries is refused."""
    wire = [(f"https://wire.example/{aid}", title, summary, m) for aid, m, title, summary in SEED_STREAM]
    feeds = [{"id": "wire", "url": feed_server.set("/secured/wire.xml", rss("Wire", wire)), "interval": "5s"}]
    document = load_detectors(REPO / "examples" / "detectors.yaml")
    desk = Receiver(0, secret="desk-secret")  # a route's webhook sink, signing what it delivers
    request.addfinalizer(desk.close)
    config = secured_config(
        "worker",
        feeds=feeds,
        routes=[{"name": "desk", "webhook": {"url": desk.url, "secret": "desk-secret"}}],
        polling={"first_poll_spread": "1s", "per_host_spacing": 0},
        entities=[e.model_dump(mode="json") for e in document.entities],
        detectors=[
            d.model_dump(mode="json", exclude_defaults=True) | {"kind": d.kind} for d in document.detectors
        ],
    )
    reader = secured_config("reader").model_copy(
        update={
            "kafka": config.kafka.model_copy(update={"security": secured_config("reader").kafka.security})
        }
    )
    topics = Topics(config.kafka.topic_prefix)

    # nothing is allowed before the grants: even the worker is refused, with the reason named
    refused_first = wirewatch(config, tmp_path / "before", "topics", "ensure")
    assert refused_first.returncode == 4, refused_first.stderr
    assert "authoriz" in refused_first.stderr.lower(), refused_first.stderr

    assert len(grant(secured_kafka, config, tmp_path / "w", "worker", "User:worker")) == 3
    assert len(grant(secured_kafka, config, tmp_path / "r", "subscriber", "User:reader")) == 1

    for args in (("topics", "ensure"), ("topics", "ensure", "--check"), ("feeds", "sync")):
        done = wirewatch(config, tmp_path / "cli", *args)
        assert done.returncode == 0, (args, done.stderr)
    detectors_file = tmp_path / "detectors.yaml"
    detectors_file.write_text((REPO / "examples" / "detectors.yaml").read_text())
    applied = wirewatch(config, tmp_path / "cli", "detectors", "apply", str(detectors_file))
    assert applied.returncode == 0, applied.stderr

    worker_factory(config, ready_timeout=180)
    alerts = await alerts_on(config, len(EXPECTED))
    assert {a.detector_id for a in alerts} == {d for d, _ in EXPECTED}

    archive = tmp_path / "wire-again.xml"
    archive.write_bytes(rss("Wire", wire))
    replayed = wirewatch(config, tmp_path / "cli", "replay", str(archive))
    assert replayed.returncode == 0, replayed.stderr

    # the webhook sink delivered each alert once, signed (route topics are under the worker's prefix)
    for _ in range(120):  # up to 60 s
        if len(desk.bodies) >= len({a.id for a in alerts}):
            break
        await asyncio.sleep(0.5)
    assert sorted(desk.bodies) == sorted({a.id for a in alerts}), "the sink delivered each alert"
    assert all(len(bodies) == 1 for bodies in desk.bodies.values()), "and each once"
    assert desk.forged == 0, "every delivery carried a valid signature"

    tail = wirewatch(reader, tmp_path / "reader", "alerts", "tail", "--since", "30d", "--no-follow", "--json")
    assert tail.returncode == 0, tail.stderr
    tailed = [json.loads(line) for line in tail.stdout.splitlines() if line.strip()]
    assert sorted(a["id"] for a in tailed) == sorted({a.id for a in alerts}), "each alert once"

    # the subscriber's refusals: write alerts, read articles, apply detectors
    with pytest.raises(TopicAuthorizationFailedError):
        await produce_as(reader, topics.alerts)
    with pytest.raises(TopicAuthorizationFailedError):
        await read_as(reader, topics.articles_raw)
    refused = wirewatch(reader, tmp_path / "reader", "detectors", "apply", str(detectors_file))
    assert refused.returncode == 4, refused.stderr
    assert "authoriz" in refused.stderr.lower(), refused.stderr


def test_mutual_tls_authenticates_by_certificate_and_acls_authorize_it(
    secured_kafka: SecuredKafka, secured_config, tmp_path: Path
) -> None:
    """``protocol: SSL`` with a client certificate (its key under a password) on the brokers' mutual
    TLS listener: the certificate is the principal (``User:CN=wirewatch-mtls``), refused until
    the worker's ACLs name it; without a certificate the handshake itself fails, and says so."""
    cert = secured_kafka.client_cert
    mtls = {
        "bootstrap": [secured_kafka.internal_bootstrap],
        "security": {
            "protocol": "SSL",
            "ssl_cafile": str(secured_kafka.ca.cert),
            "ssl_certfile": str(cert.chain),
            "ssl_keyfile": str(cert.key),
            "ssl_password": cert.password,
        },
    }
    config = secured_config("admin", kafka=mtls)
    before = wirewatch(config, tmp_path / "before", "topics", "ensure")
    assert before.returncode == 4, before.stderr
    assert "authoriz" in before.stderr.lower(), before.stderr

    grant(secured_kafka, config, tmp_path / "grant", "worker", "User:CN=wirewatch-mtls")
    after = wirewatch(config, tmp_path / "after", "topics", "ensure")
    assert after.returncode == 0, after.stderr

    anonymous = {"security": {"protocol": "SSL", "ssl_cafile": str(secured_kafka.ca.cert)}}
    without = secured_config("admin", kafka={**mtls, **anonymous})
    result, seconds = refused(without, tmp_path / "without")
    assert result.returncode == 4, result.stderr
    assert "a listener that wants a client certificate (mutual TLS)" in result.stderr, result.stderr
    assert seconds < FAIL_WITHIN
