"""stressed_collateral: below_par on a tranche and coverage_shortfall or trigger_breach on its deal at once,
whatever order the topics came in; resolution when either side stops; a report replacing one for the same
period; reports out of order; reports and quotes read before the deal; and the same alerts when each event is
its own batch loaded from a store (a quote then reads the deal's causes copied onto its tranche)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from streams.backtest.replay import run_backtest
from streams.engine.families import settle_families
from streams.model.events import Event, ServicerReport, Trigger
from streams.rules.config import CoverageShortfallConfig, TriggerBreachConfig
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from tests.unit.rules.scenario import TOPIC_OF, alert, at, deal, firing, quote, replay, severity, terms

DEAL = deal(
    "d-1",
    "METRO-24",
    "2024-01-10",
    [terms("A", issue_date="2024-01-15"), terms("B", issue_date="2024-01-15")],
)
OTHER = deal("d-2", "METRO-25", "2025-02-10", [terms("C", issue_date="2025-02-15")])
QUARTERS = {2: ("2025-04-01", "2025-06-30"), 3: ("2025-07-01", "2025-09-30")}


def servicer(
    event_id: str,
    quarter: int,
    collections: float,
    *,
    breached: bool = False,
    reported: str | None = None,
    deal_id: str = "METRO-24",
) -> ServicerReport:
    start, end = QUARTERS[quarter]
    return ServicerReport(
        event_id=event_id,
        deal_id=deal_id,
        period_start=dt.date.fromisoformat(start),
        period_end=dt.date.fromisoformat(end),
        reported_at=at(reported or f"{end[:7]}-20"),
        collections=collections,
        debt_service_due=100e6,
        triggers=[Trigger(name="dscr_below_1_1", breached=breached)],
    )


SHORT = servicer("s-1", 2, 75e6)  # 0.75x: coverage_shortfall critical (reported 2025-06-20)
BREACH = servicer("s-1", 2, 140e6, breached=True)  # covered, but a trigger breached
FINE = servicer("s-2", 3, 140e6)  # the next quarter, 1.4x, nothing breached (reported 2025-09-20)
LOW = quote("q-1", "A", "2025-08-01", 95.0)  # 5 below par: below_par critical
RECOVERED = quote("q-2", "A", "2025-10-01", 99.0)  # discount 1.0 < 1.5: below_par resolves


def stressed(events: list[Event], rules: RulesConfig | None = None, subject: str = "A") -> str | None:
    return severity(replay(events, rules), "stressed_collateral", subject)


@pytest.mark.parametrize(
    "events",
    [
        [DEAL, SHORT, LOW],
        [DEAL, LOW, SHORT],
        [SHORT, LOW, DEAL],  # report and quote before the deal: judged when it is announced
        [LOW, SHORT, DEAL],
        [SHORT, DEAL, LOW],
        [LOW, DEAL, SHORT],
    ],
)
def test_fires_critical_whatever_the_order(events: list[Event]) -> None:
    snap = replay(events)
    assert severity(snap, "stressed_collateral", "A") == "critical"
    assert severity(snap, "stressed_collateral", "B") is None  # never quoted below par


def test_a_breached_trigger_is_enough() -> None:
    assert stressed([DEAL, BREACH, LOW]) == "critical"


def test_two_warnings_make_it_critical() -> None:
    snap = replay([DEAL, servicer("s-1", 2, 110e6), quote("q-1", "A", "2025-08-01", 97.0)])
    assert severity(snap, "below_par", "A") == "warning"
    assert severity(snap, "coverage_shortfall", "METRO-24") == "warning"
    assert severity(snap, "stressed_collateral", "A") == "critical"


def test_the_summary_names_both_sides_and_starts_with_the_later_cause() -> None:
    found = alert(replay([DEAL, LOW, SHORT]), "stressed_collateral", "A")
    assert found is not None
    assert found.summary == (
        "A at 95.00 is 5.00 below par (Rmb30.0mn mark-to-market on Rmb600mn outstanding), while the "
        "collateral of METRO-24 is stressed: METRO-24: Q2 2025 collections Rmb75.0mn covered debt service "
        "Rmb100mn 0.75x (critical below 1.00x)"
    )
    assert found.starts_at == LOW.ts  # below par since 1 August, the shortfall reported on 20 June
    assert found.evidence["coverage_shortfall"]["severity"] == "critical"
    assert found.evidence["below_par"]["status"] == "firing" and found.evidence["deal_id"] == "METRO-24"


def test_resolves_when_the_price_recovers() -> None:
    assert stressed([DEAL, SHORT, LOW, RECOVERED]) == "resolved"


def test_resolves_when_the_newest_report_covers_again() -> None:
    snap = replay([DEAL, SHORT, LOW, FINE])
    assert severity(snap, "stressed_collateral", "A") == "resolved"
    assert severity(snap, "below_par", "A") == "critical"  # still below par: the deal side ended it


def test_holds_while_coverage_holds_in_its_hysteresis_band() -> None:
    band = servicer("s-2", 3, 125e6)  # 1.25x: coverage_shortfall keeps firing until 1.3x
    assert stressed([DEAL, SHORT, LOW, band]) == "critical"


def test_a_restated_period_replaces_the_first() -> None:
    restated = servicer("s-1b", 2, 140e6, reported="2025-07-25")  # Q2 again, reported later: 1.4x
    assert stressed([DEAL, SHORT, LOW, restated]) == "resolved"
    # The original redelivered after its restatement changes nothing.
    assert stressed([DEAL, restated, LOW, SHORT]) is None


def test_the_newest_period_counts_not_the_newest_arrival() -> None:
    assert stressed([DEAL, FINE, LOW, SHORT]) is None  # Q2's shortfall read after Q3 covered
    assert stressed([DEAL, servicer("s-2", 3, 75e6), LOW, servicer("s-1", 2, 140e6)]) == "critical"


def test_only_its_own_deal_counts() -> None:
    other_short = servicer("s-9", 2, 75e6, deal_id="METRO-25")
    assert stressed([DEAL, OTHER, other_short, LOW]) is None
    assert (
        stressed([DEAL, OTHER, other_short, quote("q-9", "C", "2025-08-01", 95.0)], subject="C") == "critical"
    )


def test_each_cause_rule_can_be_turned_off() -> None:
    no_coverage = RulesConfig(coverage_shortfall=CoverageShortfallConfig(enabled=False))
    assert stressed([DEAL, SHORT, LOW], no_coverage) is None
    assert stressed([DEAL, BREACH, LOW], no_coverage) == "critical"
    no_trigger = RulesConfig(trigger_breach=TriggerBreachConfig(enabled=False))
    assert stressed([DEAL, BREACH, LOW], no_trigger) is None


def test_counts_towards_family_stress() -> None:
    snap = replay([DEAL, SHORT, LOW])
    asyncio.run(settle_families(snap, MemoryStore(), None, RulesConfig()))
    marks = snap.families.stressed["wuhan-bus"]
    assert "stressed_collateral" in {mark.rule for mark in marks.values()}


def _records(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(TOPIC_OF[type(e)], e.model_dump(mode="json")) for e in events]


@pytest.mark.parametrize(
    "events",
    [
        [DEAL, SHORT, LOW],  # the quote, in its own batch, reads the deal's causes off its tranche
        [DEAL, LOW, SHORT],  # the report's batch loads the deal's tranches
        [SHORT, LOW, DEAL],
        [DEAL, SHORT, LOW, RECOVERED],
        [DEAL, SHORT, LOW, FINE],
        [DEAL, SHORT, LOW, FINE, quote("q-3", "A", "2025-10-02", 94.0)],  # below par again, deal fine
        [DEAL, FINE, LOW, SHORT, servicer("s-3", 3, 70e6, reported="2025-10-25")],  # Q3 restated short
    ],
)
def test_one_event_a_batch_from_a_store_gives_the_same_alerts(events: list[Event]) -> None:
    run = run_backtest(_records(events), RulesConfig(), batch_size=1)
    from_store = {(a.rule, fp, a.severity) for fp, a in run.firing().items()}
    assert from_store == firing(replay(events))
    assert ("stressed_collateral" in {rule for rule, _, _ in from_store}) == (
        severity(replay(events), "stressed_collateral", "A") == "critical"
    )
