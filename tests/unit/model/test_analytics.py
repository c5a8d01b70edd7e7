"""Bond maths against an independent solution of the price equation, written out here by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.core.china import CHINA_TIME
from streams.model.analytics import quote_analytics, settlement_date
from tests.unit.rules.scenario import at, terms


def _coupon_dates(issue: dt.date, maturity: dt.date) -> list[dt.date]:
    """Annual dates rolled back from maturity; the issue date must be an anniversary (regular periods)."""
    dates = [maturity.replace(year=y) for y in range(issue.year, maturity.year + 1)]
    assert dates[0] == issue
    return dates


def _price_equation(
    coupon_pct: float, issue: dt.date, maturity: dt.date, settle: dt.date
) -> tuple[float, Callable[[float], float]]:
    """Accrued, and dirty price as a function of the yield: ActualActual(ISMA), annual compounding."""
    dates = _coupon_dates(issue, maturity)
    nxt = next(i for i, d in enumerate(dates) if d > settle)
    start, end = dates[nxt - 1], dates[nxt]
    fraction = (end - settle).days / (end - start).days  # of the current period still to run
    accrued = coupon_pct * (settle - start).days / (end - start).days
    remaining = len(dates) - nxt

    def dirty_at(y: float) -> float:
        pv = sum(coupon_pct * (1 + y) ** -(fraction + k) for k in range(remaining))
        return float(pv + 100 * (1 + y) ** -(fraction + remaining - 1))

    return accrued, dirty_at


def _independent(
    coupon_pct: float, issue: dt.date, maturity: dt.date, clean: float, settle: dt.date
) -> tuple[float, float]:
    """(accrued, yield), the yield solved by bisection: the dirty price falls as the yield rises."""
    accrued, dirty_at = _price_equation(coupon_pct, issue, maturity, settle)
    target, low, high = clean + accrued, -0.9, 10.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if dirty_at(mid) > target else (low, mid)
    return accrued, (low + high) / 2


@pytest.mark.parametrize(
    ("when", "clean"),
    [
        ("2025-09-01T09:30:00+08:00", 95.0),  # the story
        ("2025-01-16T09:30:00+08:00", 100.0),
        ("2026-01-15T09:30:00+08:00", 101.3),  # on a coupon date
        ("2025-10-04T09:30:00+08:00", 88.0),  # National Day: settles 9 October
    ],
)
def test_yield_matches_the_price_equation(when: str, clean: float) -> None:
    t = terms("A")
    got = quote_analytics(t, clean, at(when))
    assert got is not None and got.ytm_pct is not None
    accrued, ytm = _independent(t.coupon_pct, t.issue_date, t.maturity_date, clean, got.settlement)
    assert got.accrued_interest == pytest.approx(accrued, abs=1e-9)
    assert got.dirty_price == pytest.approx(clean + accrued, abs=1e-9)
    assert abs(got.ytm_pct - 100 * ytm) < 1e-6


@settings(max_examples=80, deadline=None)
@given(
    coupon=st.floats(0.0, 12.0),
    years=st.integers(1, 30),
    days_in=st.integers(0, 11_000),
    ytm=st.floats(-0.02, 0.30),
)
def test_yield_matches_for_any_terms(coupon: float, years: int, days_in: int, ytm: float) -> None:
    """Prices from the test's own equation at a known yield; QuantLib must recover that yield."""
    issue = dt.date(2020, 3, 20)
    maturity = issue.replace(year=2020 + years)
    t = terms("A", coupon_pct=coupon, issue_date=issue.isoformat(), maturity_date=maturity.isoformat())
    quoted = dt.datetime.combine(issue + dt.timedelta(days=days_in % (365 * years)), dt.time(10), CHINA_TIME)
    settle = settlement_date(quoted)
    if settle >= maturity:
        assert quote_analytics(t, 100.0, quoted) is None
        return
    accrued, dirty_at = _price_equation(coupon, issue, maturity, settle)
    if settle >= maturity.replace(year=maturity.year - 1):
        # The final period: ChinaBond's simple yield, not the compounded one this equation gives
        # (tests/unit/model/test_golden.py holds that one).
        return
    got = quote_analytics(t, dirty_at(ytm) - accrued, quoted)
    assert got is not None and got.ytm_pct is not None
    assert got.accrued_interest == pytest.approx(accrued, abs=1e-9)
    assert abs(got.ytm_pct - 100 * ytm) < 1e-6


def test_settlement_is_the_china_date_rolled_to_a_business_day() -> None:
    assert settlement_date(at("2025-08-31T23:30:00+00:00")) == dt.date(2025, 9, 1)  # Monday 07:30 in Beijing
    assert settlement_date(at("2025-09-06T10:00:00+08:00")) == dt.date(2025, 9, 8)  # Saturday
    assert settlement_date(at("2025-10-01T10:00:00+08:00")) == dt.date(2025, 10, 9)  # National Day week


def test_no_analytics_outside_the_bonds_life() -> None:
    t = terms("A")
    assert quote_analytics(t, 99.0, at("2025-01-10")) is None
    assert quote_analytics(t, 99.0, at("2035-01-15")) is None


def test_evidence_is_rounded_floats() -> None:
    got = quote_analytics(terms("A"), 95.0, at("2025-09-01"))
    assert got is not None
    ev = got.as_evidence()
    assert set(ev) == {
        "factor",
        "outstanding_principal",
        "clean_price",
        "accrued_interest",
        "dirty_price",
        "ytm_pct",
        "wal_years",
        "discount",
        "mark_to_market_loss",
        "settlement_yyyymmdd",
    }
    assert ev["settlement_yyyymmdd"] == 20250901.0
