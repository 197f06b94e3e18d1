"""A real Apache Kafka broker on loopback, started by Wirewatch itself.

Kafka's jars come from Maven Central (resolved once with Maven into a cache
outside the repository); the broker runs as a single KRaft node (broker and
controller in one JVM) with auto topic creation off, like production should.

Two lifetimes:

* attached (``wirewatch run``, the test session): the JVM gets the kernel's
  parent-death signal, so it dies with the Python process that started it,
  even if that process is killed with SIGKILL; it runs in a process group of
  its own, so a Ctrl-C in the terminal stops the worker first, and the worker
  leaves its group and commits while the broker is still there;
* detached (``wirewatch broker start``): it outlives the command; ``wirewatch
  broker stop`` finds it through the pid file in its data directory.

With a ``BrokerSecurity`` it is a secured broker, as a production cluster is:
its one client listener is SASL_SSL (SCRAM-SHA-512 users created when the
storage is formatted), brokers and the controller talk over mutual TLS on
listeners of their own, and ACLs are enforced (``StandardAuthorizer``, nothing
allowed that no ACL allows). The tests run Wirewatch against it unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import (
    BrokerError,
    BrokerStartError,
    JavaNotFound,
    KafkaResolveError,
    MavenNotFound,
    PortInUse,
)
from monitor.home import wirewatch_home

DEFAULT_KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "2.0.17"
MIN_JAVA = 17
PR_SET_PDEATHSIG = 1

Progress = Callable[[str], None]


# ---------------------------------------------------------------- distribution


_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>wirewatch.local</groupId>
  <artifactId>embedded-kafka</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <!-- the command-line tools (kafka-acls.sh is org.apache.kafka.tools.AclCommand), without
         Kafka Connect, which they bring along for tools we never run -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{kafka}</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-api</artifactId></exclusion>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId></exclusion>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-transforms</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- Kafka's pom brings slf4j 1.7; the log4j2 binding needs 2.x -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>{slf4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""


# Kafka's scripts and the classes they run (bin/kafka-*.sh call kafka-run-class.sh with these)
KAFKA_TOOLS = {
    "kafka-acls.sh": "org.apache.kafka.tools.AclCommand",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
    "kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
}


def check_java() -> str:
    """Path of a Java 17+ runtime, or ``JavaNotFound`` saying how to get one."""
    java = shutil.which("java")
    if java is None:
        raise JavaNotFound(
            "`java` is not on PATH. Kafka 4 needs Java 17 or newer: "
            "`apt-get install openjdk-17-jre-headless` (Debian/Ubuntu)."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8.0" style
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise JavaNotFound(f"{java} is Java {major}; Kafka 4 needs Java {MIN_JAVA} or newer.")
    return java


@dataclass(frozen=True)
class KafkaDistribution:
    """Kafka's jars for one version, in the machine-wide cache."""

    version: str = DEFAULT_KAFKA_VERSION
    cache: Path | None = None

    @property
    def libs(self) -> Path:
        return (self.cache or wirewatch_home() / "kafka") / self.version / "libs"

    @property
    def pom(self) -> str:
        return _POM.format(kafka=self.version, log4j=LOG4J_VERSION, slf4j=SLF4J_VERSION)

    @property
    def ready(self) -> bool:
        """Resolved, from this very POM: a cache made for fewer jars is resolved again."""
        try:
            return (self.libs / ".complete").read_text() == self._stamp
        except OSError:
            return False

    @property
    def _stamp(self) -> str:
        return f"{self.version} {hashlib.sha256(self.pom.encode()).hexdigest()[:16]}"

    def tool(self, script: str, java: str = "java") -> list[str]:
        """The command line of one of Kafka's ``bin/`` scripts (``kafka-acls.sh``) on these jars."""
        return [java, "-Xmx256m", "-cp", f"{self.libs}/*", KAFKA_TOOLS[script]]

    def resolve(self, progress: Progress = lambda _: None) -> Path:
        """Fetch the jars with Maven once; later calls return at once."""
        if self.ready:
            return self.libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise MavenNotFound(
                "`mvn` is not on PATH; it fetches Kafka's jars from Maven Central once. "
                "Install Maven (`apt-get install maven`)."
            )
        progress(f"resolving Apache Kafka {self.version} from Maven Central (once per machine)…")
        self.libs.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.libs.parent) as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(self.pom)
            staging = Path(tmp) / "libs"
            cmd = [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            jars = list(staging.glob("kafka_2.13-*.jar")) if staging.exists() else []
            if result.returncode != 0 or not jars:
                tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
                raise KafkaResolveError(
                    f"Maven could not resolve org.apache.kafka:kafka_2.13:{self.version} "
                    f"(exit {result.returncode}). Is Maven Central reachable?\n{tail}"
                )
            (staging / ".complete").write_text(self._stamp)
            if self.libs.exists():
                shutil.rmtree(self.libs)
            staging.rename(self.libs)
        progress(f"Kafka {self.version}: {len(list(self.libs.glob('*.jar')))} jars in {self.libs}")
        return self.libs


# ---------------------------------------------------------------- broker


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def die_with_parent(sig: int = signal.SIGTERM) -> None:  # pragma: no cover - runs between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still "exists"; treat it as gone
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


@dataclass(frozen=True)
class BrokerSecurity:
    """A secured broker's keys, users and rights (PEM files, as Kafka and Python both read them).

    Listeners: ``CLIENT`` (the broker's port) is SASL_SSL with SCRAM-SHA-512;
    ``INTERNAL`` (``internal_port``) and ``CONTROLLER`` are TLS with client
    certificates required: the broker's own certificate is its principal
    there (``User:CN=...``), and a client holding a certificate of the same CA
    may use ``INTERNAL`` too (mutual TLS, principal from its certificate).
    """

    keystore: Path  # the broker's private key, then its certificate chain (unencrypted PEM)
    truststore: Path  # the CA certificates it trusts, for client certificates
    broker_principal: str  # ``User:CN=...`` of the keystore's certificate: a super user
    scram_users: tuple[tuple[str, str], ...]  # (name, password), created at format time
    admin: tuple[str, str]  # one of them, a super user: how this module probes the broker
    internal_port: int = 0  # 0: any free port
    acls: bool = True  # StandardAuthorizer, deny unless an ACL allows

    @property
    def super_users(self) -> str:
        return f"{self.broker_principal};User:{self.admin[0]}"

    def client_options(self) -> dict[str, object]:
        """aiokafka keywords for the admin user over the client listener."""
        import ssl

        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.admin[0],
            "sasl_plain_password": self.admin[1],
            "ssl_context": ssl.create_default_context(cafile=str(self.truststore)),
        }


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, as ``kafka-storage random-uuid`` makes."""
    cluster_id = "-"
    while cluster_id.startswith("-"):  # as Kafka's Uuid does: a leading dash reads as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


@dataclass(frozen=True)
class ClusterNode:
    """A broker's place in a cluster (the default: a cluster of its own, one node)."""

    node_id: int = 1
    voters: str | None = None  # ``controller.quorum.voters`` of every node; None: this one alone
    cluster_id: str | None = None  # shared by every node; None: a new one
    replicas: int = 1  # replication of Kafka's internal topics, and the default for new ones


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str | None
    answering: bool


