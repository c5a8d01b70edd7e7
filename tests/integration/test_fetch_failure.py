"""A batch the worker cannot decode (issue 19: lz4 without its library) on the real broker: the worker stays
up, /readyz answers 503 naming `topic[partition]@offset`, the fetch-error metric counts it by topic and
kind, the other topics flow meanwhile, and once the codec is back it resumes where it stopped: every
record read once, nothing past the failed batch read before it, nothing skipped.

The codec is taken away inside the worker process by tests/support/codec_switch.py while a flag file
exists, and given back by deleting the file, without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from kafka import KafkaProducer

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEALS, QUOTES
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

PARTITIONS = 4  # bond.quotes as the worker creates it
OPEN = dt.datetime(2025, 9, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def quotes(start: int, per_partition: int) -> list[tuple[int, dict[str, object]]]:
    """(partition, quote) pairs: tranche T<p> on partition p, event ids from `start` on, later ts each."""
    out = []
    for n in range(per_partition):
        for p in range(PARTITIONS):
            i = start + n * PARTITIONS + p
            ts = (OPEN + dt.timedelta(minutes=i)).isoformat()
            out.append((p, {"event_id": f"q-{i}", "tranche_id": f"T{p}", "ts": ts, "price": 99.0}))
    return out


def send(bootstrap: str, records: list[tuple[int, dict[str, object]]], compression: str | None) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=50, compression_type=compression
    )
    try:
        for partition, value in records:
            key = str(value["tranche_id"]).encode()
            producer.send(QUOTES, key=key, value=json.dumps(value).encode(), partition=partition)
        producer.flush(30)
    finally:
        producer.close(5)


def test_undecodable_batch_holds_its_partition_and_resumes_once_the_codec_is_back(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    lz4_off = tmp_path / "lz4-off"
    lz4_off.touch()
    env = {**worker_env, "TW_TEST_LZ4_OFF_WHILE": str(lz4_off), "TRANCHEWATCH_FETCH_RETRY_MAX_SECONDS": "1"}
    worker = WorkerProcess(env, tmp_path / "worker.log", module="tests.support.codec_switch").start()
    try:
        worker.wait_ready()

        def processed(topic: str) -> float:
            return worker.metric("tranchewatch_events_total", topic=topic, outcome="processed")

        before, lz4, after = quotes(0, 2), quotes(100, 4), quotes(200, 2)
        send(broker.bootstrap, before, None)
        wait_for(lambda: processed(QUOTES) == len(before), what="the uncompressed quotes handled")
        send(broker.bootstrap, lz4, "lz4")  # every partition's next batch is lz4 ...
        send(broker.bootstrap, after, None)  # ... with uncompressed records behind it

        _status, body = wait_for(
            lambda: (
                (r := worker.http("/readyz"))[0] == 503
                and all(f"{QUOTES}[{p}]@{len(before) // PARTITIONS}" in r[1] for p in range(PARTITIONS))
                and r
            ),
            what="/readyz 503 naming each held partition at its failed offset",
        )
        reason = json.loads(body)["reasons"]["fetch"]
        assert "unsupported_codec" in reason and "lz4" in reason, reason

        def errors() -> float:
            return worker.metric("tranchewatch_fetch_errors_total", topic=QUOTES, kind="unsupported_codec")

        assert errors() >= PARTITIONS
        assert re.search(
            rf"cannot read {re.escape(QUOTES)}\[\d\]@2 \(unsupported_codec, attempt 1\)", worker.log()
        )
        wait_for(lambda: errors() > PARTITIONS, what="the held partitions retried")
        assert processed(QUOTES) == len(before)  # nothing behind a failed batch was read past it

        # Other topics flow while bond.quotes is held.
        deal_producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        deal_producer.send(DEALS, value=b"{}").get(30)  # invalid, dead-lettered: handled all the same
        deal_producer.close(5)
        wait_for(
            lambda: worker.metric("tranchewatch_events_total", topic=DEALS, outcome="invalid") == 1,
            what="abs.deals handled during the outage",
        )
        assert worker.process is not None and worker.process.poll() is None

        lz4_off.unlink()  # the codec is back
        worker.wait_ready(timeout=60)
        total = len(before) + len(lz4) + len(after)
        wait_for(lambda: processed(QUOTES) == total, what="every quote handled once the codec is back")
        assert worker.metric("tranchewatch_events_total", topic=QUOTES, outcome="duplicate") == 0
        assert "reads again" in worker.log()
        assert json.loads(worker.http("/readyz")[1]) == {"ready": True, "reasons": {}}
    finally:
        worker.stop()
