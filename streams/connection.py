"""How our processes reach Kafka: bootstrap servers and security options, from config.

One function per client family (aiokafka, Faust) so the SASL/SSL settings are
translated in exactly one place.
"""

from __future__ import annotations

import ssl
from typing import Any

from monitor.config import KafkaConfig


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
