"""The payment and collateral rules on the real broker and Redis: reports read before their deal, a short
topped up by the shortfall undertaking, the next one overdue on the quotes' clock, then a full one resolving
all three; a deal's collateral failing
while its tranche trades below par (stressed_collateral), in `abs.alerts`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ALERTS, DEALS, DISTRIBUTIONS, QUOTES, RATINGS, SERVICER_REPORTS
from tests.support.kafka_io import produce, read_json
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

DEAL = {
    "event_id": "d-1",
    "deal_id": "BISHUI-24",
    "issuer_id": "bishui-water",
    "issuer_name": "Bishui Water",
    "announced_at": "2024-01-10T10:00:00+08:00",
    "asset_type": "water_revenue",
    "tranches": [
        {
            "tranche_id": "BISHUI-24-A",
            "face_value": 400e6,
            "coupon_pct": 5.0,
            "issue_date": "2024-01-15",
            "maturity_date": "2029-01-15",
            "coupon_frequency": 2,
        }
    ],
}


def report(event_id: str, payment_date: str, paid: float, drawn: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "tranche_id": "BISHUI-24-A",
        "payment_date": payment_date,
        "reported_at": f"{payment_date}T18:00:00+08:00",
        "interest_due": 10e6,
        "interest_paid": paid,
        "principal_due": 0,
        "principal_paid": 0,
        "support_drawn": drawn,
    }


def latest(bootstrap: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for alert in read_json(bootstrap, ALERTS):
        found[alert["rule"]] = alert
    return found


def test_short_distribution_then_a_full_one(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess]
) -> None:
    worker_factory().wait_ready()
    produce(broker.bootstrap, DISTRIBUTIONS, [report("p-1", "2024-07-15", 6e6, 4e6)], key_field="tranche_id")
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    alerts = wait_for(
        lambda: (f := latest(broker.bootstrap)) and {"missed_payment", "support_drawn"} <= set(f) and f,
        what="missed_payment and support_drawn",
    )
    missed = alerts["missed_payment"]
    assert (missed["severity"], missed["status"]) == ("critical", "firing")
    assert missed["summary"] == (
        "BISHUI-24-A: the 2024-07-15 distribution paid Rmb6.00mn of Rmb10.0mn interest due (Rmb4.00mn short); "
        "Rmb4.00mn drawn from the shortfall undertaking"
    )
    subject = {k: v for k, v in missed["subject"].items() if v is not None}
    assert subject == {"tranche_id": "BISHUI-24-A", "issuer_id": "bishui-water", "deal_id": "BISHUI-24"}
    assert (alerts["support_drawn"]["severity"], alerts["support_drawn"]["status"]) == ("warning", "firing")

    # Another tranche's quote moves the event-time clock to Friday 24 January 2025: seven trading days after
    # the 15th.
    clock = {
        "event_id": "q-1",
        "tranche_id": "OTHER-24-A",
        "ts": "2025-01-24T10:00:00+08:00",
        "price": 100.0,
    }
    produce(broker.bootstrap, QUOTES, [clock], key_field="tranche_id")
    late = wait_for(
        lambda: (f := latest(broker.bootstrap)) and "distribution_overdue" in f and f["distribution_overdue"],
        what="distribution_overdue",
    )
    assert (late["severity"], late["status"]) == ("warning", "firing")
    assert (
        late["summary"]
        == "BISHUI-24-A: the 2025-01-15 distribution is 7 trading days overdue (last report 2024-07-15)"
    )

    produce(broker.bootstrap, DISTRIBUTIONS, [report("p-2", "2025-01-15", 10e6, 0)], key_field="tranche_id")
    resolved = wait_for(
        lambda: (
            (f := latest(broker.bootstrap))
            and all(
                f[r]["status"] == "resolved"
                for r in ("missed_payment", "support_drawn", "distribution_overdue")
            )
            and f
        ),
        what="all three resolved by the next full distribution",
    )
    assert resolved["missed_payment"]["event_time"] == "2025-01-15T18:00:00+08:00"


def servicer(event_id: str, start: str, end: str, collections: float, breached: bool) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "deal_id": "BISHUI-24",
        "period_start": start,
        "period_end": end,
        "reported_at": f"{end}T18:00:00+08:00",
        "collections": collections,
        "debt_service_due": 100e6,
        "reserve_balance": 15e6,
        "reserve_required": 20e6,
        "triggers": [{"name": "dscr_below_1_1", "breached": breached}],
    }


def test_servicer_report_before_its_deal_then_a_recovery(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess]
) -> None:
    worker_factory().wait_ready()
    low = servicer("s-1", "2024-04-01", "2024-06-30", 75e6, True)
    produce(broker.bootstrap, SERVICER_REPORTS, [low], key_field="deal_id")
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    below = {"event_id": "q-1", "tranche_id": "BISHUI-24-A", "ts": "2024-08-01T10:00:00+08:00", "price": 94.0}
    produce(broker.bootstrap, QUOTES, [below], key_field="tranche_id")
    rules = {"coverage_shortfall", "trigger_breach", "reserve_shortfall", "stressed_collateral"}
    alerts = wait_for(
        lambda: (f := latest(broker.bootstrap)) and rules <= set(f) and f, what="the four collateral alerts"
    )
    assert {r: (alerts[r]["severity"], alerts[r]["status"]) for r in rules} == {
        "coverage_shortfall": ("critical", "firing"),
        "trigger_breach": ("critical", "firing"),
        "reserve_shortfall": ("warning", "firing"),
        "stressed_collateral": ("critical", "firing"),
    }
    stressed = alerts["stressed_collateral"]
    assert stressed["subject"]["tranche_id"] == "BISHUI-24-A"
    assert "while the collateral of BISHUI-24 is stressed: BISHUI-24: Q2 2024" in stressed["summary"]
    assert alerts["coverage_shortfall"]["summary"].startswith(
        "BISHUI-24: Q2 2024 collections Rmb75.0mn covered debt service Rmb100mn 0.75x"
    )
    assert alerts["trigger_breach"]["evidence"]["breached"] == ["dscr_below_1_1"]

    better = servicer("s-2", "2024-07-01", "2024-09-30", 140e6, False)
    produce(broker.bootstrap, SERVICER_REPORTS, [better], key_field="deal_id")
    wait_for(
        lambda: (
            (f := latest(broker.bootstrap))
            and all(
                f[r]["status"] == "resolved"
                for r in ("coverage_shortfall", "trigger_breach", "stressed_collateral")
            )
        ),
        what="coverage, trigger and the collateral stress resolved by the next quarter",
    )
    assert latest(broker.bootstrap)["reserve_shortfall"]["status"] == "firing"  # still under-funded


def test_a_downgrade_by_one_agency(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess]
) -> None:
    worker_factory().wait_ready()
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    ratings = [
        {"event_id": "r-1", "tranche_id": "BISHUI-24-A", "agency": "CCXI", "rating": "AA+(sf)",
         "ts": "2024-02-01T17:00:00+08:00"},
        {"event_id": "r-2", "tranche_id": "BISHUI-24-A", "agency": "Dagong", "rating": "AA",
         "ts": "2024-03-01T17:00:00+08:00"},
        {"event_id": "r-3", "tranche_id": "BISHUI-24-A", "agency": "CCXI", "rating": "AA(sf)", "outlook": "negative",
         "ts": "2024-11-03T17:00:00+08:00"},
    ]  # fmt: skip
    produce(broker.bootstrap, RATINGS, ratings, key_field="tranche_id")
    alerts = wait_for(
        lambda: (f := latest(broker.bootstrap)) and "rating_downgrade" in f and f, what="rating_downgrade"
    )
    cut = alerts["rating_downgrade"]
    assert (cut["severity"], cut["status"]) == ("warning", "firing")
    assert (
        cut["summary"]
        == "BISHUI-24-A downgraded: CCXI AA+(sf) to AA(sf) (1 notch, outlook negative, 2024-11-03)"
    )
