"""Slack cards show what an analyst needs to act: price as quoted and per 100 outstanding, factor,
outstanding principal, the loss on it, yields to maturity and put, WAL."""

from __future__ import annotations

from typing import Any

from alerts.notify.templates import slack_message
from tests.support.alerts import an_alert


def _fields(evidence: dict[str, Any]) -> list[str]:
    alert = an_alert(evidence=evidence)
    section = slack_message(alert)["blocks"][2]
    return [f["text"] for f in section["fields"]]


def test_an_original_face_price_shows_both_prices_and_the_structure() -> None:
    fields = _fields(
        {
            "price": 73.35,
            "price_basis": "original",
            "clean_price": 97.8,
            "factor": 0.75,
            "factor_source": "report",
            "discount": 2.2,
            "outstanding_principal": 225e6,
            "face_value": 300e6,
            "mark_to_market_loss": 4.95e6,
            "ytm_pct": 3.91,
            "ytp_pct": 4.2,
            "wal_years": 1.23,
            "currency": "CNY",
        }
    )
    assert fields[:4] == [
        "*Price* 73.35 per 100 original face",
        "*Clean price* 97.80 per 100 outstanding",
        "*Discount to par* 2.20",
        "*Factor* 0.75",
    ]
    assert "*Outstanding* Rmb225mn" in fields and "*Mark-to-market loss* Rmb4.95mn" in fields
    assert "*Yield to put* 4.200%" in fields and "*WAL* 1.23 years" in fields
    assert len(fields) == 10 and fields[-1].startswith("*Since*")  # Slack's cap on a section's fields


def test_a_factor_nothing_states_says_so() -> None:
    fields = _fields({"price": 95.0, "price_basis": "original", "clean_price": 95.0, "factor": 1.0,
                      "factor_note": "no amortisation schedule and no distribution report states a factor"})  # fmt: skip
    assert "*Factor* 1 (assumed: nothing states it)" in fields


def test_a_v1_evidence_block_reads_as_before() -> None:
    fields = _fields({"price": 95.0, "discount": 5.0, "face_value": 600e6, "mark_to_market_loss": 30e6})
    assert fields[:4] == [
        "*Price* 95.00",
        "*Discount to par* 5.00",
        "*Face value* Rmb600mn",
        "*Mark-to-market loss* Rmb30.0mn",
    ]


def test_holdings_read_in_the_project_money_format_in_card_text_and_lines() -> None:
    from alerts.notify.templates import group_message, held, line

    alert = an_alert(evidence={"price": 95.0, "holdings": {"fund-a": 50e6, "fund-b": 1.2e9}})
    assert held(alert) == "held: Rmb50.0mn in fund-a, Rmb1.20bn in fund-b"
    message = slack_message(alert)
    assert message["text"].endswith("(held: Rmb50.0mn in fund-a, Rmb1.20bn in fund-b)")
    assert "*held: Rmb50.0mn in fund-a, Rmb1.20bn in fund-b*" in message["blocks"][1]["elements"][0]["text"]
    assert "— held: Rmb50.0mn in fund-a" in line(alert)
    assert "held: Rmb50.0mn in fund-a" in group_message([alert, alert], "issuer x")["text"]
    plain = an_alert(evidence={"price": 95.0})
    assert held(plain) is None and "held" not in slack_message(plain)["text"] and "held" not in line(plain)
