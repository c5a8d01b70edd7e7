"""coverage_shortfall, trigger_breach and reserve_shortfall: each threshold's edge, hysteresis, a report for
the same period replacing the first, reports out of order (the newest period counts, not the newest arrival),
and reports read before their deal, judged when it is announced."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.model.events import ServicerReport, Trigger
from streams.rules.config import CoverageShortfallConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, at, deal, replay, severity, terms

DEAL = deal("d-1", "METRO-24", "2024-01-10", [terms("METRO-24-A", issue_date="2024-01-15")])
QUARTERS = {
    1: ("2025-01-01", "2025-03-31"),
    2: ("2025-04-01", "2025-06-30"),
    3: ("2025-07-01", "2025-09-30"),
    4: ("2025-10-01", "2025-12-31"),
}


def servicer(
    event_id: str,
    quarter: int,
    collections: float,
    debt_service_due: float = 100e6,
    *,
    reserve: tuple[float, float] | None = None,
    breached: tuple[str, ...] = (),
    reported: str | None = None,
) -> ServicerReport:
    start, end = QUARTERS[quarter]
    return ServicerReport(
        event_id=event_id,
        deal_id="METRO-24",
        period_start=dt.date.fromisoformat(start),
        period_end=dt.date.fromisoformat(end),
        reported_at=at(reported or f"{end[:7]}-20"),
        collections=collections,
        debt_service_due=debt_service_due,
        reserve_balance=reserve[0] if reserve else None,
        reserve_required=reserve[1] if reserve else None,
        triggers=[Trigger(name="dscr_below_1_1", breached="dscr_below_1_1" in breached)],
    )


def coverage(*reports: ServicerReport, rules: RulesConfig | None = None) -> str | None:
    return severity(replay([DEAL, *reports], rules), "coverage_shortfall", "METRO-24")


@pytest.mark.parametrize(
    ("collections", "expected"),
    [
        (130e6, None),
        (120e6, None),  # exactly 1.2x: not below
        (119.99e6, "warning"),
        (100e6, "warning"),  # exactly 1.0x: not below
        (99.99e6, "critical"),
        (75e6, "critical"),
    ],
)
def test_coverage_edges(collections: float, expected: str | None) -> None:
    assert coverage(servicer("s-1", 2, collections)) == expected


def test_coverage_hysteresis_and_resolution() -> None:
    low = servicer("s-1", 1, 110e6)
    assert coverage(low, servicer("s-2", 2, 125e6)) == "warning"  # between 1.2x and 1.3x: as it was
    assert coverage(low, servicer("s-2", 2, 129.99e6)) == "warning"
    assert coverage(low, servicer("s-2", 2, 130e6)) == "resolved"
    assert coverage(servicer("s-1", 1, 125e6)) is None  # in the band without having fired: nothing
    # Severity never steps down while firing.
    assert coverage(servicer("s-1", 1, 90e6), servicer("s-2", 2, 110e6)) == "critical"


def test_nothing_due_is_not_judged() -> None:
    assert coverage(servicer("s-1", 2, 0.0, debt_service_due=0.0)) is None
    assert coverage(servicer("s-1", 1, 90e6), servicer("s-2", 2, 0.0, debt_service_due=0.0)) == "critical"


def test_the_analysts_sentence() -> None:
    snap = replay([DEAL, servicer("s-1", 2, 75e6, breached=("dscr_below_1_1",))])
    cover = alert(snap, "coverage_shortfall", "METRO-24")
    assert cover is not None
    assert cover.summary == (
        "METRO-24: Q2 2025 collections Rmb75.0mn covered debt service Rmb100mn 0.75x (critical below 1.00x)"
    )
    assert cover.evidence["coverage"] == 0.75
    assert cover.subject.deal_id == "METRO-24" and cover.subject.issuer_id == "wuhan-bus"
    breach = alert(snap, "trigger_breach", "METRO-24")
    assert breach is not None and breach.severity == "critical"
    assert breach.summary == "METRO-24: Q2 2025 triggers breached: dscr_below_1_1"
    assert breach.evidence["breached"] == ["dscr_below_1_1"]


def test_the_newest_period_counts_not_the_newest_arrival() -> None:
    q3_fine = servicer("s-3", 3, 140e6, reported="2025-10-20")
    q2_low = servicer("s-2", 2, 70e6, reported="2025-10-25")
    assert coverage(q3_fine, q2_low) is None
    assert coverage(q2_low, q3_fine) == "resolved"


def test_a_report_for_the_same_period_replaces_the_first() -> None:
    first = servicer("s-2", 2, 70e6, reported="2025-07-20")
    restated = servicer("s-2b", 2, 140e6, reported="2025-07-25")
    assert coverage(first, restated) == "resolved"
    assert coverage(first, restated, first.model_copy(update={"event_id": "s-2c"})) == "resolved"


def test_reports_read_before_the_deal_are_judged_when_it_is_announced() -> None:
    snap = replay([servicer("s-1", 2, 70e6, reserve=(5e6, 20e6), breached=("dscr_below_1_1",))])
    assert alert(snap, "coverage_shortfall", "METRO-24") is None
    replay([DEAL], snap=snap)
    assert severity(snap, "coverage_shortfall", "METRO-24") == "critical"
    assert severity(snap, "trigger_breach", "METRO-24") == "critical"
    assert severity(snap, "reserve_shortfall", "METRO-24") == "warning"
    # The deal read after its reports keeps them for the next report's judgement.
    assert len(snap.deals["METRO-24"].servicer_reports) == 1


def test_trigger_resolves_when_the_newest_report_has_none_breached() -> None:
    snap = replay([DEAL, servicer("s-1", 1, 150e6, breached=("dscr_below_1_1",)), servicer("s-2", 2, 150e6)])
    assert severity(snap, "trigger_breach", "METRO-24") == "resolved"


@pytest.mark.parametrize(
    ("reserve", "expected"),
    [((20e6, 20e6), None), ((19.9e6, 20e6), "warning"), ((0.0, 0.0), None), (None, None)],
)
def test_reserve_edges(reserve: tuple[float, float] | None, expected: str | None) -> None:
    snap = replay([DEAL, servicer("s-1", 2, 150e6, reserve=reserve)])
    assert severity(snap, "reserve_shortfall", "METRO-24") == expected


def test_reserve_refilled_resolves() -> None:
    drawn = servicer("s-1", 1, 150e6, reserve=(12e6, 20e6))
    snap = replay([DEAL, drawn, servicer("s-2", 2, 150e6, reserve=(20e6, 20e6))])
    assert severity(snap, "reserve_shortfall", "METRO-24") == "resolved"
    fired = alert(replay([DEAL, drawn]), "reserve_shortfall", "METRO-24")
    assert fired is not None
    assert fired.summary == "METRO-24: Q1 2025 reserve Rmb12.0mn of Rmb20.0mn required (Rmb8.00mn short)"


def test_thresholds_come_from_the_rules_file() -> None:
    rules = RulesConfig(
        coverage_shortfall=CoverageShortfallConfig(critical_below=0.8, warning_below=1.1, resolve_at=1.15)
    )
    assert coverage(servicer("s-1", 2, 85e6), rules=rules) == "warning"
    with pytest.raises(ValueError, match="critical_below <= warning_below <= resolve_at"):
        CoverageShortfallConfig(critical_below=1.3, warning_below=1.2)
