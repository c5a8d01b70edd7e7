"""The Alertmanager receiver against a real Alertmanager (Debian's prometheus-alertmanager, on a loopback port)
and the real Redis, through the outbox and the sender like every sink: firing, escalation, resolution,
re-posting, an Alertmanager outage and restart, and a sender restart. Then the whole worker with
TRANCHEWATCH_ALERTMANAGER_URL set, labels from the deal included.

Re-posting runs every second here (every 60 s by default), so each wait is a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from alerts.core.labels import Labels, alert_labels
from alerts.core.model import Alert, Subject
from alerts.delivery.outbox import Outbox
from alerts.delivery.sender import Sender
from alerts.metrics import AlertMetrics
from alerts.notify.alertmanager import AlertmanagerSink
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEALS, QUOTES
from streams.state.snapshot import Commit
from streams.state.store import RedisStore
from tests.support.alertmanager import OwnAlertmanager, binary
from tests.support.alerts import an_alert
from tests.support.kafka_io import produce
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        binary() is None, reason="prometheus-alertmanager not installed (scripts/ensure-services)"
    ),
]
SUBJECT = Subject(tranche_id="WHBUS-2025-A", issuer_id="wuhan-bus", deal_id="WHBUS-2025")


class DealLabels:
    """What StateLabels finds in the deal's document; the worker test below uses the real one."""

    async def labels(self, alert: Alert) -> Labels:
        return {**alert_labels(alert), "province": "Hubei", "asset_type": "transport_revenue"}


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[OwnAlertmanager]:
    am = OwnAlertmanager(tmp_path / "am").start()
    yield am
    am.stop()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def notice(seq: int, **changes: Any) -> Alert:
    return an_alert(1, subject=SUBJECT, fingerprint="fp-whbus", seq=seq, **changes)


class Running:
    """A sender draining the outbox into Alertmanager in the background."""

    def __init__(self, redis: Redis, prefix: str, am_url: str) -> None:
        self.store = RedisStore(redis, prefix)
        self.metrics = AlertMetrics(CollectorRegistry())
        self.sink = AlertmanagerSink(
            am_url, redis, f"{prefix}alertmanager:firing:am", labels=DealLabels(), refresh_seconds=1.0
        )
        self.sender = Sender(Outbox(redis, prefix), {"am": self.sink}, self.metrics, retry_base_seconds=0.1)
        self.task = asyncio.create_task(self.sender.run())

    async def commit(self, *alerts: Alert) -> None:
        assert await self.store.commit(Commit({}, {}, [], list(alerts)))

    def count(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "tranchewatch_notifications_total", {"sink": "alertmanager", "outcome": outcome}
        )
        return value or 0.0

    async def stop(self) -> None:
        self.sender.stop()
        await asyncio.wait_for(self.task, 10)
        await self.sink.close()


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    await asyncio.to_thread(wait_for, check, timeout)


async def test_firing_escalation_reposting_and_resolution(
    redis: Redis, redis_prefix: str, alertmanager: OwnAlertmanager
) -> None:
    run = Running(redis, redis_prefix, alertmanager.url)
    try:
        await run.commit(notice(1, severity="warning"))
        await until(lambda: "fp-whbus|warning" in alertmanager.firing())
        posted = alertmanager.firing()["fp-whbus|warning"]
        assert posted["labels"] == {
            "alertname": "below_par",
            "severity": "warning",
            "fingerprint": "fp-whbus",
            "tranche_id": "WHBUS-2025-A",
            "issuer_id": "wuhan-bus",
            "deal_id": "WHBUS-2025",
            "province": "Hubei",
            "asset_type": "transport_revenue",
        }
        assert posted["annotations"]["summary"] == "T1 at 94.00 is 6.00 below par"
        assert json.loads(posted["annotations"]["evidence"]) == {"discount": 6.0, "price": 94.0}
        assert posted["startsAt"].startswith("2025-09-01T00:00:00")

        # Escalation: the warning ends, the critical fires; one alert active for the fingerprint.
        await run.commit(notice(2, severity="critical", summary="T1 at 93.00 is 7.00 below par"))
        await until(lambda: set(alertmanager.firing()) == {"fp-whbus|critical"})

        # Re-posting keeps it active past its first endsAt (4 re-post intervals), pushing endsAt on.
        first_ends = alertmanager.firing()["fp-whbus|critical"]["endsAt"]
        await until(lambda: alertmanager.firing()["fp-whbus|critical"]["endsAt"] > first_ends, 10)
        await asyncio.sleep(5)  # longer than the lifetime of one post
        assert set(alertmanager.firing()) == {"fp-whbus|critical"}
        assert run.count("reposted") >= 4

        # Resolution: endsAt set, so Alertmanager no longer lists it as active, and re-posting stops.
        await run.commit(notice(3, status="resolved", severity="critical", ends_at=notice(3).event_time))
        await until(lambda: alertmanager.firing() == {})
        assert await redis.hlen(f"{redis_prefix}alertmanager:firing:am") == 0
        await asyncio.sleep(2)
        assert alertmanager.firing() == {}
        assert run.count("sent") == 3
        assert run.count("failed") == 0
    finally:
        await run.stop()


