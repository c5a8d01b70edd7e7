"""issuing_into_weakness: the issuer as it stood, in event time, when the deal was announced."""

from __future__ import annotations

import datetime as dt

from streams.backtest.replay import run_backtest
from streams.model.events import Event, ServicerReport, Trigger
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import TOPIC_OF, alert, at, deal, financials, quote, replay, severity, terms

FIRST = deal("d-1", "WHBUS-2025", "2025-01-10", [terms("A")])
SECOND = deal("d-2", "WHBUS-2025-2", "2025-09-10", [terms("B", 400e6, issue_date="2025-09-15")])
FY24 = financials("f-1", "2024-01-01", "2024-12-31", -13e6, "2025-04-28")
H125 = financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30")


def _second(*before: Event) -> str | None:
    return severity(replay([FIRST, *before, SECOND]), "issuing_into_weakness", "WHBUS-2025-2")


def test_a_healthy_issuer_raises_nothing() -> None:
    assert _second(quote("q-1", "A", "2025-09-01", 99.5)) is None


def test_a_widening_loss_alone_is_enough() -> None:
    assert _second(FY24, H125) == "warning"


def test_a_tranche_below_par_alone_is_enough() -> None:
    assert _second(quote("q-1", "A", "2025-09-01", 97.0)) == "warning"


def test_weakness_stamped_after_the_announcement_does_not_count_even_if_read_first() -> None:
    assert _second(quote("q-1", "A", "2025-09-11", 90.0)) is None
    late_report = financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-09-11")
    assert _second(FY24, late_report) is None


def test_weakness_that_ended_after_the_announcement_still_counts() -> None:
    fell, recovered = quote("q-1", "A", "2025-09-01", 97.0), quote("q-2", "A", "2025-09-12", 99.9)
    assert _second(fell, recovered) == "warning"


def test_the_deals_own_tranches_do_not_count() -> None:
    own = quote("q-1", "B", "2025-09-01", 90.0)  # grey-market quote of the new tranche itself
    assert _second(own) is None


def test_a_re_announcement_does_not_repeat_the_notice() -> None:
    again = SECOND.model_copy(update={"event_id": "d-2b"})
    snap = replay([FIRST, FY24, H125, SECOND, again])
    assert [n.rule for n in snap.notices].count("issuing_into_weakness") == 1
    assert severity(snap, "issuing_into_weakness", "WHBUS-2025-2") == "warning"


def _servicer(
    event_id: str, deal_id: str, collections: float, reported: str, *, breached: bool = False
) -> ServicerReport:
    return ServicerReport(
        event_id=event_id,
        deal_id=deal_id,
        period_start=dt.date(2025, 4, 1),
        period_end=dt.date(2025, 6, 30),
        reported_at=at(reported),
        collections=collections,
        debt_service_due=100e6,
        triggers=[Trigger(name="dscr_below_1_1", breached=breached)],
    )


def test_a_coverage_shortfall_on_an_earlier_deal_is_enough() -> None:
    snap = replay([FIRST, _servicer("s-1", "WHBUS-2025", 75e6, "2025-07-20"), SECOND])
    found = alert(snap, "issuing_into_weakness", "WHBUS-2025-2")
    assert found is not None and found.severity == "warning"
    assert found.summary.endswith("while WHBUS-2025 had a coverage shortfall")
    assert set(found.evidence["coverage_shortfall"]) == {"WHBUS-2025"}


def test_a_breached_trigger_on_an_earlier_deal_is_enough() -> None:
    breach = _servicer("s-1", "WHBUS-2025", 140e6, "2025-07-20", breached=True)
    assert _second(breach) == "warning"
    found = alert(replay([FIRST, breach, SECOND]), "issuing_into_weakness", "WHBUS-2025-2")
    assert found is not None and found.summary.endswith("while WHBUS-2025 had a trigger breached")


def test_collateral_reported_after_the_announcement_or_on_the_deal_itself_does_not_count() -> None:
    assert _second(_servicer("s-1", "WHBUS-2025", 75e6, "2025-09-11")) is None  # read first, stamped after
    assert _second(_servicer("s-1", "WHBUS-2025-2", 75e6, "2025-07-20")) is None  # the new deal's own
    assert _second(_servicer("s-1", "OTHER-24", 75e6, "2025-07-20")) is None  # a deal never announced


def test_the_issuers_other_deals_are_loaded_when_each_event_is_its_own_batch() -> None:
    events: list[Event] = [FIRST, _servicer("s-1", "WHBUS-2025", 75e6, "2025-07-20"), SECOND]
    records = [(TOPIC_OF[type(e)], e.model_dump(mode="json")) for e in events]
    run = run_backtest(records, RulesConfig(), batch_size=1)
    assert {a.rule for a in run.firing().values()} == {"coverage_shortfall", "issuing_into_weakness"}
