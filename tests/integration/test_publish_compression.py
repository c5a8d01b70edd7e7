"""`tranchewatch publish --compression CODEC`: every codec, read back by aiokafka (the worker's client) with
the contract's keys and the values unchanged; and the batches are in that codec (the broker keeps them as
written: reading them fails while aiokafka is told it has no library for it)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiokafka.codec
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import UnsupportedCodecError

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.codecs import KAFKA_CODECS
from streams.kafka.topics import QUOTES, ensure_topics
from streams.settings import Settings

pytestmark = pytest.mark.integration


async def _read(bootstrap: str, count: int) -> list[tuple[bytes | None, bytes | None]]:
    consumer = AIOKafkaConsumer(QUOTES, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[tuple[bytes | None, bytes | None]] = []
    try:
        for _ in range(100):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [(r.key, r.value) for r in records]
            if len(found) >= count:
                break
    finally:
        await consumer.stop()
    return found


@pytest.mark.parametrize("codec", KAFKA_CODECS)
def test_publish_writes_each_codec(
    broker: EmbeddedBroker, tmp_path: Path, codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_topics(Settings(kafka_bootstrap=broker.bootstrap), [QUOTES])
    quotes: list[dict[str, Any]] = [
        {"event_id": f"q-{i}", "tranche_id": f"T-{i % 3}", "ts": "2025-09-01T09:30:00+08:00", "price": 99.0}
        for i in range(20)
    ]
    path = tmp_path / "quotes.jsonl"
    path.write_text("".join(json.dumps({"topic": QUOTES, "value": q}) + "\n" for q in quotes))
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "publish", "--compression", codec, str(path)],
        env={**os.environ, "TRANCHEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{QUOTES}: 20"
    found = asyncio.run(_read(broker.bootstrap, len(quotes)))
    assert sorted(found, key=lambda kv: json.loads(kv[1] or b"")["event_id"]) == sorted(
        ((q["tranche_id"].encode(), json.dumps(q).encode()) for q in quotes),
        key=lambda kv: json.loads(kv[1])["event_id"],
    )
    monkeypatch.setattr(aiokafka.codec, f"has_{codec}", lambda: False)
    with pytest.raises(UnsupportedCodecError, match=codec):
        asyncio.run(_read(broker.bootstrap, len(quotes)))