async def test_an_outage_loses_nothing_and_a_restart_of_either_side_brings_firing_alerts_back(
    redis: Redis, redis_prefix: str, alertmanager: OwnAlertmanager
) -> None:
    run = Running(redis, redis_prefix, alertmanager.url)
    try:
        await run.commit(notice(1, severity="warning"))
        await until(lambda: "fp-whbus|warning" in alertmanager.firing())

        # Outage: the escalation waits in the outbox, retried, and goes out when Alertmanager is back.
        alertmanager.stop()
        await run.commit(notice(2, severity="critical"))
        await until(lambda: run.count("retried") >= 2)
        alertmanager.start()
        # Alertmanager kept no alerts over its restart: the escalation arrives, the re-post restores.
        await until(lambda: set(alertmanager.firing()) == {"fp-whbus|critical"})
        # Logged as sent (the nflog is written just after the post returns) before this sender stops.
        for _ in range(200):
            if await redis.hget(f"{redis_prefix}nflog:am", "fp-whbus") == b"2":
                break
            await asyncio.sleep(0.05)
    finally:
        await run.stop()

    # Alertmanager restarts while tranchewatch is down; a new sender re-posts what fires as it starts.
    alertmanager.stop()
    alertmanager.start()
    assert alertmanager.firing() == {}
    run = Running(redis, redis_prefix, alertmanager.url)
    try:
        await until(lambda: set(alertmanager.firing()) == {"fp-whbus|critical"})
        assert run.count("sent") == 0  # nothing sent again: the nflog had it
    finally:
        await run.stop()


def test_the_worker_posts_to_the_alertmanager_it_is_given(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    alertmanager: OwnAlertmanager,
) -> None:
    deal = {
        "event_id": "d-1",
        "deal_id": "WHBUS-2025",
        "issuer_id": "wuhan-bus",
        "issuer_name": "Wuhan Public Transport Group",
        "province": "Hubei",
        "announced_at": "2025-01-10T10:00:00+08:00",
        "currency": "CNY",
        "asset_type": "transport_revenue",
        "tranches": [
            {
                "tranche_id": "WHBUS-2025-A",
                "face_value": 600_000_000,
                "coupon_pct": 2.6,
                "issue_date": "2025-01-15",
                "maturity_date": "2035-01-15",
                "seniority": "senior",
            }
        ],
    }
    quote = {
        "event_id": "q-1",
        "tranche_id": "WHBUS-2025-A",
        "ts": "2025-09-01T09:30:00+08:00",
        "price": 94.0,
    }
    worker = worker_factory(
        TRANCHEWATCH_ALERTMANAGER_URL=alertmanager.url, TRANCHEWATCH_ALERTMANAGER_REPOST_SECONDS="1"
    )
    worker.wait_ready()
    produce(broker.bootstrap, DEALS, [deal], "deal_id")
    produce(broker.bootstrap, QUOTES, [quote], "tranche_id")

    def below_par() -> dict[str, Any] | None:
        with contextlib.suppress(OSError):
            return next((a for a in alertmanager.alerts() if a["labels"]["alertname"] == "below_par"), None)
        return None

    wait_for(lambda: below_par() is not None, 60)
    found = below_par()
    assert found is not None
    labels = found["labels"]
    assert labels["severity"] == "critical"
    assert (labels["tranche_id"], labels["deal_id"], labels["issuer_id"]) == (
        "WHBUS-2025-A",
        "WHBUS-2025",
        "wuhan-bus",
    )
    assert (labels["province"], labels["asset_type"]) == ("Hubei", "transport_revenue")
    assert json.loads(found["annotations"]["evidence"])["price"] == 94.0
    # Counted once the post has returned, a moment after Alertmanager shows it.
    sent = 'tranchewatch_notifications_total{outcome="sent",sink="alertmanager"}'
    wait_for(lambda: sent in worker.http("/metrics")[1], 30, what="the sent counter")
