"""Alert routes and webhook sinks on the real broker, with real HTTP receivers on loopback.

One route-only worker (no model: it starts in seconds) and four routes:
``ceasefire`` (by label) delivers to a receiver that fails its first requests,
``critical`` (by severity) to one that always fails, ``pows`` (by detector,
Slack format) to a healthy one, and ``all`` has no criteria and no webhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer

from detectors.base import Severity
from streams.admin import ensure_topics
from streams.records import Alert, DeadLetter, SinkDeadLetter
from streams.topics import Topics
from tests.dashboard import queries as dashboard_queries
from tests.debian_tools import Kcat
from tests.integration.test_alerts_tail import alert
from tests.integration.test_detect import cli, scrape
from tests.integration.test_prometheus import wait_for
from tests.integration.test_topics import _describe
from tests.kafka_fixtures import write_config
from tests.kafka_helpers import produce, read_all, wait_for_records
from tests.prometheus_server import LocalPrometheus

REPO = Path(__file__).resolve().parents[2]
FLAKY_FAILURES = 6  # the ceasefire receiver's first requests fail (503, some with Retry-After)

DETECTORS = [
    {"id": "ceasefire-terms", "kind": "keyword", "any": ["ceasefire"], "labels": ["ceasefire", "ukraine"]},
    {
        "id": "pow-exchange",
        "kind": "keyword",
        "any": ["prisoners"],
        "severity": "high",
        "labels": ["ukraine"],
    },
    {"id": "air-raid", "kind": "keyword", "any": ["air raid"], "severity": "critical", "labels": ["ukraine"]},
]


class Receiver:
    """A webhook receiver on loopback: fails its first ``failures`` requests (or all), keeps bodies by key."""

    def __init__(self, failures: int, secret: str | None = None) -> None:
        self.failures = failures
        self.secret = secret
        self.forged = 0  # requests whose signature did not verify
        self.requests = 0
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)  # Idempotency-Key → bodies taken
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.secret is not None:  # as docs/operations.md's `genuine()` does
                    stamp = self.headers["X-Wirewatch-Timestamp"]
                    mac = hmac.new(receiver.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                    if self.headers.get("X-Wirewatch-Signature") != "sha256=" + mac.hexdigest():
                        receiver.forged += 1
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.failures < 0 or receiver.requests <= receiver.failures
                    if not failing:
                        receiver.bodies[self.headers["Idempotency-Key"]].append(json.loads(body))
                    n = receiver.requests
                self.send_response(503 if failing else 200)
                if failing and n % 2:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made = {"flaky": Receiver(FLAKY_FAILURES), "down": Receiver(-1), "healthy": Receiver(0, secret="s3cret")}
    yield made
    for receiver in made.values():
        receiver.close()


def consume_plainly(bootstrap: str, topic: str, count: int, timeout: float = 60.0) -> list[Any]:
    """A subscriber's own consumer: plain aiokafka, nothing of ours."""

    async def go() -> list[Any]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        records: list[Any] = []
        try:
            async with asyncio.timeout(timeout):
                while len(records) < count:
                    for batch in (await consumer.getmany(timeout_ms=1000)).values():
                        records.extend(batch)
        finally:
            await consumer.stop()
        return records

    return asyncio.run(go())


