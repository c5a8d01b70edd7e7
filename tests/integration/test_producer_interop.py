"""Producers nobody here wrote, on the embedded broker, against one running worker: librdkafka (the
confluent-kafka package, its own default partitioner) and kafka-python, each with every codec Kafka
defines. Every record carries headers, the reference topics are sent with null keys, and one quote is
close to the largest message the worker processes. The alerts must equal those of the uncompressed run.

Each case publishes the same bus-company story under its own ids (`WHBUS-2025-A.ck-zstd`, ...), in four
waves (the first deal, the issuer's financials, the quotes, the second deal) each handled before the next,
since faust promises no order between topics (an issuer's name comes with its deal). One worker serves every case, so the two market-wide rules (stale_quote follows the
clock of all quotes, issuance_record counts every deal) are off: each case's alerts then depend on its
own records only.

Transactions (README, What producers may send): the worker reads `read_committed`, so a quote inside an
open transaction is not read until it commits (Tansu keeps the last stable offset). Tansu does not list
aborted transactions in its fetch responses, so on it an aborted record is read all the same; the last
test pins that, so the day Tansu changes it shows here.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiokafka
import confluent_kafka
import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from streams.ingest.parse import MAX_MESSAGE_BYTES
from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.codecs import KAFKA_CODECS
from streams.kafka.topics import ALERTS, DEALS, FINANCIALS, QUOTES, ensure_topics
from streams.settings import Settings
from tests.conftest import REDIS_URL
from tests.integration.test_story_rules import FIRST, FY24, H125, SECOND
from tests.support.kafka_io import read_json
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

RULES = "[stale_quote]\nenabled = false\n\n[issuance_record]\nenabled = false\n"
IDS = ("event_id", "deal_id", "issuer_id", "tranche_id", "programme_id")
HEADERS = [("source-system", b"interop-test"), ("trace-id", b"")]
# The quote that is nearly as large as the worker takes (MAX_MESSAGE_BYTES), padded with an unknown field
# of hex digits, which compress to about half, so every codec still carries a batch of half a megabyte.
PADDING = random.Random(19).randbytes((MAX_MESSAGE_BYTES - 10_000) // 2).hex()


def quote(event_id: str, ts: str, price: float, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "tranche_id": "WHBUS-2025-A", "ts": ts, "price": price, **extra}


# The bus-company story of test_story_rules.py, with a quote before the drop and a large one after it.
STORY: list[list[tuple[str, dict[str, Any]]]] = [
    [(DEALS, FIRST)],
    [(FINANCIALS, FY24), (FINANCIALS, H125)],
    [
        (QUOTES, quote("q-1", "2025-08-29T09:30:00+08:00", 99.5)),
        (QUOTES, quote("q-2", "2025-09-01T09:30:00+08:00", 95.0)),
        (QUOTES, quote("q-3", "2025-09-02T09:30:00+08:00", 94.0, note=PADDING)),
    ],
    [(DEALS, SECOND)],
]
KEY_FIELD = {QUOTES: "tranche_id"}  # deals and financials go with null keys (one partition each)


def renamed(value: Any, tag: str) -> Any:
    """The value with every id suffixed `.tag`, so each case has its own tranche, deal and issuer."""
    if isinstance(value, dict):
        return {
            k: f"{v}.{tag}" if k in IDS and isinstance(v, str) else renamed(v, tag) for k, v in value.items()
        }
    if isinstance(value, list):
        return [renamed(v, tag) for v in value]
    return value


def unfingerprinted(value: Any) -> Any:
    """Fingerprints hash the subject's ids, which differ by case: every one taken out, nested ones too."""
    if isinstance(value, dict):
        return {k: unfingerprinted(v) for k, v in value.items() if k != "fingerprint"}
    if isinstance(value, list):
        return [unfingerprinted(v) for v in value]
    return value


Send = Callable[[list[tuple[str, bytes | None, bytes]]], None]


