"""issuing_into_weakness: the issuer as it stood, in event time, when the deal was announced."""

from __future__ import annotations

from streams.model.events import Event
from tests.unit.rules.scenario import deal, financials, quote, replay, severity, terms

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
