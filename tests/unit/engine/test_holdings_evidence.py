"""Holdings in alert evidence: added when an alert changes, by the portfolios holding its subject; never a
reason to change (no new fingerprint, no notice on a positions reload)."""

from __future__ import annotations

from streams.model.events import Event
from streams.model.positions import parse_positions
from streams.state.snapshot import Snapshot
from tests.unit.rules.scenario import all_alerts, deal, financials, quote, replay, terms

POSITIONS = parse_positions(
    "portfolio,tranche_id,holding_face\n"
    "fund-a,T-1,50000000\n"
    "fund-b,T-1,20000000\n"
    "fund-b,T-2,10000000\n"
    "fund-c,T-2,0\n"
)
EVENTS: list[Event] = [
    deal("d-1", "D-1", "2025-01-10", [terms("T-1"), terms("T-2", 400e6)]),
    financials("f-1", "2024-01-01", "2024-06-30", 10e6, "2024-08-30"),
    financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30"),
    quote("q-1", "T-1", "2025-09-01", 94.0),
]


def _by_rule(snap: Snapshot) -> dict[str, dict[str, object]]:
    return {a.rule: a.evidence for a in snap.notices}


def test_evidence_names_what_each_portfolio_holds_of_the_subject() -> None:
    snap = Snapshot(positions=POSITIONS)
    replay(EVENTS, snap=snap)
    evidence = _by_rule(snap)
    assert evidence["below_par"]["holdings"] == {"fund-a": 50e6, "fund-b": 20e6}
    assert evidence["distressed_tranche"]["holdings"] == {"fund-a": 50e6, "fund-b": 20e6}
    # An issuer's alert: every tranche of the issuer, summed by portfolio (fund-c holds zero: left out).
    assert evidence["issuer_loss_widening"]["holdings"] == {"fund-a": 50e6, "fund-b": 30e6}
    stored = next(a for a in all_alerts(snap) if a.rule == "below_par")
    assert stored.evidence["holdings"] == {"fund-a": 50e6, "fund-b": 20e6}  # the state carries it too


def test_same_fingerprints_and_no_holdings_key_without_positions() -> None:
    held, plain = Snapshot(positions=POSITIONS), Snapshot()
    replay(EVENTS, snap=held)
    replay(EVENTS, snap=plain)
    assert [(a.fingerprint, a.seq) for a in held.notices] == [(a.fingerprint, a.seq) for a in plain.notices]
    assert all("holdings" not in a.evidence for a in plain.notices)
    nobody = Snapshot(positions=parse_positions("portfolio,tranche_id,holding_face\nfund-a,OTHER,5\n"))
    replay(EVENTS, snap=nobody)
    assert all("holdings" not in a.evidence for a in nobody.notices)  # held by nobody: no key


def test_new_positions_alone_emit_nothing_and_the_next_change_carries_them() -> None:
    snap = Snapshot(positions=POSITIONS)
    replay(EVENTS, snap=snap)
    snap.notices.clear()
    snap.positions = parse_positions("portfolio,tranche_id,holding_face\nfund-d,T-1,1000\n")  # a reload
    replay([quote("q-2", "T-1", "2025-09-02", 93.9)], snap=snap)  # same severity: nothing to say
    assert snap.notices == []
    replay([quote("q-3", "T-1", "2025-09-03", 99.5)], snap=snap)  # below_par resolves
    resolved = {a.rule: a for a in snap.notices}["below_par"]
    assert resolved.status == "resolved" and resolved.evidence["holdings"] == {"fund-d": 1000.0}
