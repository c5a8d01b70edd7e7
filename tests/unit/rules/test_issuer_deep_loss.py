"""issuer_deep_loss: the 50% and 40% edges, the band between them, profits, periods without revenue, and the
newest period by its dates rather than its arrival."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.model.events import Financials
from streams.rules.config import IssuerDeepLossConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, at, replay, severity


def report(event_id: str, start: str, end: str, net_income: float, revenue: float | None) -> Financials:
    return Financials(
        event_id=event_id,
        issuer_id="wuhan-bus",
        period_start=dt.date.fromisoformat(start),
        period_end=dt.date.fromisoformat(end),
        net_income=net_income,
        revenue=revenue,
        reported_at=at(end),
    )


def _deep(*figures: tuple[float, float | None], rules: RulesConfig | None = None) -> str | None:
    reports = [
        report(f"f-{i}", f"{2020 + i}-01-01", f"{2020 + i}-12-31", income, revenue)
        for i, (income, revenue) in enumerate(figures)
    ]
    return severity(replay(reports, rules), "issuer_deep_loss", "wuhan-bus")


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        (((-599.9e6, 1200e6),), None),  # 49.99%
        (((-600e6, 1200e6),), "warning"),  # exactly 50%
        (((-821e6, 1200e6),), "warning"),  # the story's H1 2025: 68%
        (((-900e6, 1200e6), (-480e6, 1200e6)), "warning"),  # 40%: still in the band, keeps firing
        (((-900e6, 1200e6), (-479.9e6, 1200e6)), "resolved"),  # under 40%
        (((-900e6, 1200e6), (10e6, 1200e6)), "resolved"),  # a profit
        (((-500e6, 1200e6), (-550e6, 1200e6)), None),  # in the band without having fired: nothing
        (((-900e6, 1200e6), (-100e6, None)), "warning"),  # no revenue: the newest with revenue counts
        (((-900e6, 1200e6), (-100e6, 0.0)), "warning"),  # revenue 0 cannot be divided by
        (((-900e6, None),), None),
    ],
)
def test_deep_loss_table(figures: tuple[tuple[float, float | None], ...], expected: str | None) -> None:
    assert _deep(*figures) == expected


def test_thresholds_are_configurable() -> None:
    rules = RulesConfig(
        issuer_deep_loss=IssuerDeepLossConfig(warning_loss_pct_of_revenue=30, resolve_loss_pct_of_revenue=20)
    )
    assert _deep((-400e6, 1200e6), rules=rules) == "warning"
    assert _deep((-900e6, 1200e6), (-300e6, 1200e6), rules=rules) == "warning"
    assert _deep((-900e6, 1200e6), (-200e6, 1200e6), rules=rules) == "resolved"
    off = RulesConfig(issuer_deep_loss=IssuerDeepLossConfig(enabled=False))
    assert _deep((-900e6, 1200e6), rules=off) is None


def test_newest_period_by_dates_not_by_arrival() -> None:
    newer = report("f-25", "2025-01-01", "2025-06-30", -700e6, 1200e6)
    older = report("f-24", "2024-01-01", "2024-12-31", 50e6, 2500e6)
    snap = replay([newer, older])  # the older period is read last
    assert severity(snap, "issuer_deep_loss", "wuhan-bus") == "warning"


def test_evidence_and_summary_name_the_period() -> None:
    found = alert(
        replay([report("f-h1", "2025-01-01", "2025-06-30", -821e6, 1200e6)]), "issuer_deep_loss", "wuhan-bus"
    )
    assert found is not None and found.severity == "warning"
    assert found.summary == (
        "wuhan-bus lost Rmb821mn on revenue of Rmb1.20bn (2025-01-01 to 2025-06-30): 68.4% of revenue"
    )
    ev = found.evidence
    assert ev["period"]["event_id"] == "f-h1" and ev["loss_pct_of_revenue"] == pytest.approx(68.41666667)
    assert ev["thresholds"] == {"warning_loss_pct_of_revenue": 50.0, "resolve_loss_pct_of_revenue": 40.0}
    assert found.event_time == at("2025-06-30")
