"""A small story of payments, collateral and ratings, as JSON Lines records: a bus company's deal whose
senior tranche is paid short and topped up by the shortfall undertaking, whose fare collections fall
below debt service with a trigger breached, and which one agency downgrades. The views' tests replay it."""

from __future__ import annotations

from typing import Any

DEAL: dict[str, Any] = {
    "event_id": "d-1",
    "deal_id": "BISHUI-24",
    "issuer_id": "bishui-bus",
    "issuer_name": "Bishui Bus Group",
    "province": "Hubei",
    "announced_at": "2024-01-10T10:00:00+08:00",
    "asset_type": "transport_revenue",
    "tranches": [
        {
            "tranche_id": "BISHUI-24-A",
            "face_value": 5e8,
            "coupon_pct": 8.0,
            "issue_date": "2024-01-15",
            "maturity_date": "2029-01-15",
            "coupon_frequency": 2,
        },
        {
            "tranche_id": "BISHUI-24-B",
            "face_value": 1e8,
            "coupon_pct": 9.0,
            "issue_date": "2024-01-15",
            "maturity_date": "2029-01-15",
            "coupon_frequency": 2,
        },
    ],
}
DISTRIBUTIONS: list[dict[str, Any]] = [
    {
        "event_id": "p-1",
        "tranche_id": "BISHUI-24-A",
        "payment_date": "2024-07-15",
        "reported_at": "2024-07-16T18:00:00+08:00",
        "interest_due": 1e7,
        "interest_paid": 6e6,
        "principal_due": 0,
        "principal_paid": 0,
        "support_drawn": 4e6,
        "factor_after": 1.0,
    },
    {
        "event_id": "p-0",
        "tranche_id": "BISHUI-24-A",
        "payment_date": "2024-01-15",  # older, arrives later
        "reported_at": "2024-01-16T18:00:00+08:00",
        "interest_due": 0,
        "interest_paid": 0,
        "principal_due": 0,
        "principal_paid": 0,
    },
]
SERVICER: list[dict[str, Any]] = [
    {
        "event_id": "s-1",
        "deal_id": "BISHUI-24",
        "period_start": "2024-04-01",
        "period_end": "2024-06-30",
        "reported_at": "2024-07-20T18:00:00+08:00",
        "collections": 3e7,
        "debt_service_due": 4e7,
        "reserve_balance": 5e6,
        "reserve_required": 2e7,
        "delinquency_pct": 3.5,
        "triggers": [
            {"name": "dscr_below_1_1", "breached": True},
            {"name": "rating_below_aa", "breached": False},
        ],
    },
    {
        "event_id": "s-0",
        "deal_id": "BISHUI-24",
        "period_start": "2024-01-01",
        "period_end": "2024-03-31",
        "reported_at": "2024-04-20T18:00:00+08:00",
        "collections": 5e7,
        "debt_service_due": 4e7,
    },
]
RATINGS: list[dict[str, Any]] = [
    {
        "event_id": "r-1",
        "tranche_id": "BISHUI-24-A",
        "agency": "CCXI",
        "rating": "AA+",
        "ts": "2024-01-12T17:00:00+08:00",
    },
    {
        "event_id": "r-2",
        "tranche_id": "BISHUI-24-A",
        "agency": "CCXI",
        "rating": "AA-",
        "outlook": "negative",
        "ts": "2024-07-25T17:00:00+08:00",
    },
    {
        "event_id": "r-3",
        "tranche_id": "BISHUI-24-A",
        "agency": "Dagong",
        "rating": "AA",
        "ts": "2024-01-12T17:00:00+08:00",
    },
    {
        "event_id": "r-4",
        "issuer_id": "bishui-bus",
        "agency": "CCXI",
        "rating": "AA",
        "outlook": "stable",
        "ts": "2024-01-05T17:00:00+08:00",
    },
]


def records() -> list[tuple[str, Any]]:
    return [
        ("abs.deals", DEAL),
        *(("abs.distributions", d) for d in DISTRIBUTIONS),
        *(("abs.servicer_reports", s) for s in SERVICER),
        *(("abs.ratings", r) for r in RATINGS),
    ]