@pytest.mark.slow
def test_routes_and_webhook_sinks(wirewatch_config, worker_factory, receivers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fast_retries = {"backoff_initial": "50ms", "backoff_max": "500ms"}
    config = wirewatch_config(
        worker={"stages": ["route"]},
        detectors=DETECTORS,
        routes=[
            {
                "name": "ceasefire",
                "labels": ["ceasefire"],
                "webhook": {"url": receivers["flaky"].url, "concurrency": 2, **fast_retries},
            },
            {
                "name": "critical",
                "min_severity": "critical",
                "partitions": 1,
                "webhook": {"url": receivers["down"].url, "max_attempts": 3, **fast_retries},
            },
            {
                "name": "pows",
                "detectors": ["pow-exchange"],
                "webhook": {"url": receivers["healthy"].url, "format": "slack", "secret": "s3cret"},
            },
            {"name": "all"},
        ],
    )
    topics = Topics(config.kafka.topic_prefix)
    asyncio.run(ensure_topics(config.kafka, routes=config.routes))
    counts = asyncio.run(_describe(config, [topics.route("ceasefire"), topics.route("critical")]))
    assert counts == {
        topics.route("ceasefire"): 2,
        topics.route("critical"): 1,
    }  # kafka.partitions / the route's
    ceasefire = [
        alert("ceasefire-terms", f"c{i}", Severity.medium, "ceasefire", "ukraine") for i in range(12)
    ]
    pows = [alert("pow-exchange", f"p{i}", Severity.high, "ukraine") for i in range(5)]
    raids = [alert("air-raid", f"r{i}", Severity.critical, "ukraine") for i in range(4)]
    stream = [a for pair in zip(ceasefire, [*pows, *raids, None, None, None], strict=True) for a in pair if a]
    stream += [ceasefire[0], pows[0]]  # a replay: the same alert ids again
    messages = [(a.id.encode(), a.encode()) for a in stream] + [(b"junk", b"not an alert")]
    asyncio.run(produce(config, topics.alerts, messages))

    worker_factory(config)
    asyncio.run(wait_for_records(config, topics.sink_deadletter, len(raids), timeout=120))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        len(receivers["flaky"].bodies) == len(ceasefire) and len(receivers["healthy"].bodies) == len(pows)
    ):
        time.sleep(0.5)

    # each route holds exactly the alerts it matches, keyed by alert id (a replay repeats a key, no new key)
    expected = {
        "ceasefire": {a.id for a in ceasefire},
        "critical": {a.id for a in raids},
        "pows": {a.id for a in pows},
        "all": {a.id for a in ceasefire + pows + raids},
    }
    for name, ids in expected.items():
        records = asyncio.run(read_all(config, topics.route(name)))
        assert {r.key.decode() for r in records} == ids, name
        assert all(Alert.decode(r.value).id == r.key.decode() for r in records)

    # a subscriber with plain aiokafka and the published JSON Schema reads the route topic
    schema = json.loads((REPO / "schemas" / "alert.schema.json").read_text())
    plain = consume_plainly(config.kafka.bootstrap[0], topics.route("ceasefire"), len(ceasefire) + 1)
    for record in plain:
        jsonschema.validate(json.loads(record.value), schema)
    assert {json.loads(r.value)["id"] for r in plain} == expected["ceasefire"]

    # and `wirewatch alerts tail --route` reads the same topic
    tail = cli("alerts", "tail", "-c", str(write_config(config, tmp_path / "w.yaml")), "--route", "ceasefire",
               "--since", "1h", "--no-follow", "--json")  # fmt: skip
    assert tail.returncode == 0, tail.stderr
    assert {json.loads(line)["id"] for line in tail.stdout.splitlines()} == expected["ceasefire"]

    # and kcat (Debian's package), as docs/operations.md runs it; -e stops at the end instead of following
    kcat = Kcat().run("-C", "-b", config.kafka.bootstrap[0], "-t", topics.route("critical"),
                      "-o", "beginning", "-f", "%k %s\n", "-e")  # fmt: skip
    assert kcat.returncode == 0, kcat.stderr
    shown = [line.split(" ", 1) for line in kcat.stdout.splitlines()]
    assert {key for key, _ in shown} == expected["critical"]
    assert all(json.loads(value)["id"] == key for key, value in shown)

    # the flaky receiver: every alert exactly once per id, though its first requests failed
    flaky = receivers["flaky"]
    assert set(flaky.bodies) == expected["ceasefire"]
    assert all(len(bodies) == 1 for bodies in flaky.bodies.values()), Counter(map(len, flaky.bodies.values()))
    assert all(bodies[0]["id"] == key for key, bodies in flaky.bodies.items())  # generic: the alert itself
    assert flaky.requests >= FLAKY_FAILURES + len(ceasefire)

    # the receiver that is down: every critical alert dead-lettered with the error, after 3 attempts
    dead = [SinkDeadLetter.decode(r.value) for r in asyncio.run(read_all(config, topics.sink_deadletter))]
    assert {d.alert.id for d in dead} == expected["critical"]
    assert all(d.sink == "critical" and d.attempts == 3 and "HTTP 503" in d.error for d in dead), dead[0]
    assert receivers["down"].requests == 3 * len(raids)

    # meanwhile the healthy receiver took every prisoner-exchange alert, in Slack's format
    healthy = receivers["healthy"]
    assert set(healthy.bodies) == expected["pows"]
    assert all(len(b) == 1 and b[0]["text"].startswith("[high]") for b in healthy.bodies.values())
    assert healthy.forged == 0  # every request signed with the route's secret

    # the junk message went to the dead-letter topic, the stage kept going
    letters = [DeadLetter.decode(r.value) for r in asyncio.run(read_all(config, topics.deadletter))]
    assert [(d.stage, d.topic) for d in letters] == [("route", topics.alerts)]

    metrics = scrape(config)

    def sample(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    assert sample("wirewatch_sink_deliveries_total", sink="ceasefire", outcome="delivered") == len(ceasefire)
    assert sample("wirewatch_sink_deliveries_total", sink="critical", outcome="dead_lettered") == len(raids)
    assert sample("wirewatch_sink_deliveries_total", sink="pows", outcome="delivered") == len(pows)
    assert sample("wirewatch_sink_retries_total", sink="ceasefire") >= FLAKY_FAILURES
    assert sample("wirewatch_sink_retries_total", sink="critical") == 2 * len(raids)
    assert sample("wirewatch_alerts_routed_total", route="all") == len(stream)
    assert sample("wirewatch_sink_delivery_duration_seconds_count", sink="pows") == len(pows)

    # a real Prometheus scrapes the worker: both dashboard panels of routes and webhooks have data
    panels = ("Alert routes", "Webhook deliveries")
    exprs = [e for title, e in dashboard_queries(rate_interval="1m", range_="5m") if title in panels]
    assert len(exprs) == 4
    with LocalPrometheus(tmp_path / "prometheus", [f"{config.metrics.host}:{config.metrics.port}"]) as prom:
        for expr in exprs:
            wait_for(prom, expr, timeout=60)
