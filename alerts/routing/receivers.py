"""Builds one sink per receiver of the routing config."""

from __future__ import annotations

from redis.asyncio import Redis

from alerts.core.labels import LabelSource
from alerts.keys import AlertKeys
from alerts.notify import Sink
from alerts.notify.alertmanager import AlertmanagerSink
from alerts.notify.kafka import KafkaSink, Publisher
from alerts.notify.log import LogSink
from alerts.notify.slack import SlackWebhookSink
from alerts.notify.slack_bot import SlackBotSink
from alerts.routing.routes import (
    AlertmanagerReceiver,
    KafkaReceiver,
    LogReceiver,
    RoutingConfig,
    SlackBotReceiver,
    SlackWebhookReceiver,
)


def build_sinks(
    routing: RoutingConfig,
    redis: Redis,
    prefix: str,
    publisher: Publisher,
    kafka_batch: int = 500,
    labels: LabelSource | None = None,
) -> dict[str, Sink]:
    """`labels`: what the subject's state adds (province, asset type), for sinks that carry labels."""
    sinks: dict[str, Sink] = {}
    for name, cfg in routing.receivers.items():
        if isinstance(cfg, SlackWebhookReceiver):
            sinks[name] = SlackWebhookSink(
                cfg.url.get_secret_value(), min_interval_seconds=cfg.min_interval_seconds
            )
        elif isinstance(cfg, SlackBotReceiver):
            sinks[name] = SlackBotSink(
                cfg.token.get_secret_value(),
                cfg.channel,
                redis,
                AlertKeys(prefix).slack_incidents(name),
                base_url=cfg.base_url,
                min_interval_seconds=cfg.min_interval_seconds,
            )
        elif isinstance(cfg, AlertmanagerReceiver):
            sinks[name] = AlertmanagerSink(
                cfg.url.get_secret_value(),
                redis,
                AlertKeys(prefix).alertmanager_firing(name),
                labels=labels,
                refresh_seconds=cfg.repost_seconds,
                max_batch=kafka_batch,
            )
        elif isinstance(cfg, KafkaReceiver):
            sinks[name] = KafkaSink(publisher, cfg.topic, max_batch=kafka_batch)
        else:
            assert isinstance(cfg, LogReceiver)
            sinks[name] = LogSink()
    return sinks
