"""Everything a worker holds at run time, built from settings in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis

from alerts.notify import Sink
from alerts.notify.kafka import KafkaSink
from alerts.notify.log import LogSink
from alerts.notify.slack import SlackWebhookSink
from alerts.outbox import Outbox
from alerts.sender import Sender
from streams.gauges import refresh_market_gauges, refresh_tranche_discounts
from streams.metrics import Metrics
from streams.pipeline import BatchHandler
from streams.producer import KafkaPublisher
from streams.rules.config import RulesConfig
from streams.settings import Settings
from streams.store import RedisStore
from streams.topics import ALERTS

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    store: RedisStore
    publisher: KafkaPublisher
    handler: BatchHandler
    outbox: Outbox
    sender: Sender
    metrics: Metrics
    extra_sinks: list[Sink] = field(default_factory=list)

    @classmethod
    def build(
        cls, settings: Settings, metrics: Metrics | None = None, rules: RulesConfig | None = None
    ) -> Runtime:
        metrics = metrics or Metrics()
        rules = rules or RulesConfig.load(settings.rules_file)
        redis = Redis.from_url(
            settings.redis_url.get_secret_value(),
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=10,
        )
        store = RedisStore(redis, settings.redis_prefix)
        publisher = KafkaPublisher(settings.kafka_bootstrap, client_id=f"{settings.app_id}-producer")
        handler = BatchHandler(
            store, rules, publisher, metrics, retry_max_seconds=settings.redis_retry_max_seconds
        )
        outbox = Outbox(redis, settings.redis_prefix)
        sinks: list[Sink] = [LogSink(), KafkaSink(publisher, ALERTS)]
        if settings.slack_webhook_url is not None:
            sinks.append(SlackWebhookSink(settings.slack_webhook_url.get_secret_value()))
        sender = Sender(outbox, sinks, metrics, retry_max_seconds=settings.notify_retry_max_seconds)
        return cls(settings, redis, store, publisher, handler, outbox, sender, metrics)

    async def refresh_gauges(self) -> None:
        await refresh_market_gauges(self.redis, self.settings.redis_prefix, self.metrics, self.handler.rules)
        if self.settings.per_tranche_metrics:
            await refresh_tranche_discounts(self.redis, self.settings.redis_prefix, self.metrics)
        await self.sender.refresh_metrics()

    async def close(self) -> None:
        self.sender.stop()
        self.publisher.close()
        await self.redis.aclose()
