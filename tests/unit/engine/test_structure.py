"""Prices per 100 of original face, factors from the schedule and from trustee reports, through the rules."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.engine.structure import report_of, store_report
from streams.model.events import Distribution, Quote, TrancheTerms
from streams.model.state import MAX_REPORTS, TrancheState
from streams.rules.price_basis import NO_FACTOR
from tests.unit.rules.scenario import alert, at, deal, replay

# Semi-annual, 30% of original face repaid on 15 Sep 2025 (the factor falls from 1 to 0.70 that day).
AMORTISING = TrancheTerms.model_validate(
    {
        "tranche_id": "S",
        "face_value": 500e6,
        "coupon_pct": 3.0,
        "issue_date": "2024-03-15",
        "maturity_date": "2027-03-15",
        "coupon_frequency": 2,
        "amortisation": [{"date": "2025-09-15", "pct_of_original": 30.0}],
    }
)
BULLET = AMORTISING.model_copy(update={"amortisation": ()})
DEAL = deal("d-1", "D", "2024-03-10", [AMORTISING])


def original(event_id: str, when: str, price: float, tranche_id: str = "S") -> Quote:
    return Quote(event_id=event_id, tranche_id=tranche_id, ts=at(when), price=price, price_basis="original")


def remaining(event_id: str, when: str, price: float) -> Quote:
    return Quote(event_id=event_id, tranche_id="S", ts=at(when), price=price)


def report(event_id: str, paid: str, factor: float | None, reported: str | None = None) -> Distribution:
    return Distribution(
        event_id=event_id,
        tranche_id="S",
        payment_date=dt.date.fromisoformat(paid),
        reported_at=at(reported or f"{paid}T18:00:00+08:00"),
        interest_due=7.5e6,
        interest_paid=7.5e6,
        principal_due=150e6,
        principal_paid=150e6,
        factor_after=factor,
    )


def test_an_original_face_price_that_falls_only_with_the_factor_fires_nothing() -> None:
    # 99 per 100 original on Friday 12 Sep (F = 1), 69.3 on Tuesday 16 Sep (F = 0.70): 99 per 100 outstanding
    # both days. Quoted on the remaining basis, the same numbers are a 29.7-point drop.
    snap = replay([DEAL, original("q-1", "2025-09-12", 99.0), original("q-2", "2025-09-16", 69.3)])
    assert alert(snap, "below_par", "S") is None and alert(snap, "price_drop", "S") is None
    assert snap.tranches["S"].last_quote is not None
    assert snap.tranches["S"].last_quote.clean_price == pytest.approx(99.0)
    naive = replay([DEAL, remaining("q-1", "2025-09-12", 99.0), remaining("q-2", "2025-09-16", 69.3)])
    assert {alert(naive, r, "S").severity for r in ("below_par", "price_drop")} == {"critical"}  # type: ignore[union-attr]


def test_below_par_on_an_original_face_price_judges_the_price_per_outstanding() -> None:
    # 66.5 per 100 original at F = 0.70 is 95.0 per 100 outstanding: 5 below par, critical, and the
    # mark-to-market loss is on the Rmb350mn outstanding: Rmb17.5mn.
    snap = replay([DEAL, original("q-1", "2025-10-08", 66.5)])
    found = alert(snap, "below_par", "S")
    assert found is not None and found.severity == "critical"
    ev = found.evidence
    assert (ev["price"], ev["price_basis"], ev["factor"], ev["factor_source"]) == (
        66.5,
        "original",
        0.7,
        "schedule",
    )
    assert ev["clean_price"] == pytest.approx(95.0)
    assert ev["discount"] == pytest.approx(5.0)
    assert ev["outstanding_principal"] == pytest.approx(350e6)
    assert ev["mark_to_market_loss"] == pytest.approx(17.5e6)
    assert "factor_note" not in ev
    assert found.summary == (
        "S at 95.00 (66.50 per 100 original face, factor 0.7) is 5.00 below par "
        "(Rmb17.5mn mark-to-market on Rmb350mn outstanding)"
    )


def test_no_factor_information_uses_factor_one_and_says_so() -> None:
    snap = replay([deal("d-1", "D", "2024-03-10", [BULLET]), original("q-1", "2025-10-08", 95.0)])
    found = alert(snap, "below_par", "S")
    assert found is not None
    ev = found.evidence
    assert (ev["factor"], ev["factor_source"], ev["factor_note"]) == (1.0, "schedule", NO_FACTOR)
    assert ev["clean_price"] == 95.0


def test_terms_arriving_after_the_quote_reprice_it() -> None:
    # Read before the deal, 70 per 100 original is taken at factor 1 (30 below par); the deal's schedule then
    # says F = 0.70: the quote is 100 per 100 outstanding, and nothing fires, as if the deal had come first.
    late_terms = replay([original("q-1", "2025-10-08", 70.0), DEAL])
    assert alert(late_terms, "below_par", "S") is None
    assert late_terms.tranches["S"].last_quote.clean_price == pytest.approx(100.0)  # type: ignore[union-attr]
    first_terms = replay([DEAL, original("q-1", "2025-10-08", 70.0)])
    assert alert(first_terms, "below_par", "S") is None


def test_a_report_before_its_terms_is_kept_and_gives_the_factor() -> None:
    # The trustee reports 35% repaid (factor_after 0.65) before the deal is read; 61.75 / 0.65 = 95.0.
    snap = replay([report("p-1", "2025-09-15", 0.65), original("q-1", "2025-10-08", 61.75), DEAL])
    found = alert(snap, "below_par", "S")
    assert found is not None and found.severity == "critical"
    ev = found.evidence
    assert (ev["factor"], ev["factor_source"], ev["factor_report_date"]) == (0.65, "report", "2025-09-15")
    assert ev["clean_price"] == pytest.approx(95.0)
    assert ev["outstanding_principal"] == pytest.approx(325e6)
    assert ev["ytm_pct"] > 0  # the analytics use the reported factor too


def test_a_report_lowering_the_factor_resolves_an_alert_that_only_the_schedule_made() -> None:
    # 66.5 at the schedule's 0.70 is 95 (critical); the report says 0.665 was left: 66.5 / 0.665 = 100.
    snap = replay([DEAL, original("q-1", "2025-10-08", 66.5)])
    assert alert(snap, "below_par", "S").status == "firing"  # type: ignore[union-attr]
    replay([report("p-1", "2025-09-15", 0.665, "2025-10-09T18:00:00+08:00")], snap=snap)
    found = alert(snap, "below_par", "S")
    assert found is not None and found.status == "resolved"
    assert found.ends_at == at("2025-10-09T18:00:00+08:00")


def test_a_report_without_a_factor_changes_no_price() -> None:
    snap = replay([DEAL, original("q-1", "2025-10-08", 66.5), report("p-1", "2025-09-15", None)])
    assert alert(snap, "below_par", "S").status == "firing"  # type: ignore[union-attr]
    assert list(snap.tranches["S"].reports) == ["2025-09-15"]


def test_a_report_for_a_payment_date_reported_again_replaces_it_unless_older() -> None:
    tranche = TrancheState(tranche_id="S")
    first = report("p-1", "2025-09-15", 0.70).model_dump()
    assert store_report(tranche, report_of(Distribution(**first)))
    restated = Distribution(
        **{**first, "event_id": "p-2", "factor_after": 0.69, "reported_at": at("2025-09-20")}
    )
    assert store_report(tranche, report_of(restated))
    redelivered = Distribution(**first)
    assert not store_report(tranche, report_of(redelivered))
    assert tranche.reports["2025-09-15"].factor_after == 0.69


def test_reports_are_bounded_to_the_newest_payment_dates() -> None:
    tranche = TrancheState(tranche_id="S")
    day = dt.date(2020, 1, 15)
    for i in range(MAX_REPORTS + 5):
        paid = (day + dt.timedelta(days=30 * i)).isoformat()
        assert store_report(tranche, report_of(report(f"p-{i}", paid, None)))
    assert len(tranche.reports) == MAX_REPORTS
    assert min(tranche.reports) == (day + dt.timedelta(days=30 * 5)).isoformat()
    assert not store_report(tranche, report_of(report("old", "2019-01-15", None)))
