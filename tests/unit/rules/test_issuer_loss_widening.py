"""issuer_loss_widening: swing to loss, the 5x and 10x edges, resolution, restatement and overlaps."""

from __future__ import annotations

import pytest

from alerts.core.model import Fire
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
