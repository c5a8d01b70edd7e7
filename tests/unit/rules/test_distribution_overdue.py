"""distribution_overdue: the threshold's edge in China trading days (and configured), resolution when the
report arrives, a payment made on the business day after its date, several dates missed, reports out of
order and replaced, reports read before the deal, maturity reported, event time only; and the same alerts,
and a bounded index, when each event is its own batch loaded from a store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from streams.backtest.replay import run_backtest
from streams.model.events import Distribution, Event, TrancheTerms
from streams.rules import distribution_overdue
from streams.rules.config import DistributionOverdueConfig
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from streams.state.snapshot import Commit, load_snapshot
from tests.unit.rules.scenario import TOPIC_OF, alert, at, deal, firing, quote, replay, severity, terms


def quarterly(tranche_id: str, maturity: str = "2030-01-15") -> TrancheTerms:
    # Coupon dates 2025-04-15, 07-15, 10-15, 2026-01-15, ... to maturity.
    return terms(tranche_id, issue_date="2025-01-15", maturity_date=maturity).model_copy(
        update={"coupon_frequency": 4}
    )


DEAL = deal("d-1", "WHBUS-2025", "2025-01-10", [quarterly("A"), quarterly("S", maturity="2026-01-15")])
OTHER = deal("d-2", "METRO-25", "2025-01-10", [terms("Z")], issuer_id="wuhan-metro")


def paid(
    event_id: str, payment_date: str, reported: str | None = None, tranche_id: str = "A"
) -> Distribution:
    day = dt.date.fromisoformat(payment_date)
    return Distribution(
        event_id=event_id,
        tranche_id=tranche_id,
        payment_date=day,
        reported_at=at(f"{reported or payment_date}T18:00:00+08:00"),
        interest_due=3.9e6,
        interest_paid=3.9e6,
        principal_due=0,
        principal_paid=0,
    )


def clock(day: str, n: int = 0) -> Event:
    """A quote of another issuer's tranche: it moves the stream's event-time clock, nothing of A."""
    return quote(f"z-{day}-{n}", "Z", day, 100.0)


OCT = paid("p-oct", "2025-10-15")
JAN = paid("p-jan", "2026-01-15", "2026-01-26")


def overdue(events: list[Event], rules: RulesConfig | None = None, subject: str = "A") -> str | None:
    return severity(replay(events, rules), "distribution_overdue", subject)


def test_nothing_is_expected_before_the_first_report() -> None:
    assert overdue([DEAL, OTHER, clock("2027-06-01")]) is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-15", None),  # the payment date itself
        ("2026-01-22", None),  # 5 trading days after Thursday 15 January: not more than 5
        ("2026-01-23", "warning"),  # the 6th
        ("2026-01-24", "warning"),  # a Saturday: still the 6th
    ],
)
def test_more_than_five_china_trading_days(day: str, expected: str | None) -> None:
    assert overdue([DEAL, OTHER, OCT, clock(day)]) == expected


def test_the_threshold_is_configurable() -> None:
    rules = RulesConfig(distribution_overdue=DistributionOverdueConfig(trading_days=7))
    assert overdue([DEAL, OTHER, OCT, clock("2026-01-26")], rules) is None  # the 7th trading day
    assert overdue([DEAL, OTHER, OCT, clock("2026-01-27")], rules) == "warning"


def test_holidays_do_not_count() -> None:
    # 2025-10-15's report is in, 2026-01-15's as well; 2025-10-01 to 08 is the National Day holiday, so the
    # 2025-10-15 date is judged here on a tranche whose newest report is 2025-07-15.
    july = paid("p-jul", "2025-07-15")
    assert overdue([DEAL, OTHER, july, clock("2025-10-22")]) is None  # 16, 17, 20, 21, 22: five
    assert overdue([DEAL, OTHER, july, clock("2025-10-23")]) == "warning"
    quiet = quarterly("H", maturity="2030-10-01")  # coupon dates on 1 January, April, July and October
    holiday = deal("d-3", "HOLI-25", "2025-01-10", [quiet], issuer_id="holi")
    early = paid("p-h", "2025-07-01", tranche_id="H")
    # 1 October: trading days after it are 9, 10, 13, 14, 15 (the 1st to 8th are closed): not yet on the 15th.
    assert overdue([holiday, OTHER, early, clock("2025-10-15")], subject="H") is None
    assert overdue([holiday, OTHER, early, clock("2025-10-16")], subject="H") == "warning"


def test_the_summary_and_evidence_say_what_is_missing() -> None:
    found = alert(replay([DEAL, OTHER, OCT, clock("2026-01-26")]), "distribution_overdue", "A")
    assert found is not None and found.severity == "warning"
    assert (
        found.summary == "A: the 2026-01-15 distribution is 7 trading days overdue (last report 2025-10-15)"
    )
    assert found.evidence["payment_date_missing"] == "2026-01-15"
    assert found.evidence["trading_days_overdue"] == 7
    assert found.evidence["last_reported_payment_date"] == "2025-10-15"
    assert found.evidence["scheduled_dates_unreported"] == ["2026-01-15"]
    assert found.evidence["threshold_trading_days"] == 5
    assert found.event_time == found.starts_at == at("2026-01-26")


def test_resolves_when_the_report_arrives() -> None:
    snap = replay([DEAL, OTHER, OCT, clock("2026-01-23"), JAN])
    found = alert(snap, "distribution_overdue", "A")
    assert found is not None and found.status == "resolved"
    assert found.summary == "A: the 2026-01-15 distribution was reported on 2026-01-26"
    assert found.ends_at == JAN.reported_at
    # The next date is watched in its turn.
    assert overdue([DEAL, OTHER, OCT, clock("2026-01-23"), JAN, clock("2026-04-23")]) == "warning"


def test_a_payment_made_on_a_business_day_next_to_its_date_counts() -> None:
    after = paid("p-jan", "2026-01-16")  # paid and reported the day after the scheduled date
    before = paid("p-jan", "2026-01-14")
    assert overdue([DEAL, OTHER, OCT, after, clock("2026-02-10")]) is None
    assert overdue([DEAL, OTHER, OCT, before, clock("2026-02-10")]) is None


def test_several_dates_missed_need_the_newest() -> None:
    july = paid("p-jul", "2025-07-15")
    snap = replay([DEAL, OTHER, july, clock("2026-01-23")])
    found = alert(snap, "distribution_overdue", "A")
    assert found is not None
    assert found.summary == (
        "A: the 2026-01-15 distribution is 6 trading days overdue (last report 2025-07-15; "
        "2 scheduled distributions unreported since)"
    )
    assert found.evidence["scheduled_dates_unreported"] == ["2025-10-15", "2026-01-15"]
    assert overdue([DEAL, OTHER, july, clock("2026-01-23"), OCT]) == "warning"  # the older one alone
    assert overdue([DEAL, OTHER, july, clock("2026-01-23"), JAN]) == "resolved"  # the newest date is in


def test_reports_out_of_order_and_replaced() -> None:
    assert overdue([DEAL, OTHER, JAN, OCT, clock("2026-02-10")]) is None  # the older report read last
    restated = paid("p-oct-2", "2025-10-15", "2025-11-01")
    snap = replay([DEAL, OTHER, OCT, clock("2026-01-23"), restated])
    assert severity(snap, "distribution_overdue", "A") == "warning"  # the same date again changes nothing
    snap = replay([DEAL, OTHER, OCT, clock("2026-01-23"), JAN, paid("p-jan-2", "2026-01-15", "2026-02-01")])
    assert [n.status for n in snap.notices if n.rule == "distribution_overdue"] == ["firing", "resolved"]


@pytest.mark.parametrize(
    "events",
    [
        [OCT, OTHER, clock("2026-01-23"), DEAL],  # judged when the terms arrive, against the clock
        [OTHER, clock("2026-01-23"), OCT, DEAL],
        [OTHER, OCT, DEAL, clock("2026-01-23")],
        [DEAL, OTHER, clock("2026-01-23"), OCT],  # the first report makes it expect the next one
    ],
)
def test_reports_read_before_the_deal_and_any_order(events: list[Event]) -> None:
    assert overdue(events) == "warning"


def test_nothing_after_maturity_is_reported() -> None:
    final = paid("p-s", "2026-01-15", tranche_id="S")
    assert overdue([DEAL, OTHER, final, clock("2027-01-01")], subject="S") is None
    # Unreported, the final payment is overdue like any other.
    early = paid("p-s0", "2025-10-15", tranche_id="S")
    assert overdue([DEAL, OTHER, early, clock("2027-01-01")], subject="S") == "warning"


def test_event_time_only() -> None:
    # A report stamped late moves no clock: the clock is the newest quote (20 January, 3 trading days).
    late_oct = paid("p-oct", "2025-10-15", "2026-03-01")
    assert overdue([DEAL, OTHER, clock("2026-01-20"), late_oct]) is None


def test_disabled_it_judges_nothing() -> None:
    rules = RulesConfig(distribution_overdue=DistributionOverdueConfig(enabled=False))
    assert overdue([DEAL, OTHER, OCT, clock("2026-01-23")], rules) is None


def _records(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(TOPIC_OF[type(e)], e.model_dump(mode="json")) for e in events]


@pytest.mark.parametrize(
    "events",
    [
        [
            DEAL,
            OTHER,
            OCT,
            clock("2026-01-22"),
            clock("2026-01-23"),
        ],  # the clock's batch loads A from the index
        [DEAL, OTHER, clock("2026-01-23"), OCT],  # the report's batch judges against the loaded clock
        [OCT, OTHER, clock("2026-01-23"), DEAL],  # the deal's batch too
        [DEAL, OTHER, OCT, clock("2026-01-23"), JAN, clock("2026-04-23")],
        [DEAL, OTHER, OCT, paid("p-s", "2026-01-15", tranche_id="S"), clock("2026-06-01")],
    ],
)
def test_one_event_a_batch_from_a_store_gives_the_same_alerts(events: list[Event]) -> None:
    run = run_backtest(_records(events), RulesConfig(), batch_size=1)
    from_store = {(a.rule, fp, a.severity) for fp, a in run.firing().items()}
    assert from_store == firing(replay(events))


def _midnight(day: str) -> dt.datetime:
    return distribution_overdue.midnight(dt.date.fromisoformat(day))


def test_the_index_holds_tranches_with_a_payment_still_to_report() -> None:
    records: list[Event] = [DEAL, OTHER, OCT, paid("p-s", "2026-01-15", tranche_id="S"), clock("2026-01-20")]
    run = run_backtest(_records(records), RulesConfig(), batch_size=1)
    # A is due on 15 January; S reported its maturity and expects nothing; Z has no report.
    assert run.store.overdue == {"A": _midnight("2026-01-15")}
    run = run_backtest(_records([*records, clock("2026-01-23")]), RulesConfig(), batch_size=1)
    assert run.store.overdue == {}  # A is overdue: its alert is on its document, not in the index
    run = run_backtest(_records([*records, clock("2026-01-23"), JAN]), RulesConfig(), batch_size=1)
    assert run.store.overdue == {"A": _midnight("2026-04-15")}
    off = RulesConfig(distribution_overdue=DistributionOverdueConfig(enabled=False))
    assert run_backtest(_records(records), off, batch_size=1).store.overdue == {}


async def test_a_commit_that_did_not_judge_an_overdue_tranche_is_refused() -> None:
    """Another worker filed A before this batch's clock made it overdue: the batch must be judged again."""
    store = MemoryStore()
    cfg = RulesConfig().distribution_overdue
    snap = await load_snapshot(store, [clock("2026-01-23")], overdue=cfg)
    store.overdue["A"] = _midnight("2026-01-15")  # filed meanwhile, not loaded by this batch
    snap.clock = at("2026-01-23")
    assert not await store.commit(snap.to_commit())
    # A batch that files a tranche the stored clock has already made overdue is refused too.
    store = MemoryStore()
    store.event_clock = at("2026-01-23")
    commit = Commit({}, {}, [], [], overdue={"A": _midnight("2026-01-15")})
    commit.filed_overdue_from = distribution_overdue.overdue_from(dt.date(2026, 1, 15), cfg)
    assert not await store.commit(commit)
    assert distribution_overdue.overdue_from(dt.date(2026, 1, 15), cfg) == _midnight("2026-01-23")


def test_a_retired_tranche_resolves_and_leaves_the_index() -> None:
    """S matures 2026-01-15 without its final report: overdue, until it retires 30 days after maturity."""
    early = paid("p-s0", "2025-10-15", tranche_id="S")
    events: list[Event] = [DEAL, OTHER, early, clock("2026-01-23")]
    run = run_backtest(_records(events), RulesConfig(), batch_size=1)
    assert {a.rule for a in run.firing().values()} == {"distribution_overdue"}
    assert run.store.overdue == {}  # S is overdue (its alert on its document); A has no report
    run = run_backtest(_records([*events, clock("2026-02-16")]), RulesConfig(), batch_size=1)
    notices = [n for n in run.notices if n.rule == "distribution_overdue" and n.subject.tranche_id == "S"]
    assert [n.status for n in notices] == ["firing", "resolved"]
    assert notices[-1].summary == "S retired: matured 2026-01-15"
    assert run.store.overdue == {} and run.tranches()["S"].retired is not None
