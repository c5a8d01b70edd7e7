"""The consumer group's committed offsets, read through the admin API without joining the group."""

from __future__ import annotations

from kafka import KafkaAdminClient

from streams.kafka.topics import INPUT_TOPICS
from streams.security import kafka_client_options
from streams.settings import Settings


def committed_offsets(settings: Settings) -> dict[tuple[str, int], int]:
    """(topic, partition) -> next offset to read, for the input topics the worker's group has committed."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-admin",
        **kafka_client_options(settings),
    )
    try:
        found = admin.list_group_offsets(settings.app_id).get(settings.app_id, {})
    finally:
        admin.close()
    return {
        (tp.topic, tp.partition): meta.offset
        for tp, meta in found.items()
        if tp.topic in INPUT_TOPICS and meta.offset >= 0
    }
