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
    ├── KafkaAccessError       the brokers cannot be reached, or refuse us: TLS, SASL, the wrong protocol
    ├── TopicError             creating or checking topics failed
    │   └── TopicMismatch      an existing topic has another partition count, or (``--check``) drifted
    ├── ToolError              a tool from Debian's packages (``monitor.debian``; the tests' own
    │   │                      docker-compose and kcat errors subclass it in ``tests/debian_tools.py``)
    │   └── PrometheusError    Prometheus and promtool (``wirewatch prometheus``, the tests' server)
    ├── FetchError             a feed's body cannot be read in full (``monitor.fetch``: becomes an outcome)
    │   ├── TooLarge           past ``polling.max_bytes``, counted after decompression
    │   └── UnsupportedEncoding  a Content-Encoding other than gzip, deflate or identity
    ├── ParseError             a feed body could not be parsed (``monitor.parsing``: becomes an outcome)
    │   ├── ParseTimeout       past ``polling.parse_timeout``
    │   └── ParseCrashed       the parser process died (memory limit, crash)
    ├── ExtractError           a page's text could not be extracted (``monitor.fulltext``: an outcome)
    │   ├── ExtractTimeout     past ``fulltext.extract_timeout``
    │   └── ExtractCrashed     the extraction process died (memory limit, crash)
    ├── ModelError             the embedding model cannot be loaded
    │   ├── ModelNotFound      neither the bundled model nor an existing directory
    │   └── UnsupportedModel   not transformer → pooling (→ normalize): the openvino backend cannot run it
    ├── ArchiveError           an archive for replay or backtest cannot be read (names file and line)
    └── RecordDecodeError      bytes on a topic are not a valid record (goes to dead letters)

Outside the tree, on purpose: ``detectors`` imports nothing from ``monitor``, so
its ``QuerySyntaxError`` is a ``ValueError``, which config validation reports at
the query's key and line like any other bad value.
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


class KafkaAccessError(WirewatchError):
    """No bootstrap server accepted us; the message names each server's cause (``streams.connection``)."""


class TopicError(WirewatchError):
    """Topic administration failed."""


class TopicMismatch(TopicError):
    """A topic exists with a partition count other than the configured one."""


class ToolError(WirewatchError):
    """A tool from Debian's packages could not be installed or run (Prometheus; the tests' compose, kcat)."""


class PrometheusError(ToolError):
    """Debian's Prometheus package could not be fetched, or the server did not start."""


class FetchError(WirewatchError):
    """A feed's body could not be read in full; the fetcher turns it into a poll outcome."""


class TooLarge(FetchError):
    """The body, decompressed, passed ``polling.max_bytes``."""


class UnsupportedEncoding(FetchError):
    """A Content-Encoding we do not decode (gzip, deflate and identity are)."""


class ParseError(WirewatchError):
    """A feed body could not be parsed; the poller turns it into a poll outcome."""


class ParseTimeout(ParseError):
    """A feed body took longer than ``polling.parse_timeout`` to parse."""


class ParseCrashed(ParseError):
    """The parser process died (memory limit, crash) on a feed body."""


class ExtractError(WirewatchError):
    """An article page's text could not be extracted; the full-text step keeps the feed's text."""


class ExtractTimeout(ExtractError):
    """A page took longer than ``fulltext.extract_timeout`` to extract."""


class ExtractCrashed(ExtractError):
    """The extraction process died (memory limit, crash) on a page."""


class ModelError(WirewatchError):
    """The embedding model cannot be loaded."""


class ModelNotFound(ModelError):
    """The configured model is neither the bundled one nor an existing directory."""


class UnsupportedModel(ModelError):
    """The model's modules are not transformer → pooling (→ normalize): OpenVINO here cannot run it."""


class RecordDecodeError(WirewatchError):
    """A message's bytes are not a valid record of the expected type and version."""


class ArchiveError(WirewatchError):
    """An archive for ``replay`` or ``backtest`` cannot be read; the message names the file and line."""