def kafka_python(bootstrap: str, codec: str | None) -> Send:
    def send(records: list[tuple[str, bytes | None, bytes]]) -> None:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=20, compression_type=codec
        )
        try:
            for topic, key, value in records:
                producer.send(
                    topic, key=key, value=value, headers=[(k, v or uuid.uuid4().bytes) for k, v in HEADERS]
                )
            producer.flush(30)
        finally:
            producer.close(5)

    return send


def librdkafka(bootstrap: str, codec: str | None, **config: Any) -> confluent_kafka.Producer:
    return confluent_kafka.Producer(
        {"bootstrap.servers": bootstrap, "compression.type": codec or "none", "linger.ms": 20, **config}
    )


def confluent(bootstrap: str, codec: str | None) -> Send:
    def send(records: list[tuple[str, bytes | None, bytes]]) -> None:
        producer = librdkafka(bootstrap, codec)  # partitioner: librdkafka's default, consistent_random
        for topic, key, value in records:
            producer.produce(
                topic, value=value, key=key, headers=[(k, v or uuid.uuid4().bytes) for k, v in HEADERS]
            )
        assert producer.flush(30) == 0, "librdkafka did not deliver everything"

    return send


class Worker:
    """The one worker of this module, on a broker and a Redis prefix of its own."""

    def __init__(self, broker: EmbeddedBroker, process: WorkerProcess) -> None:
        self.broker, self.process = broker, process

    def handled(self, topic: str) -> float:
        return sum(
            self.process.metric("tranchewatch_events_total", topic=topic, outcome=o)
            for o in ("processed", "invalid", "duplicate")
        )

    def publish(self, send: Send, tag: str) -> None:
        """The story under `tag`'s ids, wave by wave, each handled before the next is sent."""
        for wave in STORY:
            expected = {topic: self.handled(topic) for topic, _ in wave}
            records = []
            for topic, value in wave:
                value = renamed(value, tag)
                key = value[KEY_FIELD[topic]].encode() if topic in KEY_FIELD else None
                records.append((topic, key, json.dumps(value).encode()))
                expected[topic] += 1
            send(records)
            wait_for(
                lambda expected=expected: all(self.handled(t) >= n for t, n in expected.items()),  # type: ignore[misc]
                what=f"{tag}: {sorted(expected)} handled",
            )

    def alerts(self, tag: str) -> list[dict[str, Any]]:
        """The case's alerts on abs.alerts, its ids and fingerprints taken out, sorted: the order between two
        fingerprints depends on how the records fell into batches, which is no part of the contract."""
        suffix = f".{tag}"
        found = []
        for alert in read_json(self.broker.bootstrap, ALERTS):
            if not any(str(v).endswith(suffix) for v in alert["subject"].values() if v):
                continue
            found.append(json.loads(json.dumps(unfingerprinted(alert)).replace(suffix, "")))
        return sorted(found, key=lambda a: json.dumps(a, sort_keys=True))


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    tmp = tmp_path_factory.mktemp("interop")
    prefix = f"twtest:{uuid.uuid4().hex[:12]}:"
    rules = tmp / "rules.toml"
    rules.write_text(RULES)
    broker = EmbeddedBroker(log_file=tmp / "broker.log")
    with broker.running():
        ensure_topics(Settings(kafka_bootstrap=broker.bootstrap))
        env = {
            "TRANCHEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap,
            "TRANCHEWATCH_REDIS_URL": REDIS_URL,
            "TRANCHEWATCH_REDIS_PREFIX": prefix,
            "TRANCHEWATCH_APP_ID": f"tw-test-{uuid.uuid4().hex[:8]}",
            "TRANCHEWATCH_HTTP_PORT": str(free_port()),
            "TRANCHEWATCH_RULES_FILE": str(rules),
        }
        process = WorkerProcess(env, tmp / "worker.log").start()
        try:
            process.wait_ready()
            yield Worker(broker, process)
        finally:
            process.stop()
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


EXPECTED = sorted(
    [
        ("below_par", "critical", "firing"),
        ("price_drop", "critical", "firing"),
        ("issuer_loss_widening", "critical", "firing"),
        ("distressed_tranche", "critical", "firing"),
        ("issuing_into_weakness", "warning", "firing"),
    ]
)


