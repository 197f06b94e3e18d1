"""Pytest plugin: one secured Kafka broker per test session, as a production cluster is secured.

* ``secured_kafka`` (session): a single-node KRaft broker whose one client
  listener is SASL_SSL with SCRAM-SHA-512, whose brokers and controller talk
  over mutual TLS, and which enforces ACLs (nothing allowed that no ACL
  allows). Its CA and certificates are made by the session (``tests.tls``);
  its users are ``admin`` (a super user), ``worker`` and ``reader``, with no
  rights until a test grants them.
* ``secured_config(user)``: a ``WirewatchConfig`` for that broker as ``user``,
  isolated like ``wirewatch_config``'s (own topic prefix and app id). Its
  ``kafka.security`` is the one docs/operations.md shows, read from
  ``examples/secured-kafka.yaml`` with the variables set to this broker's.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.broker import BrokerSecurity, LocalBroker
from monitor.config import WirewatchConfig
from monitor.loading import load_config
from tests.kafka_fixtures import KAFKA_HEAP_MB, REPO_ROOT, isolated_config
from tests.tls import Issued, TestCA

PASSWORDS = {"admin": "admin-secret", "worker": "worker-secret", "reader": "reader-secret"}
DOCUMENTED = REPO_ROOT / "examples" / "secured-kafka.yaml"  # the config docs/operations.md shows


@dataclass(frozen=True)
class SecuredKafka:
    broker: LocalBroker
    ca: TestCA
    client_cert: Issued  # CN=wirewatch-mtls, key encrypted with a password: mutual TLS on INTERNAL
    folder: Path

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def internal_bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker.internal_port}"

    def documented(self, user: str) -> WirewatchConfig:
        """``examples/secured-kafka.yaml`` as it is, with its variables set for ``user`` on this broker."""
        env = {
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "KAFKA_REPLICATION_FACTOR": "1",  # one broker
            "KAFKA_USER": user,
            "KAFKA_PASSWORD": PASSWORDS[user],
            "KAFKA_CA_FILE": str(self.ca.cert),
        }
        return load_config(DOCUMENTED, env=env)

    def admin_properties(self) -> Path:
        """A ``--command-config`` file for Kafka's tools, as the admin user."""
        path = self.folder / "admin.properties"
        path.write_text(
            "security.protocol=SASL_SSL\n"
            "sasl.mechanism=SCRAM-SHA-512\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="admin" password="{PASSWORDS["admin"]}";\n'
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.ca.cert}\n"
        )
        return path

    def run_tool(self, line: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """One of Kafka's scripts (``kafka-acls.sh ...``), run on the broker's own jars."""
        script, *args = line
        command = self.broker.distribution.tool(script) + args
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    folder = tmp_path_factory.mktemp("secured-kafka")
    ca = TestCA(folder / "tls")
    broker_cert = ca.issue("broker", server=True)
    client_cert = ca.issue("wirewatch-mtls", password="mtls-key-secret")
    security = BrokerSecurity(
        keystore=broker_cert.keystore,
        truststore=ca.cert,
        broker_principal="User:CN=broker",
        scram_users=tuple(PASSWORDS.items()),
        admin=("admin", PASSWORDS["admin"]),
    )
    broker = LocalBroker(
        folder / "kafka", port=0, controller_port=0, heap_mb=KAFKA_HEAP_MB, security=security
    )
    broker.start(attached=True, progress=lambda m: print(m, file=sys.stderr))
    try:
        yield SecuredKafka(broker, ca, client_cert, folder)
    finally:
        broker.stop()


@pytest.fixture
def secured_config(secured_kafka: SecuredKafka, tmp_path: Path) -> Callable[..., WirewatchConfig]:
    """``secured_config(user, **sections)`` → a config for the secured broker as ``user``."""

    def make(user: str = "worker", **overrides: Any) -> WirewatchConfig:
        documented = secured_kafka.documented(user).kafka
        kafka = documented.model_dump(include={"bootstrap", "replication_factor", "security"})
        return isolated_config(f"s{uuid.uuid4().hex[:8]}", tmp_path, kafka, overrides)

    return make
