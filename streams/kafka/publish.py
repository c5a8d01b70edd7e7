"""Publishes a JSON Lines file of {"topic": ..., "value": {...}} with the contract's keys."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from streams.kafka.topics import DEALS, DISTRIBUTIONS, ENTITIES, FINANCIALS, QUOTES, RATINGS, SERVICER_REPORTS

# The field whose value keys a topic's records; a tuple: the first present (a rating's subject).
KEY_FIELD: dict[str, str | tuple[str, ...]] = {
    QUOTES: "tranche_id",
    DEALS: "deal_id",
    FINANCIALS: "issuer_id",
    DISTRIBUTIONS: "tranche_id",
    SERVICER_REPORTS: "deal_id",
    ENTITIES: "entity_id",
    RATINGS: ("tranche_id", "issuer_id"),
}


class PublishError(ValueError):
    pass


def iter_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    """Streams a file of {"topic": ..., "value": ...} lines, so a long history is not held twice."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield str(row["topic"]), row["value"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise PublishError(
                    f'{path}:{number}: expected {{"topic": ..., "value": ...}}: {exc}'
                ) from exc


def read_jsonl(path: Path) -> list[tuple[str, Any]]:
    return list(iter_jsonl(path))


def message_key(topic: str, value: Any) -> bytes | None:
    fields = KEY_FIELD.get(topic, ())
    for field in (fields,) if isinstance(fields, str) else fields:
        if isinstance(value, dict) and isinstance(value.get(field), str):
            return str(value[field]).encode()
    return None


def publish_records(
    bootstrap: str,
    records: Iterable[tuple[str, Any]],
    compression: str | None = None,
    **client_options: Any,
) -> Counter[str]:
    """compression: a codec of streams/kafka/codecs.py, None for none; client_options: security settings
    for kafka-python (streams/security.py)."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        linger_ms=5,
        compression_type=compression,
        **client_options,
    )
    counts: Counter[str] = Counter()
    try:
        for topic, value in records:
            raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
            producer.send(topic, key=message_key(topic, value), value=raw)
            counts[topic] += 1
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return counts
