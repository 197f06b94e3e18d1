"""How our processes reach Kafka: bootstrap servers and security options, from config.

One function per client family (aiokafka, Faust) so the SASL/SSL settings are
translated in exactly one place. ``check_access`` connects once before a
command starts its clients: a Kafka client that cannot authenticate retries
with a generic "unable to bootstrap", so the cause (a wrong password, an
untrusted CA, TLS against a plaintext port or the reverse) is found here and
named in the error.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, SaslAuthenticationFailed

from monitor.config import KafkaConfig
from monitor.errors import KafkaAccessError


def bootstrap_servers(kafka: KafkaConfig) -> list[str]:
    """``host:port`` list; the embedded broker listens on loopback at its configured port."""
    if kafka.is_embedded:
        return [f"127.0.0.1:{kafka.embedded.port}"]
    assert isinstance(kafka.bootstrap, list)
    return list(kafka.bootstrap)


def ssl_context(kafka: KafkaConfig) -> ssl.SSLContext | None:
    sec = kafka.security
    if not sec.protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(cafile=str(sec.ssl_cafile) if sec.ssl_cafile else None)
    if sec.ssl_certfile:
        password = sec.ssl_password.get_secret_value() if sec.ssl_password else None
        context.load_cert_chain(
            str(sec.ssl_certfile), str(sec.ssl_keyfile) if sec.ssl_keyfile else None, password
        )
    return context


def aiokafka_options(kafka: KafkaConfig) -> dict[str, Any]:
    """Keyword arguments shared by AIOKafkaProducer, AIOKafkaConsumer and the admin client."""
    sec = kafka.security
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(kafka),
        "security_protocol": sec.protocol,
    }
    if sec.protocol.startswith("SASL_"):
        assert sec.sasl_password is not None
        options.update(
            sasl_mechanism=sec.sasl_mechanism,
            sasl_plain_username=sec.sasl_username,
            sasl_plain_password=sec.sasl_password.get_secret_value(),
        )
    context = ssl_context(kafka)
    if context is not None:
        options["ssl_context"] = context
    return options


def producer_options(kafka: KafkaConfig) -> dict[str, Any]:
    """AIOKafkaProducer's batching and compression keywords (``kafka.producer``)."""
    producer = kafka.producer
    return {
        "linger_ms": round(producer.linger * 1000),
        "compression_type": producer.compression_type,
        "max_batch_size": producer.max_batch_bytes,
    }


def faust_broker_url(kafka: KafkaConfig) -> str:
    """Faust's ``broker`` setting: ``kafka://h1:p1;h2:p2``."""
    return "kafka://" + ";".join(bootstrap_servers(kafka))


async def check_access(kafka: KafkaConfig, within: float = 15.0) -> None:
    """Connect and authenticate to a bootstrap server; ``KafkaAccessError`` naming why none took us."""
    options = aiokafka_options(kafka)
    reasons = []
    for server in options.pop("bootstrap_servers"):
        host, _, port = server.rpartition(":")
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(within * 1000), **options), within
            )
        except Exception as exc:  # every cause is named in the message
            reasons.append(f"{server}: {_cause(kafka, exc)}")
            continue
        conn.close()
        return
    raise KafkaAccessError("no Kafka bootstrap server accepted the connection:\n  " + "\n  ".join(reasons))


def _cause(kafka: KafkaConfig, exc: BaseException) -> str:
    """What went wrong connecting, in the terms of the ``kafka.security`` settings."""
    sec = kafka.security
    tls = sec.protocol.endswith("SSL")
    if isinstance(exc, ssl.SSLCertVerificationError):
        trusted = f"kafka.security.ssl_cafile ({sec.ssl_cafile})" if sec.ssl_cafile else "the system's CAs"
        return f"TLS: the broker's certificate is not trusted by {trusted}: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS handshake failed ({exc.reason or exc}); kafka.security.protocol is {sec.protocol}: "
            "is this listener TLS, and does it want a client certificate (ssl_certfile/ssl_keyfile)?"
        )
    if isinstance(exc, SaslAuthenticationFailed):
        return (
            f"SASL authentication failed for user {sec.sasl_username!r} ({sec.sasl_mechanism}): {exc}. "
            "Check kafka.security.sasl_username and sasl_password."
        )
    if isinstance(exc, ConnectionRefusedError | OSError) and not isinstance(exc, KafkaError):
        return f"cannot connect: {exc}"
    if isinstance(exc, KafkaConnectionError | asyncio.TimeoutError | TimeoutError) and not tls:
        return (
            f"the broker closed the connection or did not answer; kafka.security.protocol is {sec.protocol}: "
            "a TLS listener (SSL or SASL_SSL) does that to a client that does not speak TLS"
        )
    if isinstance(exc, KafkaConnectionError) and tls and not sec.ssl_certfile:
        return (
            "the broker closed the connection after the TLS handshake: a listener that wants a client "
            "certificate (mutual TLS) does that to a client without one (kafka.security.ssl_certfile "
            "and ssl_keyfile)"
        )
    return f"{type(exc).__name__}: {exc}"
