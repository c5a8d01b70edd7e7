"""issuer_loss_widening: swing to loss, the 5x and 10x edges, resolution, restatement and overlaps."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.core.model import Fire, Keep
from streams.rules import issuer_loss_widening
from streams.rules.config import IssuerLossWideningConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import financials, replay, severity

# 2022 and 2023 both have 365 days, so annualised figures equal the reported ones
FY22 = ("2022-01-01", "2022-12-31")
FY23 = ("2023-01-01", "2023-12-31")


def _two_years(before: float, after: float, rules: RulesConfig | None = None) -> str | None:
    reports = [
        financials("f-1", *FY22, before, "2023-04-28"),
        financials("f-2", *FY23, after, "2024-04-28"),
    ]
    return severity(replay(reports, rules), "issuer_loss_widening", "wuhan-bus")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (50e6, -1e6, "warning"),  # profit to loss
        (0.0, -1e6, "warning"),  # break-even to loss
        (-100e6, -499.99e6, None),
        (-100e6, -500e6, "warning"),  # exactly 5x
        (-100e6, -999.99e6, "warning"),
        (-100e6, -1000e6, "critical"),  # exactly 10x
        (-100e6, 10e6, None),  # back to profit
        (50e6, 0.0, None),
        (-100e6, -50e6, None),  # narrowing
    ],
)
def test_loss_widening_table(before: float, after: float, expected: str | None) -> None:
    assert _two_years(before, after) == expected


def test_swing_to_loss_can_be_switched_off() -> None:
    rules = RulesConfig(issuer_loss_widening=IssuerLossWideningConfig(warn_on_swing_to_loss=False))
    assert _two_years(50e6, -1e6, rules) is None


@pytest.mark.parametrize(
    ("newer", "expected"), [(-11000e6, "critical"), (-2000e6, "resolved"), (5e6, "resolved")]
)
def test_a_newer_period_resolves_or_keeps_it(newer: float, expected: str) -> None:
    reports = [
        financials("f-1", *FY22, -100e6, "2023-04-28"),
        financials("f-2", *FY23, -1000e6, "2024-04-28"),
        financials("f-3", "2024-01-01", "2024-12-31", newer, "2025-04-28"),
    ]
    assert severity(replay(reports), "issuer_loss_widening", "wuhan-bus") == expected


def test_newest_is_by_period_not_by_arrival() -> None:
    reports = [
        financials("f-2", *FY23, -1000e6, "2024-04-28"),
        financials("f-1", *FY22, -100e6, "2023-04-28"),  # arrives late
    ]
    assert severity(replay(reports), "issuer_loss_widening", "wuhan-bus") == "critical"


def test_a_period_reported_again_replaces_it_unless_older() -> None:
    reports = [
        financials("f-1", *FY22, -100e6, "2023-04-28"),
        financials("f-2", *FY23, -1000e6, "2024-04-28"),
        financials("f-2r", *FY23, -200e6, "2024-06-30"),  # restated
    ]
    assert severity(replay(reports), "issuer_loss_widening", "wuhan-bus") == "resolved"
    stale = financials("f-2old", *FY23, -1000e6, "2024-04-01")  # redelivered original, reported earlier
    snap = replay([*reports, stale])
    assert snap.issuers["wuhan-bus"].periods["2023-01-01/2023-12-31"].event_id == "f-2r"


def test_overlapping_periods_are_not_compared() -> None:
    reports = [
        financials("f-1", "2024-01-01", "2024-12-31", -13e6, "2025-04-28"),
        financials("f-q1", "2025-01-01", "2025-03-31", -700e6, "2025-04-29"),
        financials("f-h1", "2025-01-01", "2025-06-30", -821e6, "2025-08-30"),
    ]
    verdict = issuer_loss_widening.evaluate(replay(reports).issuers["wuhan-bus"], IssuerLossWideningConfig())
    assert isinstance(verdict, Fire) and verdict.severity == "critical"
    assert (verdict.evidence["newest"]["event_id"], verdict.evidence["previous"]["event_id"]) == (
        "f-h1",
        "f-1",
    )


def test_a_single_period_is_not_judged() -> None:
    snap = replay([financials("f-1", *FY23, -1000e6, "2024-04-28")])
    assert severity(snap, "issuer_loss_widening", "wuhan-bus") is None


# --- v2: like-for-like baseline (issue 16) ---------------------------------------------------------------

SUBSIDISED = [
    financials("f-h1-24", "2024-01-01", "2024-06-30", -400e6, "2024-08-30"),
    financials("f-fy-24", "2024-01-01", "2024-12-31", -13e6, "2025-04-28"),  # year-end subsidies booked
    financials("f-h1-25", "2025-01-01", "2025-06-30", -380e6, "2025-08-30"),
]


def test_a_half_year_is_compared_with_the_half_year_a_year_earlier() -> None:
    """-400mn H1 2024, -13mn FY 2024, -380mn H1 2025: better year on year, so no 59x critical."""
    snap = replay(SUBSIDISED)
    assert severity(snap, "issuer_loss_widening", "wuhan-bus") is None
    verdict = issuer_loss_widening.evaluate(snap.issuers["wuhan-bus"], IssuerLossWideningConfig())
    assert not isinstance(verdict, Keep)  # a Fire or a Resolve: both carry evidence
    assert verdict.evidence["baseline"] == "year_earlier"
    assert verdict.evidence["previous"]["event_id"] == "f-h1-24"
    assert "a year earlier (2024-01-01 to 2024-06-30), 1.0x" in verdict.summary


def test_v1_baseline_still_available_and_fires_at_59x() -> None:
    rules = RulesConfig(issuer_loss_widening=IssuerLossWideningConfig(like_for_like=False))
    snap = replay(SUBSIDISED, rules)
    found = snap.issuers["wuhan-bus"].alerts["issuer_loss_widening"]
    assert found.severity == "critical" and found.evidence["baseline"] == "period_before"
    assert found.evidence["multiple"] == pytest.approx(59.1, abs=0.05)


def test_without_the_year_earlier_period_the_period_before_is_the_baseline() -> None:
    reports = SUBSIDISED[1:]  # H1 2024 never reported
    found = replay(reports).issuers["wuhan-bus"].alerts["issuer_loss_widening"]
    assert found.severity == "critical" and found.evidence["baseline"] == "period_before"
    assert "vs Rmb13.0mn the period before (2024-01-01 to 2024-12-31)" in found.summary


@pytest.mark.parametrize(
    ("start", "end", "basis"),
    [
        ("2023-12-25", "2024-07-07", "year_earlier"),  # each end 7 days off: still like for like
        ("2023-12-24", "2024-06-30", "period_before"),  # start 8 days off
        ("2024-01-01", "2024-07-08", "period_before"),  # end 8 days off
    ],
)
def test_year_earlier_tolerance_is_seven_days(start: str, end: str, basis: str) -> None:
    reports = [
        financials("f-fy-23", "2023-01-01", "2023-12-31", -50e6, "2024-04-28"),
        financials("f-old", start, end, -40e6, "2024-08-30"),
        financials("f-h1-25", "2025-01-01", "2025-06-30", -380e6, "2025-08-30"),
    ]
    verdict = issuer_loss_widening.evaluate(replay(reports).issuers["wuhan-bus"], IssuerLossWideningConfig())
    assert not isinstance(verdict, Keep)  # a Fire or a Resolve: both carry evidence
    assert verdict.evidence["baseline"] == basis


def test_a_loss_that_stays_enormous_keeps_firing() -> None:
    """FY 2024 swung to a -800mn loss; H1 2025 is still -700mn. v1 compared H1 2025 with FY 2024 (0.9x) and
    resolved; v2 compares it with H1 2024, a profit, so the alert keeps firing as the contract says."""
    reports = [
        financials("f-fy-23", "2023-01-01", "2023-12-31", 100e6, "2024-04-28"),
        financials("f-h1-24", "2024-01-01", "2024-06-30", 30e6, "2024-08-30"),
        financials("f-fy-24", "2024-01-01", "2024-12-31", -800e6, "2025-04-28"),
        financials("f-h1-25", "2025-01-01", "2025-06-30", -700e6, "2025-08-30"),
    ]
    snap = replay(reports)
    found = snap.issuers["wuhan-bus"].alerts["issuer_loss_widening"]
    assert (found.status, found.severity, found.seq) == ("firing", "warning", 1)
    verdict = issuer_loss_widening.evaluate(snap.issuers["wuhan-bus"], IssuerLossWideningConfig())
    assert isinstance(verdict, Fire) and verdict.evidence["baseline"] == "year_earlier"
    assert "from a profit of Rmb60.2mn a year earlier (2024-01-01 to 2024-06-30)" in verdict.summary
    v1 = RulesConfig(issuer_loss_widening=IssuerLossWideningConfig(like_for_like=False))
    assert severity(replay(reports, v1), "issuer_loss_widening", "wuhan-bus") == "resolved"


def test_leap_day_period_finds_its_year_earlier() -> None:
    reports = [
        financials("f-1", "2023-01-01", "2023-02-28", 10e6, "2023-04-01"),
        financials("f-2", "2024-01-01", "2024-02-29", -10e6, "2024-04-01"),
    ]
    verdict = issuer_loss_widening.evaluate(replay(reports).issuers["wuhan-bus"], IssuerLossWideningConfig())
    assert not isinstance(verdict, Keep)  # a Fire or a Resolve: both carry evidence
    assert verdict.evidence["baseline"] == "year_earlier"


def test_a_period_starting_in_year_one_has_no_year_earlier() -> None:
    reports = [
        financials("f-1", "0001-01-01", "2024-12-31", -13e6, "2025-04-28"),
        financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30"),
    ]
    verdict = issuer_loss_widening.evaluate(replay(reports).issuers["wuhan-bus"], IssuerLossWideningConfig())
    assert not isinstance(verdict, Keep)  # a Fire or a Resolve: both carry evidence
    assert verdict.evidence["baseline"] == "period_before"
    assert issuer_loss_widening.year_before(dt.date(1, 6, 30)) is None
