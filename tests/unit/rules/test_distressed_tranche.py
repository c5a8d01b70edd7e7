"""distressed_tranche: both alerts at once in either order, and resolution when either resolves."""

from __future__ import annotations

import pytest

from streams.model.events import Event
from streams.rules.config import BelowParConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, deal, financials, quote, replay, severity, terms

DEAL = deal("d-1", "WHBUS-2025", "2025-01-10", [terms("A")])
FY24 = financials("f-1", "2024-01-01", "2024-12-31", -13e6, "2025-04-28")
H125 = financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30")
Q95 = quote("q-1", "A", "2025-09-01", 95.0)
Q97 = quote("q-1", "A", "2025-09-01", 97.0)


@pytest.mark.parametrize(
    "events",
    [[DEAL, FY24, H125, Q95], [DEAL, Q95, FY24, H125], [Q95, FY24, H125, DEAL], [FY24, Q95, H125, DEAL]],
)
def test_fires_critical_whatever_the_order(events: list[Event]) -> None:
    assert severity(replay(events), "distressed_tranche", "A") == "critical"


def test_fires_critical_on_two_warnings() -> None:
    mild = financials("f-2", "2025-01-01", "2025-06-30", -40e6, "2025-08-30")  # ~6.2x annualised
    snap = replay([DEAL, FY24, mild, Q97])
    assert severity(snap, "below_par", "A") == "warning"
    assert severity(snap, "issuer_loss_widening", "wuhan-bus") == "warning"
    assert severity(snap, "distressed_tranche", "A") == "critical"


def test_resolves_when_the_price_recovers() -> None:
    snap = replay([DEAL, FY24, H125, Q95, quote("q-2", "A", "2025-09-02", 99.0)])
    assert severity(snap, "distressed_tranche", "A") == "resolved"


def test_resolves_when_the_issuer_returns_to_profit() -> None:
    profit = financials("f-3", "2025-07-01", "2025-09-30", 5e6, "2025-10-30")
    snap = replay([DEAL, FY24, H125, Q95, profit])
    assert severity(snap, "distressed_tranche", "A") == "resolved"


def test_nothing_without_below_par() -> None:
    rules = RulesConfig(below_par=BelowParConfig(enabled=False))
    assert severity(replay([DEAL, FY24, H125, Q95], rules), "distressed_tranche", "A") is None


@pytest.mark.parametrize(
    "events", [[DEAL, FY24, H125, Q95], [DEAL, Q95, FY24, H125], [H125, FY24, DEAL, Q95]]
)
def test_starts_when_the_later_cause_started_whatever_was_read_first(events: list[Event]) -> None:
    early_quote = quote("q-0", "A", "2025-07-01", 95.0)  # below par before the loss was reported
    found = alert(replay([early_quote, *events]), "distressed_tranche", "A")
    assert found is not None
    assert found.starts_at == found.event_time == H125.reported_at