class LocalBroker:
    """One single-node KRaft broker on 127.0.0.1 with its data in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        heap_mb: int = 512,
        kafka_version: str = DEFAULT_KAFKA_VERSION,
        distribution: KafkaDistribution | None = None,
        security: BrokerSecurity | None = None,
        node: ClusterNode | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.security = security
        self.node = node or ClusterNode()
        self.internal_port = (security.internal_port or free_port()) if security else 0
        self.heap_mb = heap_mb
        self.distribution = distribution or KafkaDistribution(kafka_version)
        self.process: subprocess.Popen[bytes] | None = None
        self._launched = 0.0

    # paths
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "kraft"

    # lifecycle
    def start(
        self, *, attached: bool = True, timeout: float = 90.0, progress: Progress = lambda _: None
    ) -> LocalBroker:
        """Start (or find already running) and wait until it answers metadata requests.

        ``attached``: the broker gets SIGTERM when its parent goes. Linux sends
        that when the *thread* that started it exits, so start an attached
        broker from a thread that lives as long as it should (not an executor's).
        """
        running = self._recorded()
        if running is not None:
            pid, bootstrap = running
            self.port = int(bootstrap.rsplit(":", 1)[1])
            if _probe(self.bootstrap, 5.0, self._probe_options()):
                progress(f"Kafka already running at {self.bootstrap} (pid {pid})")
                return self
            raise BrokerStartError(
                f"a broker process (pid {pid}) owns {self.data_dir} but does not answer; "
                "run `wirewatch broker stop` first"
            )
        self.launch(attached=attached, progress=progress)
        return self.wait_started(timeout, progress)

    def launch(self, *, attached: bool = True, progress: Progress = lambda _: None) -> None:
        """Format the storage if new and start the JVM, without waiting for it (a cluster's nodes
        are launched together: each waits for the others' votes)."""
        java = check_java()
        libs = self.distribution.resolve(progress)
        for port in (self.port, self.controller_port, *([self.internal_port] if self.security else [])):
            if not _port_free(port):
                raise PortInUse(
                    f"port {port} on 127.0.0.1 is already in use (another Kafka?). "
                    "Stop that process or configure kafka.embedded.port / controller_port."
                )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self._write_config()
        self._format(java, libs, props)
        progress(f"starting Kafka {self.distribution.version} on {self.bootstrap} (data in {self.data_dir})…")
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    java,
                    f"-Xmx{self.heap_mb}m",
                    f"-Xms{min(self.heap_mb, 256)}m",
                    "-XX:+UseG1GC",
                    "-XX:+ExitOnOutOfMemoryError",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
                    "-cp",
                    f"{libs}/*",
                    "kafka.Kafka",
                    str(props),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # its own process group either way: the terminal's Ctrl-C reaches only our process,
                # which stops its worker while the broker is still up, then the broker
                start_new_session=True,
                preexec_fn=die_with_parent if attached else None,
            )
        self.pid_file.write_text(json.dumps({"pid": self.process.pid, "bootstrap": self.bootstrap}))
        self._launched = time.monotonic()

    def wait_started(self, timeout: float = 90.0, progress: Progress = lambda _: None) -> LocalBroker:
        """Until the launched broker answers metadata requests; stopped again if it does not."""
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        progress(f"Kafka ready at {self.bootstrap} in {time.monotonic() - self._launched:.1f}s")
        return self

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM (clean shutdown), then SIGKILL after ``timeout``. True if a process was stopped."""
        pid = self.process.pid if self.process else None
        if pid is None:
            recorded = self._recorded()
            pid = recorded[0] if recorded else None
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.1)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        self.process = None
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> BrokerStatus:
        recorded = self._recorded()
        if recorded is None:
            return BrokerStatus(False, None, None, False)
        pid, bootstrap = recorded
        return BrokerStatus(True, pid, bootstrap, _probe(bootstrap, 3.0, self._probe_options()))

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # internals
    def _recorded(self) -> tuple[int, str] | None:
        """(pid, bootstrap) of a live broker recorded in the pid file; clears a stale file."""
        try:
            info = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        pid = int(info.get("pid", 0))
        if pid and _pid_alive(pid) and _is_kafka(pid):
            return pid, str(info["bootstrap"])
        self.pid_file.unlink(missing_ok=True)
        return None

    def _write_config(self) -> Path:
        props = self.data_dir / "server.properties"
        replicas = str(self.node.replicas)
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node.node_id),
            "controller.quorum.voters": self.node.voters or f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": str(max(1, self.node.replicas - 1)),
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": str(max(1, self.node.replicas - 1)),
            "default.replication.factor": replicas,
            "min.insync.replicas": str(max(1, self.node.replicas - 1)),
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
            # historical articles carry old timestamps; keep them (retention is by broker time)
            "log.message.timestamp.type": "CreateTime",
        }
        if self.security is not None:
            settings.update(self._secured_settings(self.security))
        props.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        (self.data_dir / "log4j2.properties").write_text(_LOG4J.format(log=self.log_file))
        return props

    def _secured_settings(self, security: BrokerSecurity) -> dict[str, str]:
        host = "127.0.0.1"
        return {
            "listeners": (
                f"CLIENT://{host}:{self.port},INTERNAL://{host}:{self.internal_port},"
                f"CONTROLLER://{host}:{self.controller_port}"
            ),
            "advertised.listeners": f"CLIENT://{host}:{self.port},INTERNAL://{host}:{self.internal_port}",
            "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "INTERNAL",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.client.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(security.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(security.truststore),
            "ssl.client.auth": "required",  # INTERNAL and CONTROLLER: certificates both ways
            "listener.name.client.ssl.client.auth": "none",  # CLIENT: SCRAM says who it is
            "ssl.endpoint.identification.algorithm": "https",
            **(
                {
                    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                    "super.users": security.super_users,
                    "allow.everyone.if.no.acl.found": "false",
                }
                if security.acls
                else {}
            ),
        }

    def _probe_options(self) -> dict[str, object]:
        return self.security.client_options() if self.security else {}

    def _format(self, java: str, libs: Path, props: Path) -> None:
        if (self.log_dir / "meta.properties").exists():
            return
        cluster_id = self.node.cluster_id or new_cluster_id()
        result = subprocess.run(
            [
                java,
                "-Xmx256m",
                f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
                "-cp",
                f"{libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
                *(
                    arg
                    for name, password in (self.security.scram_users if self.security else ())
                    for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
                ),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerStartError(f"formatting KRaft storage failed:\n{result.stdout}{result.stderr}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise BrokerStartError(
                    f"Kafka exited with code {code} during start-up. Last lines of {self.log_file}:\n"
                    + self.log_tail()
                )
            if _probe(self.bootstrap, 2.0, self._probe_options()):
                return
            time.sleep(0.3)
        raise BrokerStartError(
            f"Kafka did not answer on {self.bootstrap} within {timeout:.0f}s. Last lines of "
            f"{self.log_file}:\n" + self.log_tail()
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class LocalCluster:
    """``size`` KRaft nodes on loopback, each a broker and a controller (a quorum of ``size``).

    Replicated as production is: Kafka's internal topics and new topics get
    ``size`` replicas (at most 3), ``min.insync.replicas`` one less. Nodes are
    started together (each waits for the quorum) and can be stopped, killed
    and started again one by one, for failover drills.
    """

    def __init__(
        self, data_dir: Path, size: int = 3, heap_mb: int = 384, kafka_version: str = DEFAULT_KAFKA_VERSION
    ) -> None:
        ports = [(free_port(), free_port()) for _ in range(size)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{controller}" for i, (_, controller) in enumerate(ports))
        cluster_id = new_cluster_id()
        distribution = KafkaDistribution(kafka_version)
        self.nodes = [
            LocalBroker(
                Path(data_dir) / f"node{i + 1}",
                port=port,
                controller_port=controller,
                heap_mb=heap_mb,
                distribution=distribution,
                node=ClusterNode(i + 1, voters, cluster_id, min(size, 3)),
            )
            for i, (port, controller) in enumerate(ports)
        ]

    @property
    def bootstrap(self) -> list[str]:
        return [node.bootstrap for node in self.nodes]

    def start(self, timeout: float = 120.0, progress: Progress = lambda _: None) -> LocalCluster:
        """Launch every node (attached, from this thread), then wait until each answers."""
        try:
            for node in self.nodes:
                node.launch(attached=True, progress=progress)
            for node in self.nodes:
                node.wait_started(timeout, progress)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Every node at once: stopped one by one, the last ones wait for a quorum that is gone."""
        threads = [threading.Thread(target=node.stop) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_LOG4J = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = warn
"""


def _is_kafka(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


def _probe(bootstrap: str, timeout: float, options: dict[str, object] | None = None) -> bool:
    """True when the broker answers a metadata request listing at least one broker.

    ``options``: the aiokafka security keywords a secured broker needs."""
    host, _, port = bootstrap.rpartition(":")
    try:  # cheap check first, so start-up polling does not fill the log with refused connections
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False

    async def ask() -> bool:
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **(options or {})
        )
        try:
            await asyncio.wait_for(client.bootstrap(), timeout)
            return bool(client.cluster.brokers())
        except Exception:
            return False
        finally:
            await client.close()

    result: list[bool] = [False]

    def run() -> None:
        result[0] = asyncio.run(ask())

    # own thread and loop: callable from sync code and from inside a running event loop
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout + 5)
    return result[0]


def find_broker_processes() -> Iterator[int]:
    """Pids of every local ``kafka.Kafka`` JVM (for cleanup checks)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_kafka(int(entry.name)) and _pid_alive(int(entry.name)):
            yield int(entry.name)


__all__ = [
    "BrokerError",
    "BrokerSecurity",
    "BrokerStatus",
    "ClusterNode",
    "KafkaDistribution",
    "LocalBroker",
    "LocalCluster",
    "check_java",
    "find_broker_processes",
    "free_port",
]
