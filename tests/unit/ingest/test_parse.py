from __future__ import annotations

import json

import pytest

from streams.ingest.parse import MAX_MESSAGE_BYTES, Rejected, parse
from streams.model.events import Deal, Financials, Quote

QUOTE = {"event_id": "q-1", "tranche_id": "WHBUS-2025-A", "ts": "2025-09-01T09:30:00+08:00", "price": 95.0}
DEAL = {
    "event_id": "d-1",
    "deal_id": "WHBUS-2025",
    "issuer_id": "wuhan-bus",
    "issuer_name": "Wuhan Bus",
    "announced_at": "2025-01-10T10:00:00+08:00",
    "asset_type": "transport_revenue",
    "tranches": [
        {
            "tranche_id": "A",
            "face_value": 6e8,
            "coupon_pct": 2.6,
            "issue_date": "2025-01-15",
            "maturity_date": "2035-01-15",
        }
    ],
}
FIN = {
    "event_id": "f-1",
    "issuer_id": "wuhan-bus",
    "period_start": "2025-01-01",
    "period_end": "2025-06-30",
    "net_income": -821e6,
    "reported_at": "2025-08-30T18:00:00+08:00",
}


def raw(value: object) -> bytes:
    return json.dumps(value).encode()


def test_valid_events_parse_and_unknown_fields_are_fine() -> None:
    assert isinstance(parse("bond.quotes", raw({**QUOTE, "extra": 1})), Quote)
    assert isinstance(parse("abs.deals", raw(DEAL)), Deal)
    fin = parse("issuer.financials", raw(FIN))
    assert isinstance(fin, Financials) and fin.days == 181


@pytest.mark.parametrize(
    ("value", "kind", "fragment"),
    [
        (b"{not json", "bad_json", "not valid JSON"),
        (b"\xff\xfe", "bad_json", "not valid JSON"),
        (b"[1, 2]", "not_object", "expected a JSON object"),
        (raw({**QUOTE, "price": 0}), "invalid_fields", "price"),
        (raw({**QUOTE, "price": -5}), "invalid_fields", "price"),
        (raw({**QUOTE, "price": 1000}), "invalid_fields", "price"),
        (
            b'{"event_id":"q","tranche_id":"A","ts":"2025-09-01T09:30:00+08:00","price":NaN}',
            "bad_json",
            "JSON",
        ),
        (raw({**QUOTE, "price": "NaN"}), "invalid_fields", "finite"),
        (raw({**QUOTE, "ts": "2025-09-01T09:30:00"}), "invalid_fields", "timezone"),
        (raw({k: v for k, v in QUOTE.items() if k != "event_id"}), "invalid_fields", "event_id"),
        (None, "empty", "empty"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "too_large", "exceeds"),
    ],
)
def test_bad_quotes_are_rejected_with_a_reason(value: bytes | None, kind: str, fragment: str) -> None:
    result = parse("bond.quotes", value)
    assert isinstance(result, Rejected)
    assert result.kind == kind and fragment in result.reason


def test_deal_rules() -> None:
    no_tranches = parse("abs.deals", raw({**DEAL, "tranches": []}))
    assert isinstance(no_tranches, Rejected) and "tranches" in no_tranches.reason
    twice = parse("abs.deals", raw({**DEAL, "tranches": DEAL["tranches"] * 2}))  # type: ignore[operator]
    assert isinstance(twice, Rejected) and "twice" in twice.reason
    negative = {**DEAL, "tranches": [{**DEAL["tranches"][0], "face_value": -1}]}  # type: ignore[dict-item]
    assert isinstance(parse("abs.deals", raw(negative)), Rejected)


def test_financials_period_must_be_ordered() -> None:
    result = parse("issuer.financials", raw({**FIN, "period_end": "2024-12-31"}))
    assert isinstance(result, Rejected) and "before period_start" in result.reason


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    assert isinstance(parse("bond.quotes", b"[" * 100_000 + b"]" * 100_000), Rejected)


def test_unknown_topic() -> None:
    result = parse("nope", b"{}")
    assert isinstance(result, Rejected) and result.kind == "unknown_topic"
