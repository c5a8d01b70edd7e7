"""Golden figures of the contract's Analytics, each worked out by hand in the test, then cross-checked against
QuantLib's FixedRateBond and AmortizingFixedRateBond where their conventions coincide with the contract's."""

from __future__ import annotations

import datetime as dt

import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.analytics import Factor, analytics_at, cash_flows, dirty_from_yield, quote_analytics
from streams.model.events import TrancheTerms
from streams.model.schedule import coupon_dates
from tests.unit.rules.scenario import at

D = dt.date

QUARTERLY = TrancheTerms(
    tranche_id="Q",
    face_value=600e6,
    coupon_pct=2.6,
    issue_date=D(2025, 1, 15),
    maturity_date=D(2035, 1, 15),
    coupon_frequency=4,
    put_dates=(D(2028, 1, 15),),
)
# Semi-annual, 30% repaid on 15 Sep 2025 and on 15 Sep 2026, the last 40% at maturity.
SEMI = TrancheTerms.model_validate(
    {
        "tranche_id": "S",
        "face_value": 500e6,
        "coupon_pct": 3.0,
        "issue_date": "2024-03-15",
        "maturity_date": "2027-03-15",
        "coupon_frequency": 2,
        "amortisation": [
            {"date": "2025-09-15", "pct_of_original": 30.0},
            {"date": "2026-09-15", "pct_of_original": 30.0},
        ],
    }
)


def _annuity(coupon: float, redemption: float, n: int, v: float, first: float) -> float:
    """Σᵢ₌₁..ₙ coupon·v^(first+i-1) + redemption·v^(first+n-1), the geometric series summed in closed form."""
    return float(v**first * (coupon * (1 - v**n) / (1 - v) + redemption * v ** (n - 1)))


