"""Reading and writing topics with kafka-python, as an outside consumer would."""

from __future__ import annotations

import json
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def produce(bootstrap: str, topic: str, values: list[Any], key_field: str | None = None) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            raw = value if isinstance(value, bytes) else json.dumps(value).encode()
            key = str(value[key_field]).encode() if key_field and isinstance(value, dict) else None
            producer.send(topic, key=key, value=raw)
        producer.flush(30)
    finally:
        producer.close(5)


def read_all(bootstrap: str, topic: str, timeout_ms: int = 1500) -> list[Any]:
    """Every record on the topic from the beginning (no consumer group), as kafka-python records."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=timeout_ms
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return list(consumer)
    finally:
        consumer.close()


def read_json(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [json.loads(record.value) for record in read_all(bootstrap, topic)]
