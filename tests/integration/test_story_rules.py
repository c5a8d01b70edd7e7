"""The bus-company story on the real broker and Redis, in both cross-topic orders: the four alerts of
issue 3, each with evidence a reader can check by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ALERTS, DEALS, FINANCIALS, QUOTES
from tests.support.kafka_io import produce, read_json
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration


def tranche(tid: str, face: float, issue: str, maturity: str) -> dict[str, Any]:
    return {
        "tranche_id": tid,
        "face_value": face,
        "coupon_pct": 2.6,
        "issue_date": issue,
        "maturity_date": maturity,
    }


def deal(event_id: str, deal_id: str, at: str, tranches: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "deal_id": deal_id,
        "issuer_id": "wuhan-bus",
        "issuer_name": "Wuhan Public Transport Group",
        "province": "Hubei",
        "announced_at": at,
        "programme_id": "WHBUS-PROG",
        "programme_size": 4e9,
        "currency": "CNY",
        "asset_type": "transport_revenue",
        "tranches": tranches,
    }


FIRST = deal(
    "d-1",
    "WHBUS-2025",
    "2025-01-10T10:00:00+08:00",
    [tranche("WHBUS-2025-A", 600e6, "2025-01-15", "2035-01-15")],
)
SECOND = deal(
    "d-2",
    "WHBUS-2025-2",
    "2025-10-15T10:00:00+08:00",
    [tranche("WHBUS-2025-B", 500e6, "2025-10-20", "2035-10-20")],
)
FY24 = {
    "event_id": "f-1",
    "issuer_id": "wuhan-bus",
    "period_start": "2024-01-01",
    "period_end": "2024-12-31",
    "net_income": -13e6,
    "reported_at": "2025-04-28T18:00:00+08:00",
}
H125 = {
    "event_id": "f-2",
    "issuer_id": "wuhan-bus",
    "period_start": "2025-01-01",
    "period_end": "2025-06-30",
    "net_income": -821e6,
    "reported_at": "2025-08-30T18:00:00+08:00",
}
QUOTE = {"event_id": "q-1", "tranche_id": "WHBUS-2025-A", "ts": "2025-09-01T09:30:00+08:00", "price": 95.0}
EXPECTED = {
    ("below_par", "critical"),
    ("issuer_loss_widening", "critical"),
    ("distressed_tranche", "critical"),
    ("issuing_into_weakness", "warning"),
}


def firing(bootstrap: str) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for alert in read_json(bootstrap, ALERTS):
        latest[alert["fingerprint"]] = alert
    return {a["rule"]: a for a in latest.values() if a["status"] == "firing"}


@pytest.mark.parametrize("financials_first", [True, False], ids=["financials-first", "quote-first"])
def test_bus_company_story(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess], financials_first: bool
) -> None:
    worker_factory().wait_ready()
    produce(broker.bootstrap, DEALS, [FIRST], key_field="deal_id")
    steps = [(FINANCIALS, [FY24, H125], "issuer_id"), (QUOTES, [QUOTE], "tranche_id")]
    for topic, values, key in steps if financials_first else reversed(steps):
        produce(broker.bootstrap, topic, values, key_field=key)
        wait_for(lambda: firing(broker.bootstrap), what=f"alerts after {topic}")
    # The second tranche is announced only after the first one's troubles are on record.
    wait_for(
        lambda: {"below_par", "issuer_loss_widening"} <= set(firing(broker.bootstrap)),
        what="below_par and issuer_loss_widening",
    )
    produce(broker.bootstrap, DEALS, [SECOND], key_field="deal_id")
    alerts = wait_for(
        lambda: (
            (f := firing(broker.bootstrap)) and {(r, a["severity"]) for r, a in f.items()} >= EXPECTED and f
        ),
        what="the four story alerts",
    )

    below = alerts["below_par"]["evidence"]
    assert below["price"] == 95.0 and below["discount"] == pytest.approx(5.0)
    assert below["mark_to_market_loss"] == pytest.approx(30e6)
    assert 3.0 < below["ytm_pct"] < 3.4 and below["dirty_price"] > 95.0
    assert "Rmb30.0mn mark-to-market on Rmb600mn outstanding" in alerts["below_par"]["summary"]
    loss = alerts["issuer_loss_widening"]
    assert "Rmb1.66bn" in loss["summary"] and "Rmb13.0mn" in loss["summary"]
    distressed = alerts["distressed_tranche"]
    assert distressed["subject"]["tranche_id"] == "WHBUS-2025-A"
    assert distressed["starts_at"] == max(loss["starts_at"], alerts["below_par"]["starts_at"])
    weakness = alerts["issuing_into_weakness"]
    assert weakness["subject"]["deal_id"] == "WHBUS-2025-2"
    assert weakness["event_time"] == "2025-10-15T10:00:00+08:00"
