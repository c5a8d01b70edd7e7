"""v2 tranche terms, quote price basis and distribution reports: valid ones parse, bad ones dead-letter with a
reason naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.ingest.parse import Rejected, parse
from streams.model.events import Deal, Distribution, Quote

TRANCHE: dict[str, Any] = {
    "tranche_id": "WHBUS-2025-A",
    "face_value": 600000000,
    "coupon_pct": 2.6,
    "issue_date": "2025-01-15",
    "maturity_date": "2035-01-15",
    "coupon_frequency": 4,
    "market": "CIBM",
    "amortisation": [{"date": "2030-01-15", "pct_of_original": 20.0}],
    "put_dates": ["2028-01-15"],
}
DISTRIBUTION: dict[str, Any] = {
    "event_id": "p-1",
    "tranche_id": "WHBUS-2025-A",
    "payment_date": "2026-01-15",
    "reported_at": "2026-01-16T18:00:00+08:00",
    "interest_due": 3900000,
    "interest_paid": 3900000,
    "principal_due": 0,
    "principal_paid": 0,
    "support_drawn": 0,
    "factor_after": 1.0,
    "currency": "CNY",
}


def deal(**changes: Any) -> bytes:
    return json.dumps(
        {
            "event_id": "d-1",
            "deal_id": "WHBUS-2025",
            "issuer_id": "wuhan-bus",
            "issuer_name": "Wuhan Public Transport Group",
            "announced_at": "2025-01-10T10:00:00+08:00",
            "asset_type": "transport_revenue",
            "tranches": [{**TRANCHE, **changes}],
        }
    ).encode()


def test_the_contract_example_deal_parses() -> None:
    got = parse("abs.deals", deal())
    assert isinstance(got, Deal)
    terms = got.tranches[0]
    assert (terms.coupon_frequency, terms.market) == (4, "CIBM")
    assert terms.amortisation[0].pct_of_original == 20.0
    assert hash(terms)  # cached per terms


def test_v1_terms_mean_an_annual_interbank_bullet() -> None:
    v1 = {k: TRANCHE[k] for k in ("tranche_id", "face_value", "coupon_pct", "issue_date", "maturity_date")}
    plain = parse("abs.deals", json.dumps({**json.loads(deal()), "tranches": [v1]}).encode())
    assert isinstance(plain, Deal)
    terms = plain.tranches[0]
    assert (terms.coupon_frequency, terms.market, terms.amortisation, terms.put_dates) == (1, "CIBM", (), ())


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        (
            {"amortisation": [{"date": "2030-02-15", "pct_of_original": 20.0}]},
            "amortisation: 2030-02-15 is not",
        ),
        (
            {
                "amortisation": [
                    {"date": "2030-01-15", "pct_of_original": 60.0},
                    {"date": "2031-01-15", "pct_of_original": 50.0},
                ]
            },
            "amortisation: the repayments sum to 110%",
        ),
        ({"put_dates": ["2028-01-16"]}, "put_dates: 2028-01-16 is not a coupon date"),
        ({"market": "HKEX"}, "tranches.0.market"),
        ({"coupon_frequency": 3}, "tranches.0.coupon_frequency"),
        ({"amortisation": [{"date": "2030-01-15", "pct_of_original": -5}]}, "pct_of_original"),
    ],
)
def test_bad_structure_dead_letters_naming_the_field(changes: dict[str, Any], names: str) -> None:
    got = parse("abs.deals", deal(**changes))
    assert isinstance(got, Rejected) and got.kind == "invalid_fields"
    assert names in got.reason


def test_price_basis() -> None:
    quote = {"event_id": "q-1", "tranche_id": "A", "ts": "2025-09-01T09:30:00+08:00", "price": 68.0}
    assert parse("bond.quotes", json.dumps(quote).encode()) == Quote.model_validate(
        {**quote, "price_basis": "remaining"}
    )
    got = parse("bond.quotes", json.dumps({**quote, "price_basis": "original"}).encode())
    assert isinstance(got, Quote) and got.price_basis == "original"
    bad = parse("bond.quotes", json.dumps({**quote, "price_basis": "dirty"}).encode())
    assert isinstance(bad, Rejected) and "price_basis" in bad.reason


def test_the_contract_example_distribution_parses() -> None:
    got = parse("abs.distributions", json.dumps(DISTRIBUTION).encode())
    assert isinstance(got, Distribution)
    assert got.factor_after == 1.0 and got.event_time == got.reported_at
    minimal = {
        k: v for k, v in DISTRIBUTION.items() if k not in ("support_drawn", "factor_after", "currency")
    }
    got = parse("abs.distributions", json.dumps(minimal).encode())
    assert isinstance(got, Distribution) and (got.support_drawn, got.factor_after) == (0.0, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interest_paid", -1),
        ("principal_due", "lots"),
        ("support_drawn", -0.01),
        ("factor_after", 1.2),
        ("factor_after", -0.1),
        ("payment_date", "not a date"),
    ],
)
def test_bad_distributions_dead_letter_naming_the_field(field: str, value: object) -> None:
    raw = json.dumps({**DISTRIBUTION, field: value}).encode()
    got = parse("abs.distributions", raw)
    assert isinstance(got, Rejected) and field in got.reason


def test_a_distribution_without_amounts_is_rejected() -> None:
    partial = {k: v for k, v in DISTRIBUTION.items() if k != "interest_due"}
    got = parse("abs.distributions", json.dumps(partial).encode())
    assert isinstance(got, Rejected) and "interest_due" in got.reason
