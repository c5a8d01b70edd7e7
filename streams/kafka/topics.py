"""The contract's topics created through the admin API at start-up; their names are streams/model/topics.py
(re-exported here)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.model.topics import ALERTS as ALERTS
from streams.model.topics import DEADLETTER as DEADLETTER
from streams.model.topics import DEALS as DEALS
from streams.model.topics import DISTRIBUTIONS as DISTRIBUTIONS
from streams.model.topics import ENTITIES as ENTITIES
from streams.model.topics import FINANCIALS as FINANCIALS
from streams.model.topics import INPUT_TOPICS as INPUT_TOPICS
from streams.model.topics import QUOTES as QUOTES
from streams.model.topics import RATINGS as RATINGS
from streams.model.topics import SERVICER_REPORTS as SERVICER_REPORTS
from streams.security import kafka_client_options
from streams.settings import Settings

log = logging.getLogger(__name__)


def partition_counts(settings: Settings) -> dict[str, int]:
    return {
        QUOTES: settings.quotes_partitions,
        DEALS: settings.deals_partitions,
        FINANCIALS: settings.financials_partitions,
        DISTRIBUTIONS: settings.distributions_partitions,
        SERVICER_REPORTS: settings.servicer_reports_partitions,
        RATINGS: settings.ratings_partitions,
        ENTITIES: settings.entities_partitions,
        ALERTS: settings.alerts_partitions,
        DEADLETTER: settings.deadletter_partitions,
    }


def ensure_topics(settings: Settings, names: Iterable[str] | None = None) -> list[str]:
    """Create missing topics, since production brokers often disable auto-creation. Returns those created."""
    wanted = partition_counts(settings)
    if names is not None:
        wanted = {name: wanted[name] for name in names}
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-admin",
        **kafka_client_options(settings),
    )
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=settings.replication_factor)
            for name, count in wanted.items()
            if name not in existing
        ]
        created: list[str] = []
        for topic in missing:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another worker won the race; fine
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    finally:
        admin.close()