def _ql_bond(terms: TrancheTerms, notionals: list[float] | None = None) -> tuple[ql.Bond, ql.DayCounter]:
    schedule = ql.Schedule(
        ql.Date(terms.issue_date.day, terms.issue_date.month, terms.issue_date.year),
        ql.Date(terms.maturity_date.day, terms.maturity_date.month, terms.maturity_date.year),
        ql.Period(12 // terms.coupon_frequency, ql.Months),
        ql.China(ql.China.IB),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    dc = ql.ActualActual(ql.ActualActual.ISMA, schedule)
    issue = ql.Date(terms.issue_date.day, terms.issue_date.month, terms.issue_date.year)
    rate = [terms.coupon_pct / 100]
    if notionals is None:
        return ql.FixedRateBond(0, 100.0, schedule, rate, dc, ql.Unadjusted, 100.0, issue), dc
    return ql.AmortizingFixedRateBond(0, notionals, schedule, rate, dc, ql.Unadjusted, issue), dc


def _ql_yield(bond: ql.Bond, dc: ql.DayCounter, clean: float, day: dt.date, frequency: int) -> float:
    when = ql.Date(day.day, day.month, day.year)
    price = ql.BondPrice(clean, ql.BondPrice.Clean)
    return float(100 * bond.bondYield(price, dc, ql.Compounded, frequency, when, 1e-12, 200))


def test_quarterly_bullet() -> None:
    # Quoted Monday 1 Sep 2025 at 95. Coupon dates every 3 months back from 15 Jan 2035; the period holding
    # 1 Sep is [15 Jul, 15 Oct): TS = 16 + 31 + 30 + 15 = 92 days, t = 16 + 31 + 1 = 48, d = 44.
    # Accrued = 2.6/4 x 48/92 = 0.339130 (an annual convention would say 2.6 x 229/365 = 1.631: 1.29
    # points, Rmb7.75mn on Rmb600mn, too much).
    got = quote_analytics(QUARTERLY, 95.0, at("2025-09-01"))
    assert got is not None
    assert got.settlement == D(2025, 9, 1)
    assert got.accrued_interest == pytest.approx(0.65 * 48 / 92, abs=1e-12)
    assert got.dirty_price == pytest.approx(95 + 0.65 * 48 / 92, abs=1e-12)
    # 38 coupons of 0.65 (15 Oct 2025 … 15 Jan 2035), 100 at the last: at the yield found, the closed-form
    # annuity with v = 1/(1 + y/4) and first exponent 44/92 gives back the dirty price.
    assert got.ytm_pct is not None
    v = 1 / (1 + got.ytm_pct / 400)
    assert _annuity(0.65, 100.0, 38, v, 44 / 92) == pytest.approx(got.dirty_price, abs=1e-9)
    # A bullet: all principal at maturity, 3,652 - 229 = 3,423 days away (1 Sep 2035 less 15 Jan-1 Sep 2035).
    assert got.wal_years == pytest.approx(3423 / 365, abs=1e-12)
    assert (got.factor, got.outstanding_principal) == (1.0, 600e6)
    assert got.mark_to_market_loss == pytest.approx(600e6 * 5 / 100)
    bond, dc = _ql_bond(QUARTERLY)
    assert got.ytm_pct == pytest.approx(_ql_yield(bond, dc, 95.0, got.settlement, ql.Quarterly), abs=1e-8)


def test_semi_annual_amortising() -> None:
    # Quoted Monday 5 Jan 2026 at 98 per 100 outstanding. 30% was repaid on 15 Sep 2025: F = 0.70, Rmb350mn
    # of Rmb500mn outstanding. Period [15 Sep 2025, 15 Mar 2026): TS = 15+31+30+31+31+28+15 = 181, t = 112,
    # d = 69. Accrued = 3.0/2 x 112/181 = 0.928177.
    got = quote_analytics(SEMI, 98.0, at("2026-01-05"))
    assert got is not None
    assert got.factor == pytest.approx(0.70) and got.factor_source == "schedule"
    assert got.outstanding_principal == pytest.approx(350e6)
    assert got.accrued_interest == pytest.approx(1.5 * 112 / 181, abs=1e-12)
    # Per 100 original: 15 Mar 2026 pays 1.5% of 70 = 1.05; 15 Sep 2026 pays 1.05 + 30; 15 Mar 2027 pays
    # 1.5% of 40 = 0.6 + 40. Per 100 outstanding (÷ 0.70): 1.5, 44.357143, 58.0.
    flows = cash_flows(SEMI, got.settlement, 0.70)
    assert [round(a, 6) for _, a, _ in flows.to_maturity] == [1.5, 44.357143, 58.0]
    # WAL: 42.857143 due in 253 days, 57.142857 in 434: (42.857143x253 + 57.142857x434) / 365 / 100.
    assert got.wal_years == pytest.approx((30 / 0.7 * 253 + 40 / 0.7 * 434) / 365 / 100, abs=1e-12)
    # The yield solves 98.928177 = 1.5 v^(69/181) + 44.357143 v^(1+69/181) + 58.0 v^(2+69/181), y = 2(1/v - 1).
    assert got.ytm_pct is not None
    v = 1 / (1 + got.ytm_pct / 200)
    a = 69 / 181
    assert 1.5 * v**a + (31.05 / 0.7) * v ** (a + 1) + 58.0 * v ** (a + 2) == pytest.approx(got.dirty_price)
    # Mark-to-market loss on what is outstanding, not on face: 350mn x 2 / 100 = Rmb7mn (not 10mn).
    assert got.mark_to_market_loss == pytest.approx(7e6)
    bond, dc = _ql_bond(SEMI, [100, 100, 100, 70, 70, 40])
    assert got.ytm_pct == pytest.approx(_ql_yield(bond, dc, 98.0, got.settlement, ql.Semiannual), abs=1e-8)


def test_factor_from_a_report() -> None:
    # The trustee reports factor_after 0.65 for 15 Sep 2025 (35% repaid, not the scheduled 30%).
    reports = [(D(2025, 9, 15), 0.65)]
    got = quote_analytics(SEMI, 98.0, at("2026-01-05"), reports)
    assert got is not None
    assert (got.factor, got.factor_source) == (0.65, "report")
    assert got.outstanding_principal == pytest.approx(325e6)
    # Per 100 original from 65 outstanding: 0.975; 0.975 + 30; 1.5% of 35 + 35 = 35.525. ÷ 0.65:
    flows = cash_flows(SEMI, got.settlement, 0.65)
    assert [round(a, 6) for _, a, _ in flows.to_maturity] == [
        1.5,
        round(30.975 / 0.65, 6),
        round(35.525 / 0.65, 6),
    ]
    # After 15 Sep 2026 the schedule's 30% in (R, S] comes off the reported factor: F = 0.65 - 0.30 = 0.35.
    later = quote_analytics(SEMI, 98.0, at("2026-10-12"), reports)
    assert later is not None and later.factor == pytest.approx(0.35)
    # A report dated after settlement is not yet known at S: the schedule's 0.70 stands.
    early = quote_analytics(SEMI, 98.0, at("2025-12-01"), [(D(2026, 3, 15), 0.5)])
    assert early is not None and early.factor == pytest.approx(0.70) and early.factor_source == "schedule"


def test_original_face_price() -> None:
    # 68.6 per 100 of original face with F = 0.70 is 68.6 / 0.70 = 98.0 per 100 outstanding: the same
    # analytics as a quote of 98 on the remaining basis.
    got = quote_analytics(SEMI, 68.6 / 0.70, at("2026-01-05"))
    same = quote_analytics(SEMI, 98.0, at("2026-01-05"))
    assert got is not None and same is not None
    assert got.clean_price == pytest.approx(98.0)
    assert got.ytm_pct == pytest.approx(same.ytm_pct)


def test_final_period_simple_yield() -> None:
    # Annual 3%, maturity 1 Mar 2027, quoted Thursday 31 Dec 2026 at 90 clean: 60 days left of a 365-day
    # period (t = 305). Accrued = 3 x 305/365 = 2.506849; dirty = 92.506849; the one cash flow is 103.
    # ChinaBond's simple yield: (103 - 92.506849)/92.506849 x 365/60 = 0.113432 x 6.083333 = 69.00%.
    # Compounding annually instead: (103/92.506849)^(365/60) - 1 = 92.25%. (The issue's text has the two
    # swapped: the simple yield is the lower one.)
    terms = TrancheTerms(
        tranche_id="F", face_value=1e8, coupon_pct=3.0, issue_date=D(2024, 3, 1), maturity_date=D(2027, 3, 1)
    )
    got = quote_analytics(terms, 90.0, at("2026-12-31"))
    assert got is not None and got.settlement == D(2026, 12, 31)
    dirty = 90 + 3 * 305 / 365
    assert got.dirty_price == pytest.approx(dirty, abs=1e-12)
    assert got.ytm_pct == pytest.approx((103 - dirty) / dirty * 365 / 60 * 100, abs=1e-10)
    assert got.ytm_pct is not None and round(got.ytm_pct, 2) == 69.00
    assert round(100 * ((103 / dirty) ** (365 / 60) - 1), 2) == 92.25
    # A leap year ending on the payment date counts 366 days: TY = 366 for a payment on 1 Mar 2028. From
    # Monday 10 Jan 2028, D = 22 + 29 = 51 days; the period [1 Mar 2027, 1 Mar 2028) has 366, t = 315.
    leap = TrancheTerms(
        tranche_id="L", face_value=1e8, coupon_pct=3.0, issue_date=D(2025, 3, 1), maturity_date=D(2028, 3, 1)
    )
    got = quote_analytics(leap, 90.0, at("2028-01-10"))
    assert got is not None and got.ytm_pct is not None and got.settlement == D(2028, 1, 10)
    days, dirty = 51, 90 + 3 * 315 / 366
    assert got.ytm_pct == pytest.approx((103 - dirty) / dirty * 366 / days * 100, abs=1e-10)


def test_yield_to_put() -> None:
    # The quarterly tranche has an investor put on 15 Jan 2028. From 1 Sep 2025 the flows cut there are ten
    # coupons of 0.65 (15 Oct 2025 … 15 Jan 2028) and par on the last: the closed-form annuity reproduces the
    # dirty price at the yield to put.
    got = quote_analytics(QUARTERLY, 95.0, at("2025-09-01"))
    assert got is not None and got.ytp_pct is not None
    v = 1 / (1 + got.ytp_pct / 400)
    assert _annuity(0.65, 100.0, 10, v, 44 / 92) == pytest.approx(got.dirty_price, abs=1e-9)
    # A FixedRateBond maturing on the put date is the same bond to the put.
    to_put = QUARTERLY.model_copy(update={"maturity_date": D(2028, 1, 15), "put_dates": ()})
    bond, dc = _ql_bond(to_put)
    assert got.ytp_pct == pytest.approx(_ql_yield(bond, dc, 95.0, got.settlement, ql.Quarterly), abs=1e-8)
    # In the put's own period one flow is left: the simple yield, (100.65 - dirty)/dirty x 365/D (the year
    # ending 15 Jan 2028 holds no 29 February).
    near = quote_analytics(QUARTERLY, 99.0, at("2027-12-06"))
    assert near is not None and near.ytp_pct is not None
    dirty = 99.0 + 0.65 * (16 + 30 + 6) / 92  # [15 Oct 2027, 15 Jan 2028): 92 days, t = 52, D = 25 + 15
    assert near.dirty_price == pytest.approx(dirty, abs=1e-12)
    assert near.ytp_pct == pytest.approx((100.65 - dirty) / dirty * 365 / 40 * 100, abs=1e-10)
    # After the put date there is none left: no yield to put.
    after = quote_analytics(QUARTERLY, 99.0, at("2028-02-01"))
    assert after is not None and after.ytp_pct is None


def test_a_holiday_quote_settles_on_the_next_business_day() -> None:
    # Quoted Wednesday 1 Oct 2025, National Day: the interbank market reopens Thursday 9 October. Accrual runs
    # from 15 Jul to 9 Oct: t = 16 + 31 + 30 + 9 = 86 of 92; the accrued is 0.65 x 86/92 = 0.607609.
    got = quote_analytics(QUARTERLY, 95.0, at("2025-10-01"))
    assert got is not None and got.settlement == D(2025, 10, 9)
    assert got.accrued_interest == pytest.approx(0.65 * 86 / 92, abs=1e-12)


def test_exchange_accrual() -> None:
    # SSE and SZSE accrue the annual coupon over 365 days: 2.6 x 48/365 = 0.341918 on 1 Sep 2025.
    for market in ("SSE", "SZSE"):
        terms = QUARTERLY.model_copy(update={"market": market})
        got = quote_analytics(terms, 95.0, at("2025-09-01"))
        assert got is not None
        assert got.accrued_interest == pytest.approx(2.6 * 48 / 365, abs=1e-12)


def test_nothing_outstanding_means_no_analytics() -> None:
    assert analytics_at(SEMI, D(2026, 1, 5), Factor(0.0, "report", D(2025, 9, 15)), 98.0) is None


@settings(max_examples=150, deadline=None)
@given(
    coupon=st.floats(0.0, 12.0),
    frequency=st.sampled_from([1, 2, 4, 12]),
    years=st.integers(1, 15),
    day=st.integers(0, 5000),
    yield_pct=st.floats(-1.0, 40.0),
    amortising=st.booleans(),
)
def test_price_to_yield_to_price(
    coupon: float, frequency: int, years: int, day: int, yield_pct: float, amortising: bool
) -> None:
    """The dirty price at a yield, then the yield of that price, then the price again."""
    issue = D(2021, 5, 31)  # month ends make short months and stubs
    maturity = D(2021 + years, 11, 30)
    terms = TrancheTerms(
        tranche_id="P",
        face_value=1e8,
        coupon_pct=coupon,
        issue_date=issue,
        maturity_date=maturity,
        coupon_frequency=frequency,
    )
    if amortising and len(terms.coupon_dates) > 2:
        cut = {"date": terms.coupon_dates[-2], "pct_of_original": 50.0}
        terms = TrancheTerms.model_validate({**terms.model_dump(), "amortisation": [cut]})
    settle = issue + dt.timedelta(days=day % (maturity - issue).days)
    factor = Factor(0.5 if amortising and settle >= terms.coupon_dates[-2] else 1.0, "schedule")
    flows = cash_flows(terms, settle, factor.value)
    dirty = dirty_from_yield(flows, frequency, yield_pct)
    at_par = analytics_at(terms, settle, factor, 100.0)
    assert at_par is not None
    got = analytics_at(terms, settle, factor, dirty - at_par.accrued_interest)
    assert got is not None and got.ytm_pct is not None
    assert got.ytm_pct == pytest.approx(yield_pct, abs=1e-7)
    assert dirty_from_yield(flows, frequency, got.ytm_pct) == pytest.approx(dirty, rel=1e-10)


@settings(max_examples=200, deadline=None)
@given(
    issue=st.dates(dt.date(1902, 1, 1), dt.date(2150, 12, 31)),
    days=st.integers(1, 12_000),
    frequency=st.sampled_from([1, 2, 4, 12]),
)
def test_coupon_dates_are_quantlibs_backward_schedule(issue: dt.date, days: int, frequency: int) -> None:
    maturity = issue + dt.timedelta(days=days)
    schedule = ql.Schedule(
        ql.Date(issue.day, issue.month, issue.year),
        ql.Date(maturity.day, maturity.month, maturity.year),
        ql.Period(12 // frequency, ql.Months),
        ql.China(ql.China.IB),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    expected = [dt.date(d.year(), d.month(), d.dayOfMonth()) for d in list(schedule)[1:]]
    assert list(coupon_dates(issue, maturity, frequency)) == expected


def test_coupon_dates_near_the_calendars_first_year() -> None:
    # QuantLib would refuse to roll back past 1901; the schedule never needs to.
    assert coupon_dates(dt.date(1901, 1, 1), dt.date(1902, 1, 15), 1) == (
        dt.date(1901, 1, 15),
        dt.date(1902, 1, 15),
    )
