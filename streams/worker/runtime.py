"""Everything a worker holds at run time, built from settings in one place."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import cached_property

from redis.asyncio import Redis

from alerts.delivery.nflog import NotificationLog
from alerts.delivery.outbox import Outbox
from alerts.delivery.pipeline import NotifyPipeline
from alerts.delivery.sender import Sender
from alerts.mute.ack import AckStore
from alerts.mute.inhibit import Inhibitor
from alerts.mute.silence import SilenceStore
from alerts.ops.service import AlertsService
from alerts.redact import install_redaction, secret_values
from alerts.routing.receivers import build_sinks
from alerts.routing.routes import RoutingConfig, load_routing
from streams.engine.pipeline import BatchHandler
from streams.kafka.producer import KafkaPublisher
from streams.metrics import Metrics
from streams.model.positions import PositionBook
from streams.redis_client import async_redis
from streams.rules.registry import RulesConfig
from streams.security import kafka_client_options
from streams.settings import Settings
from streams.state.cache import StateCache
from streams.state.labels import StateLabels
from streams.state.reader import StateReader
from streams.state.store import RedisStore
from streams.views.scan import MarketScan
from streams.worker.gauges import refresh_exposure_gauges, refresh_market_gauges, refresh_tranche_discounts
from streams.worker.readiness import Readiness

log = logging.getLogger(__name__)


def load_routing_config(settings: Settings) -> RoutingConfig:
    """The routing file if set (its errors name the file and field), else the behaviour before routing."""
    if settings.routing_file is not None:
        routing = load_routing(settings.routing_file)
    else:
        url = settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else None
        routing = RoutingConfig.default(url)
    if settings.alertmanager_url is not None:
        am = settings.alertmanager_url.get_secret_value()
        routing = routing.with_alertmanager(am, settings.alertmanager_repost_seconds)
    return routing


def redact_secrets(settings: Settings) -> None:
    """Installs the process's log redaction (alerts/redact.py) with every secret of the settings and of the
    routing file: run first by every command that starts clients (the worker, the rebuild)."""
    install_redaction([*secret_values(settings), *secret_values(load_routing_config(settings))])


def build_sender(
    settings: Settings,
    redis: Redis,
    store: RedisStore,
    publisher: KafkaPublisher,
    outbox: Outbox,
    metrics: Metrics,
    positions: PositionBook | None = None,
) -> Sender:
    routing = load_routing_config(settings)
    prefix = settings.redis_prefix
    book = positions or PositionBook(None)
    labels = StateLabels(store, lambda: book.current)
    pipeline = NotifyPipeline(
        routing,
        NotificationLog(redis, prefix),
        Inhibitor(redis, prefix, routing.inhibit),
        SilenceStore(redis, prefix),
        AckStore(redis, prefix),
        labels=labels,
    )
    sinks = build_sinks(
        routing, redis, prefix, publisher, kafka_batch=settings.notify_batch_size, labels=labels
    )
    return Sender(
        outbox,
        sinks,
        metrics,
        pipeline=pipeline,
        retry_max_seconds=settings.notify_retry_max_seconds,
        batch_size=settings.notify_batch_size,
    )


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
    # Named reasons not to be ready (/readyz, the ready gauge); each part of the worker adds its own.
    readiness: Readiness = field(default_factory=Readiness)
    # The holdings in force (TRANCHEWATCH_POSITIONS_FILE); SIGHUP reloads them (streams/worker/positions.py).
    positions: PositionBook = field(default_factory=lambda: PositionBook(None))

    @classmethod
    def build(
        cls,
        settings: Settings,
        metrics: Metrics | None = None,
        rules: RulesConfig | None = None,
        positions: PositionBook | None = None,
    ) -> Runtime:
        """Raises PositionsError for an invalid positions file (the worker checks it first, to say so)."""
        metrics = metrics or Metrics()
        book = positions or PositionBook.load(settings.positions_file)
        rules = rules or RulesConfig.load(settings.rules_file)
        redis = async_redis(settings, socket_timeout=5, socket_connect_timeout=5, health_check_interval=10)
        store = RedisStore(
            redis,
            settings.redis_prefix,
            price_points=settings.price_history_points,
            min_replicas=settings.redis_min_replicas,
            replica_wait_ms=settings.redis_replica_wait_ms,
        )
        publisher = KafkaPublisher(
            settings.kafka_bootstrap,
            client_id=f"{settings.app_id}-producer",
            **kafka_client_options(settings),
        )
        cache = StateCache(settings.state_cache_entries) if settings.state_cache_entries else None
        handler = BatchHandler(
            store,
            rules,
            publisher,
            metrics,
            retry_max_seconds=settings.redis_retry_max_seconds,
            cache=cache,
            deadletter_read_back=settings.deadletter_read_back,
            dedup_retention=dt.timedelta(days=settings.dedup_retention_days),
            retire_after=dt.timedelta(days=settings.retire_after_days),
            positions=lambda: book.current,
        )
        outbox = Outbox(redis, settings.redis_prefix)
        sender = build_sender(settings, redis, store, publisher, outbox, metrics, book)
        return cls(settings, redis, store, publisher, handler, outbox, sender, metrics, positions=book)

    @property
    def alerts(self) -> AlertsService:
        return AlertsService(self.redis, self.settings.redis_prefix)

    async def refresh_gauges(self) -> None:
        await refresh_market_gauges(self.redis, self.settings.redis_prefix, self.metrics, self.handler.rules)
        if self.settings.per_tranche_metrics:
            await refresh_tranche_discounts(self.redis, self.settings.redis_prefix, self.metrics)
        await self.sender.refresh_metrics()

    @cached_property
    def market_scan(self) -> MarketScan:
        """The worker's one gate for reads of every state document: the state API, the web pages and the
        exposure gauges share it, so no two such reads run at once (streams/views/scan.py)."""
        return MarketScan(
            StateReader(self.redis, self.settings.redis_prefix),
            lambda: self.positions.current,
            self.settings.scan_cache_seconds,
        )

    async def refresh_exposure_gauges(self) -> None:
        await refresh_exposure_gauges(self.market_scan, self.settings, self.metrics)

    async def close(self) -> None:
        self.sender.stop()
        self.publisher.close()
        await self.redis.aclose()
