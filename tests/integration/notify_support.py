"""Builds a Sender on the real Redis with a routing config given as a dict, and runs it until a condition."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from alerts.core.model import Alert, Subject
from alerts.delivery.nflog import NotificationLog
from alerts.delivery.outbox import Outbox
from alerts.delivery.pipeline import NotifyPipeline
from alerts.delivery.sender import Sender
from alerts.metrics import AlertMetrics
from alerts.mute.ack import AckStore
from alerts.mute.inhibit import Inhibitor
from alerts.mute.silence import SilenceStore
from alerts.notify.kafka import Record
from alerts.routing.receivers import build_sinks
from alerts.routing.routes import RoutingConfig
from streams.state.snapshot import Commit
from streams.state.store import RedisStore

T0 = dt.datetime(2025, 9, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a Monday


class NullPublisher:
    async def publish_many(self, records: list[Record]) -> None:
        return None

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        return []


def make_alert(
    tranche: str,
    *,
    rule: str = "below_par",
    issuer: str = "wuhan-bus",
    status: str = "firing",
    severity: str = "critical",
    seq: int = 1,
    starts_at: dt.datetime = T0,
    event_time: dt.datetime | None = None,
) -> Alert:
    from alerts.core.model import fingerprint, subject_key

    subject = Subject(tranche_id=tranche, issuer_id=issuer, deal_id=f"{issuer}-deal")
    return Alert.model_validate(
        {
            "fingerprint": fingerprint(rule, subject_key(subject)),
            "rule": rule,
            "severity": severity,
            "status": status,
            "subject": subject,
            "starts_at": starts_at,
            "ends_at": (event_time or starts_at) if status == "resolved" else None,
            "event_time": event_time or starts_at,
            "summary": f"{rule} {tranche} {status} seq {seq}",
            "evidence": {"price": 94.0},
            "seq": seq,
        }
    )


async def commit(redis: Redis, prefix: str, *alerts: Alert) -> None:
    assert await RedisStore(redis, prefix).commit(Commit({}, {}, [], list(alerts)))


def build_sender(
    redis: Redis, prefix: str, routing: dict[str, Any], **kw: Any
) -> tuple[Sender, AlertMetrics]:
    cfg = RoutingConfig.model_validate(routing)
    pipeline = NotifyPipeline(
        cfg,
        NotificationLog(redis, prefix),
        Inhibitor(redis, prefix, cfg.inhibit),
        SilenceStore(redis, prefix),
        AckStore(redis, prefix),
    )
    metrics = AlertMetrics(CollectorRegistry())
    sinks = build_sinks(cfg, redis, prefix, NullPublisher())
    sender = Sender(Outbox(redis, prefix), sinks, metrics, pipeline=pipeline, retry_base_seconds=0.05, **kw)
    return sender, metrics


async def run_until(sender: Sender, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Runs the sender until done() holds and the outbox is drained for every receiver, or fails."""
    task = asyncio.create_task(sender.run())
    try:
        deadline = time.monotonic() + timeout
        while True:
            if done() and await _drained(sender):
                return
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, "sender did not get there in time"
            await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await asyncio.wait_for(task, 15)
        await sender.outbox.redis.delete(*[sender.outbox.keys.outbox_lease(n) for n in sender.receivers])


async def _drained(sender: Sender) -> bool:
    for name in sender.receivers:
        if (await sender.outbox.backlog(name))[0]:
            return False
    return True


def webhook_routing(url: str, **route: Any) -> dict[str, Any]:
    return {
        "receivers": {"desk": {"type": "slack_webhook", "url": url, "min_interval_seconds": 0}},
        "routes": [{"receiver": "desk", **route}],
    }
