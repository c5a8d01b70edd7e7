"""The first complete path on the real broker and the real Redis: a deal, a quote, an alert everywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ALERTS, DEADLETTER, DEALS, FINANCIALS, QUOTES
from tests.support.kafka_io import produce, read_all, read_json
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

DEAL = {
    "event_id": "d-1",
    "deal_id": "WHBUS-2025",
    "issuer_id": "wuhan-bus",
    "issuer_name": "Wuhan Public Transport Group",
    "province": "Hubei",
    "city": "Wuhan",
    "announced_at": "2025-01-10T10:00:00+08:00",
    "programme_id": "WHBUS-PROG",
    "programme_size": 4000000000,
    "currency": "CNY",
    "asset_type": "transport_revenue",
    "tranches": [
        {
            "tranche_id": "WHBUS-2025-A",
            "face_value": 600000000,
            "coupon_pct": 2.6,
            "issue_date": "2025-01-15",
            "maturity_date": "2035-01-15",
            "seniority": "senior",
        }
    ],
}


def quote(event_id: str, price: float, ts: str = "2025-09-01T09:30:00+08:00") -> dict[str, object]:
    return {"event_id": event_id, "tranche_id": "WHBUS-2025-A", "ts": ts, "price": price, "source": "SSE"}


def below_par_messages(bootstrap: str) -> list[dict[str, Any]]:
    return [a for a in read_json(bootstrap, ALERTS) if a["rule"] == "below_par"]


def metric_value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_deal_then_quote_fires_once_everywhere_and_resolves(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    worker = worker_factory(TRANCHEWATCH_SLACK_WEBHOOK_URL=slack.url)
    worker.wait_ready()
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    produce(broker.bootstrap, QUOTES, [quote("q-1", 94.5)], key_field="tranche_id")

    fired = wait_for(lambda: below_par_messages(broker.bootstrap), what="a below_par alert on abs.alerts")
    assert len(fired) == 1
    alert = fired[0]
    assert alert["status"] == "firing" and alert["severity"] == "critical"
    assert alert["subject"] == {
        "tranche_id": "WHBUS-2025-A",
        "issuer_id": "wuhan-bus",
        "deal_id": "WHBUS-2025",
        "year": None,
        "entity_id": None,  # v2: family_stress's subject key, unset for every other rule
    }
    assert alert["ends_at"] is None
    assert alert["starts_at"] == alert["event_time"] == "2025-09-01T09:30:00+08:00"
    evidence = alert["evidence"]
    assert evidence["price"] == 94.5 and evidence["discount"] == pytest.approx(5.5)
    assert evidence["face_value"] == 600_000_000
    assert evidence["mark_to_market_loss"] == pytest.approx(33_000_000)
    assert set(alert) >= {
        "fingerprint",
        "rule",
        "severity",
        "status",
        "subject",
        "starts_at",
        "ends_at",
        "event_time",
        "summary",
        "evidence",
    }
    # The record key is the fingerprint.
    records = [r for r in read_all(broker.bootstrap, ALERTS) if json.loads(r.value)["rule"] == "below_par"]
    assert records[0].key.decode() == alert["fingerprint"]

    wait_for(lambda: len(slack.received) == 1, what="one Slack post")
    text = slack.received[0]["text"]
    assert "WHBUS-2025-A" in text and "94.50" in text and "5.50 below par" in text
    assert "Rmb33.0mn" in text and "Rmb600mn" in text

    # State in Redis, under the test's prefix.
    raw = redis_client.hget(f"{redis_prefix}tranche:WHBUS-2025-A", "d")
    assert raw is not None
    state = json.loads(raw)
    assert state["last_quote"]["price"] == 94.5 and state["terms"]["face_value"] == 600_000_000
    assert state["deal_id"] == "WHBUS-2025" and state["issuer_id"] == "wuhan-bus"

    metrics = wait_for(
        lambda: (
            (m := worker.metrics())
            and metric_value(m, "tranchewatch_notifications_total", sink="slack", outcome="sent") == 1
            and m
        ),
        what="notification metric",
    )
    assert (
        metric_value(
            metrics, "tranchewatch_alerts_total", rule="below_par", severity="critical", status="firing"
        )
        == 1
    )
    assert metric_value(metrics, "tranchewatch_events_total", topic=QUOTES, outcome="processed") == 1
    assert metric_value(metrics, "tranchewatch_events_total", topic=DEALS, outcome="processed") == 1

    # A later quote back near par resolves it, once.
    produce(
        broker.bootstrap, QUOTES, [quote("q-2", 99.0, "2025-09-02T09:30:00+08:00")], key_field="tranche_id"
    )
    both = wait_for(lambda: len(m := below_par_messages(broker.bootstrap)) == 2 and m, what="the resolution")
    resolved = both[1]
    assert resolved["status"] == "resolved" and resolved["fingerprint"] == alert["fingerprint"]
    assert resolved["ends_at"] == "2025-09-02T09:30:00+08:00"
    wait_for(lambda: len(slack.received) == 2, what="the resolved Slack post")
    assert "RESOLVED" in slack.received[1]["text"]


def test_quote_before_its_deal_is_kept_and_judged_when_the_deal_arrives(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess]
) -> None:
    worker = worker_factory()
    worker.wait_ready()
    produce(broker.bootstrap, QUOTES, [quote("q-early", 96.0)], key_field="tranche_id")
    wait_for(
        lambda: (
            metric_value(worker.metrics(), "tranchewatch_events_total", topic=QUOTES, outcome="processed")
            == 1
        ),
        what="the early quote processed",
    )
    assert below_par_messages(broker.bootstrap) == []
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    fired = wait_for(lambda: below_par_messages(broker.bootstrap), what="below_par after the deal")
    assert fired[0]["severity"] == "warning" and fired[0]["evidence"]["price"] == 96.0


def test_invalid_events_go_to_dead_letters_and_valid_ones_still_alert(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess]
) -> None:
    worker = worker_factory()
    worker.wait_ready()
    bad_quotes: list[object] = [
        b"{not json",
        b"\xff\xfe\x00",
        {"event_id": "q-zero", "tranche_id": "WHBUS-2025-A", "ts": "2025-09-01T09:30:00+08:00", "price": 0},
        b'{"event_id": "q-nan", "tranche_id": "WHBUS-2025-A", "ts": "2025-09-01T09:30:00+08:00", "price": NaN}',
        {"event_id": "q-neg", "tranche_id": "WHBUS-2025-A", "ts": "2025-09-01T09:30:00+08:00", "price": -5},
        {"event_id": "q-missing", "tranche_id": "WHBUS-2025-A", "price": 95},
    ]
    produce(broker.bootstrap, DEALS, [DEAL, {"event_id": "d-bad", "deal_id": "X", "tranches": []}])
    produce(broker.bootstrap, QUOTES, [*bad_quotes, {**quote("q-ok", 94.0), "unknown_field": "fine"}])
    produce(broker.bootstrap, FINANCIALS, [[1, 2, 3]])

    dead = wait_for(
        lambda: len(r := read_all(broker.bootstrap, DEADLETTER)) == 8 and r, what="8 dead letters"
    )
    by_value = {record.value: dict(record.headers) for record in dead}
    assert b"{not json" in by_value and b"\xff\xfe\x00" in by_value
    headers = by_value[b"{not json"]
    assert headers["tw-source-topic"] == QUOTES.encode()
    assert b"not valid JSON" in headers["tw-reason"]
    reasons = b" | ".join(h["tw-reason"] for h in by_value.values())
    assert b"price" in reasons and b"ts" in reasons and b"tranches" in reasons
    assert b"expected a JSON object" in reasons

    fired = wait_for(lambda: below_par_messages(broker.bootstrap), what="the valid quote's alert")
    assert fired[0]["severity"] == "critical" and fired[0]["evidence"]["price"] == 94.0
    metrics = worker.metrics()
    assert metric_value(metrics, "tranchewatch_events_total", topic=QUOTES, outcome="invalid") == 6
    assert metric_value(metrics, "tranchewatch_events_total", topic=DEALS, outcome="invalid") == 1
    assert metric_value(metrics, "tranchewatch_deadletters_total", topic=QUOTES, reason="bad_json") == 3
    assert worker.http("/healthz")[0] == 200


def test_duplicate_event_ids_change_nothing(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess]
) -> None:
    worker = worker_factory()
    worker.wait_ready()
    produce(broker.bootstrap, DEALS, [DEAL, DEAL], key_field="deal_id")
    produce(broker.bootstrap, QUOTES, [quote("q-1", 94.0), quote("q-1", 99.5)], key_field="tranche_id")
    wait_for(
        lambda: (
            metric_value(worker.metrics(), "tranchewatch_events_total", topic=QUOTES, outcome="duplicate")
            == 1
        ),
        what="the duplicate counted",
    )
    fired = wait_for(lambda: below_par_messages(broker.bootstrap), what="below_par")
    assert [a["status"] for a in fired] == ["firing"]
