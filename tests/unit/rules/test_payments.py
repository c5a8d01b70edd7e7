"""missed_payment and support_drawn: each threshold's edge, resolution, a report for the same payment date
replacing the first, reports read out of order (the newest payment date counts, not the newest arrival), and
reports read before their deal, judged when the terms arrive."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.model.events import Distribution
from streams.rules.config import MissedPaymentConfig, SupportDrawnConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, at, deal, replay, severity, terms

DEAL = deal("d-1", "BISHUI-24", "2024-01-10", [terms("BISHUI-24-A", issue_date="2024-01-15")])


def report(
    event_id: str,
    payment_date: str,
    *,
    interest_due: float = 10e6,
    interest_paid: float = 10e6,
    principal_due: float = 0.0,
    principal_paid: float = 0.0,
    support_drawn: float = 0.0,
    reported: str | None = None,
) -> Distribution:
    return _report(
        event_id,
        payment_date,
        interest_due,
        interest_paid,
        principal_due,
        principal_paid,
        support_drawn,
        reported,
    )


def _report(
    event_id: str,
    payment_date: str,
    interest_due: float,
    interest_paid: float,
    principal_due: float,
    principal_paid: float,
    support_drawn: float,
    reported: str | None,
) -> Distribution:
    return Distribution(
        event_id=event_id,
        tranche_id="BISHUI-24-A",
        payment_date=dt.date.fromisoformat(payment_date),
        reported_at=at(reported or payment_date),
        interest_due=interest_due,
        interest_paid=interest_paid,
        principal_due=principal_due,
        principal_paid=principal_paid,
        support_drawn=support_drawn,
    )


def _states(*events: Distribution, rules: RulesConfig | None = None) -> tuple[str | None, str | None]:
    snap = replay([DEAL, *events], rules)
    return severity(snap, "missed_payment", "BISHUI-24-A"), severity(snap, "support_drawn", "BISHUI-24-A")


@pytest.mark.parametrize(
    ("kwargs", "missed"),
    [
        ({}, None),  # paid in full
        ({"interest_paid": 10e6 - 0.99}, None),  # under one currency unit short: rounding, not a default
        ({"interest_paid": 10e6 - 1.0}, "critical"),  # exactly one unit short
        ({"interest_paid": 6e6}, "critical"),
        ({"principal_due": 50e6, "principal_paid": 49e6}, "critical"),  # principal counts as well
        ({"interest_paid": 12e6}, None),  # overpaid interest does not hide behind a negative shortfall
        ({"interest_paid": 12e6, "principal_due": 5e6, "principal_paid": 3e6}, "critical"),
    ],
)
def test_missed_payment_edges(kwargs: dict[str, float], missed: str | None) -> None:
    amounts = {
        "interest_due": 10e6,
        "interest_paid": 10e6,
        "principal_due": 0.0,
        "principal_paid": 0.0,
    } | kwargs
    event = _report("p-1", "2024-07-15", **amounts, support_drawn=0.0, reported=None)
    assert _states(event)[0] == missed


@pytest.mark.parametrize(
    ("drawn", "expected"), [(0.0, None), (0.99, None), (1.0, "warning"), (4e6, "warning")]
)
def test_support_drawn_edges(drawn: float, expected: str | None) -> None:
    assert _states(report("p-1", "2024-07-15", support_drawn=drawn))[1] == expected


def test_the_analysts_sentence_names_the_gap_and_the_support() -> None:
    snap = replay([DEAL, report("p-1", "2024-07-15", interest_paid=6e6, support_drawn=4e6)])
    missed = alert(snap, "missed_payment", "BISHUI-24-A")
    assert missed is not None
    assert missed.summary == (
        "BISHUI-24-A: the 2024-07-15 distribution paid Rmb6.00mn of Rmb10.0mn interest due (Rmb4.00mn short); "
        "Rmb4.00mn drawn from the shortfall undertaking"
    )
    assert missed.evidence["shortfall"] == 4e6
    assert missed.evidence["report"]["payment_date"] == "2024-07-15"
    drawn = alert(snap, "support_drawn", "BISHUI-24-A")
    assert drawn is not None and drawn.severity == "warning"
    assert drawn.subject.deal_id == "BISHUI-24" and drawn.subject.issuer_id == "wuhan-bus"


def test_the_next_full_payment_resolves_both() -> None:
    short = report("p-1", "2024-07-15", interest_paid=6e6, support_drawn=4e6)
    assert _states(short, report("p-2", "2024-10-15")) == ("resolved", "resolved")


def test_a_report_for_the_same_date_replaces_the_first() -> None:
    short = report("p-1", "2024-07-15", interest_paid=6e6, reported="2024-07-16")
    corrected = report("p-1b", "2024-07-15", reported="2024-07-20")
    assert _states(short, corrected)[0] == "resolved"
    # A redelivered original stamped before the correction does not undo it.
    assert _states(short, corrected, short.model_copy(update={"event_id": "p-1c"}))[0] == "resolved"


def test_the_newest_payment_date_counts_not_the_newest_arrival() -> None:
    later_in_full = report("p-2", "2024-10-15", reported="2024-10-16")
    earlier_short = report("p-1", "2024-07-15", interest_paid=6e6, reported="2024-10-20")
    assert _states(later_in_full, earlier_short) == (None, None)
    assert _states(earlier_short, later_in_full) == ("resolved", None)


def test_reports_read_before_their_deal_are_judged_when_the_terms_arrive() -> None:
    early = report("p-1", "2024-07-15", interest_paid=6e6, support_drawn=4e6)
    snap = replay([early])
    assert alert(snap, "missed_payment", "BISHUI-24-A") is None  # no terms, no deal: nothing to judge yet
    replay([DEAL], snap=snap)
    assert severity(snap, "missed_payment", "BISHUI-24-A") == "critical"
    assert severity(snap, "support_drawn", "BISHUI-24-A") == "warning"


def test_thresholds_come_from_the_rules_file() -> None:
    rules = RulesConfig(
        missed_payment=MissedPaymentConfig(min_shortfall=1e6),
        support_drawn=SupportDrawnConfig(enabled=False),
    )
    small = report("p-1", "2024-07-15", interest_paid=10e6 - 5e5, support_drawn=5e5)
    assert _states(small, rules=rules) == (None, None)


def test_a_deal_announced_after_a_missed_payment_is_issuing_into_weakness() -> None:
    short = report("p-1", "2024-07-15", interest_paid=6e6, support_drawn=4e6)
    after = deal("d-2", "BISHUI-25", "2025-03-01", [terms("BISHUI-25-A", issue_date="2025-03-10")])
    before = deal("d-0", "BISHUI-23", "2024-07-01", [terms("BISHUI-23-A", issue_date="2024-07-05")])
    snap = replay([DEAL, short, before, after])
    weak = alert(snap, "issuing_into_weakness", "BISHUI-25")
    assert weak is not None and weak.status == "firing"
    assert weak.summary.endswith("while BISHUI-24-A missed a payment and BISHUI-24-A drew on its support")
    assert set(weak.evidence["missed_payment"]) == {"BISHUI-24-A"}
    assert weak.evidence["below_par"] == {}
    # Announced before the distribution was reported: the issuer was not yet known to be weak.
    assert severity(snap, "issuing_into_weakness", "BISHUI-23") is None