@pytest.fixture(scope="module")
def uncompressed(worker: Worker) -> list[dict[str, Any]]:
    """The reference: kafka-python, no compression."""
    worker.publish(kafka_python(worker.broker.bootstrap, None), "kp-none")

    def complete() -> list[dict[str, Any]] | None:
        alerts = worker.alerts("kp-none")
        return alerts if sorted((a["rule"], a["severity"], a["status"]) for a in alerts) == EXPECTED else None

    return wait_for(complete, what="the uncompressed run's alerts")


@pytest.mark.parametrize("codec", KAFKA_CODECS)
@pytest.mark.parametrize("client", ["kafka-python", "librdkafka"])
def test_every_codec_from_both_clients_gives_the_uncompressed_alerts(
    worker: Worker, uncompressed: list[dict[str, Any]], client: str, codec: str
) -> None:
    tag = f"{'kp' if client == 'kafka-python' else 'ck'}-{codec}"
    producer = (kafka_python if client == "kafka-python" else confluent)(worker.broker.bootstrap, codec)
    worker.publish(producer, tag)
    try:
        wait_for(lambda: worker.alerts(tag) == uncompressed, what=f"{tag}: the uncompressed run's alerts")
    except AssertionError:
        assert worker.alerts(tag) == uncompressed  # pytest shows the difference
        raise


def test_a_quote_inside_an_open_transaction_is_read_only_once_committed(worker: Worker) -> None:
    tag = "ck-txn"
    worker.publish(confluent(worker.broker.bootstrap, "lz4"), tag)  # the story, then one more quote
    before = worker.handled(QUOTES)
    producer = librdkafka(worker.broker.bootstrap, "zstd", **{"transactional.id": f"tw-test-{tag}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    late = renamed(quote("q-4", "2025-09-03T09:30:00+08:00", 80.0), tag)
    producer.produce(
        QUOTES,
        key=late["tranche_id"].encode(),
        value=json.dumps(late).encode(),
        headers=HEADERS[:1],  # type: ignore[arg-type]  # confluent-kafka's stub: a list is invariant
    )
    assert producer.flush(30) == 0
    # The worker goes on reading (a deal handled after the open transaction's quote was written) ...
    kafka_python(worker.broker.bootstrap, None)([(DEALS, None, b'{"not": "a deal"}')])
    wait_for(lambda: worker.process.metric("tranchewatch_events_total", topic=DEALS, outcome="invalid") >= 1)
    assert worker.handled(QUOTES) == before  # ... but not the uncommitted quote
    producer.commit_transaction(30)
    wait_for(lambda: worker.handled(QUOTES) == before + 1, what="the quote read once committed")


def test_tansu_does_not_list_aborted_transactions(tmp_path: Path) -> None:
    """Pins the embedded broker's limit: a read_committed consumer on Tansu reads an aborted record (Kafka
    lists aborted transactions in fetch responses and aiokafka drops their records; Tansu writes the abort
    marker but lists none). If this fails, Tansu has changed: test the worker against an abort."""
    broker = EmbeddedBroker(log_file=tmp_path / "broker.log")
    with broker.running():
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic("txn", 1, 1)])
        admin.close()
        producer = librdkafka(broker.bootstrap, None, **{"transactional.id": "tw-test-abort"})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce("txn", value=b"aborted")
        assert producer.flush(30) == 0  # on the broker before the abort (else librdkafka just drops it)
        producer.abort_transaction(30)
        producer.begin_transaction()
        producer.produce("txn", value=b"committed")
        producer.commit_transaction(30)
        del producer  # librdkafka's threads go with it, before the broker does
        assert asyncio.run(_read_committed(broker.bootstrap, "txn", 2)) == [b"aborted", b"committed"]


async def _read_committed(bootstrap: str, topic: str, count: int) -> list[bytes | None]:
    consumer = aiokafka.AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    )
    await consumer.start()
    values: list[bytes | None] = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                values += [r.value for r in records]
    finally:
        await consumer.stop()
    return values
