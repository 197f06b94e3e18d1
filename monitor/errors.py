"""Every error Wirewatch raises on purpose, in one hierarchy.

Callers (the CLI above all) catch ``WirewatchError`` and print its message, which
is written for the person running the command: what is wrong and what to do.

::

    WirewatchError
    ├── ConfigError            a YAML file does not validate (lists every issue with key and line)
    ├── BrokerError            the embedded local Kafka broker
    │   ├── JavaNotFound       no usable `java` (17 or newer) on PATH
    │   ├── MavenNotFound      no `mvn` on PATH to resolve Kafka's jars
    │   ├── KafkaResolveError  Maven could not fetch Kafka from Maven Central
    │   ├── PortInUse          a port the broker needs is taken
    │   └── BrokerStartError   the JVM exited or did not answer in time
    ├── TopicError             creating or checking topics failed
    │   └── TopicMismatch      an existing topic has another partition count
    ├── ToolError              a tool from Debian's packages (the tests' proof of deploy files)
    │   ├── PrometheusError    the local Prometheus server and promtool
    │   ├── ComposeError       docker-compose's own validation (``monitor.debian``)
    │   └── KcatError          kcat, the subscriber command in the README (``monitor.debian``)
    ├── ArchiveError           an archive for replay or backtest cannot be read (names file and line)
    └── RecordDecodeError      bytes on a topic are not a valid record (goes to dead letters)
"""

from __future__ import annotations


class WirewatchError(Exception):
    """Base of every error Wirewatch raises deliberately."""


class ConfigError(WirewatchError):
    """A configuration document failed validation; ``issues`` holds one line per problem."""

    def __init__(self, source: str, issues: list[str]) -> None:
        self.source = source
        self.issues = issues
        noun = "error" if len(issues) == 1 else "errors"
        body = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"{source}: {len(issues)} {noun}\n{body}")


class BrokerError(WirewatchError):
    """The embedded Kafka broker could not be prepared, started or stopped."""


class JavaNotFound(BrokerError):
    """Kafka 4 needs a Java 17+ runtime on PATH."""


class MavenNotFound(BrokerError):
    """Maven resolves Kafka's jars; it is needed once per machine."""


class KafkaResolveError(BrokerError):
    """Maven ran but could not resolve Kafka (offline, proxy, unknown version)."""


class PortInUse(BrokerError):
    """A listener port of the broker is already bound by another process."""


class BrokerStartError(BrokerError):
    """The broker process exited early or did not answer metadata requests in time."""


class TopicError(WirewatchError):
    """Topic administration failed."""


class TopicMismatch(TopicError):
    """A topic exists with a partition count other than the configured one."""


class ToolError(WirewatchError):
    """A tool from Debian's packages could not be installed or run (Prometheus, docker-compose, kcat)."""


class PrometheusError(ToolError):
    """Debian's Prometheus package could not be fetched, or the server did not start."""


class RecordDecodeError(WirewatchError):
    """A message's bytes are not a valid record of the expected type and version."""


class ArchiveError(WirewatchError):
    """An archive for ``replay`` or ``backtest`` cannot be read; the message names the file and line."""
