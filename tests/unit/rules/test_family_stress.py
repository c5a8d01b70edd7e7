"""family_stress: distinct stressed issuers of one credit family (edges, re-parenting, orders, batches)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from streams.engine.families import settle_families
from streams.model.events import Event
from streams.rules import family_stress
from streams.rules.registry import RulesConfig
from streams.state.keys import FAMILIES_KEY
from streams.state.memory_store import MemoryStore
from streams.state.snapshot import Snapshot
from tests.unit.rules.scenario import alert, deal, entity, financials, firing, quote, replay, severity, terms

HUBEI = [
    entity("e-hubei", "hubei-gov", None, kind="government"),
    entity("e-wuhan", "wuhan-gov", "hubei-gov", kind="government"),
    entity("e-bus", "wuhan-bus", "wuhan-gov"),
    entity("e-hongshan", "hongshan", "wuhan-gov", kind="government"),
    entity("e-tower", "hongshan-tower", "hongshan"),
    entity("e-metro", "wuhan-metro", "wuhan-gov"),
    entity("e-other", "other-co", "other-gov"),
]


def issuer(name: str) -> list[Event]:
    """A deal of `name` with one tranche, announced before its quotes."""
    return [deal(f"d-{name}", f"D-{name}", "2025-01-10", [terms(f"T-{name}")], issuer_id=name)]


def below(name: str, n: int, price: float = 90.0) -> Event:
    return quote(f"q-{name}-{n}", f"T-{name}", f"2025-09-0{n}", price)


def settle(snap: Snapshot, rules: RulesConfig | None = None) -> Snapshot:
    asyncio.run(settle_families(snap, MemoryStore(), None, rules or RulesConfig()))
    return snap


def run(events: list[Event], rules: RulesConfig | None = None, *, each: bool = True) -> Snapshot:
    """Events applied one by one, family_stress settled after each (batches of one) or only at the end."""
    snap = Snapshot()
    for event in events:
        replay([event], rules, snap)
        if each:
            settle(snap, rules)
    return settle(snap, rules)


STRESSED = [*HUBEI, *issuer("wuhan-bus"), *issuer("hongshan-tower"), *issuer("wuhan-metro")]


def test_one_stressed_issuer_is_not_a_family_in_trouble() -> None:
    snap = run([*STRESSED, below("wuhan-bus", 1)])
    assert severity(snap, "family_stress", "hubei-gov") is None
    assert set(snap.families.stressed) == {"wuhan-bus"}


def test_two_issuers_warn_three_are_critical_and_fewer_than_two_resolve() -> None:
    snap = run([*STRESSED, below("wuhan-bus", 1), below("hongshan-tower", 1)])
    assert severity(snap, "family_stress", "hubei-gov") == "warning"
    replay([below("wuhan-metro", 2)], snap=snap)
    settle(snap)
    found = alert(snap, "family_stress", "hubei-gov")
    assert found is not None and found.severity == "critical" and found.subject.entity_id == "hubei-gov"
    assert found.evidence["issuers"] == 3
    assert found.evidence["stressed"]["hongshan-tower"]["chain"] == [
        "hongshan-tower",
        "hongshan",
        "wuhan-gov",
        "hubei-gov",
    ]
    assert found.summary.startswith("3 issuers of the hubei-gov family have critical alerts")
    # Back to par one by one: still critical at two (no step down while firing), resolved at one.
    replay([below("wuhan-metro", 3, 100.0)], snap=snap)
    settle(snap)
    assert severity(snap, "family_stress", "hubei-gov") == "critical"
    replay([below("hongshan-tower", 3, 100.0)], snap=snap)
    settle(snap)
    assert severity(snap, "family_stress", "hubei-gov") == "resolved"
    assert FAMILIES_KEY in snap.dirty


@pytest.mark.parametrize("each", [True, False])
def test_it_fires_when_the_second_issuer_turned_critical_not_when_it_first_warned(each: bool) -> None:
    # The tower's notes warn below par on 2 September and fall to critical on 3 September; the bus company has
    # been critical since 1 September. The family has two stressed issuers from the 3rd, however batched.
    events = [*STRESSED, below("wuhan-bus", 1), below("hongshan-tower", 2, 97.0), below("hongshan-tower", 3)]
    snap = run(events, each=each)
    found = alert(snap, "family_stress", "hubei-gov")
    assert found is not None and found.severity == "warning"
    assert found.starts_at.date().isoformat() == "2025-09-03"
    (mark,) = found.evidence["stressed"]["hongshan-tower"]["alerts"]
    assert (mark["starts_at"][:10], mark["critical_since"][:10]) == ("2025-09-02", "2025-09-03")


def test_reconciling_unchanged_marks_leaves_the_document_as_loaded() -> None:
    # A counted rule's warning on a tranche that already has critical marks re-reconciles that tranche's
    # marks: the families document must come out byte for byte as loaded, since nothing touches it.
    snap = run(
        [*STRESSED, below("wuhan-bus", 1), financials("f-1", "2024-01-01", "2024-12-31", -13e6, "2025-04-28")]
    )
    replay([financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30")], snap=snap)
    settle(snap)
    state = snap.families
    assert len(state.stressed["wuhan-bus"]) == 3  # below_par, then issuer_loss_widening, distressed_tranche
    first_doc = next(iter(state.stressed["wuhan-bus"].values())).doc
    as_loaded = state.model_dump_json()
    held = {fp: m for fp, m in state.stressed["wuhan-bus"].items() if m.doc == first_doc}
    assert not family_stress.reconcile(state, first_doc, "wuhan-bus", held)
    assert state.model_dump_json() == as_loaded


def test_one_issuer_with_many_alerts_counts_once() -> None:
    events = [
        *STRESSED,
        deal("d-bus-2", "D-bus-2", "2025-01-11", [terms("T-bus-2")], issuer_id="wuhan-bus"),
        below("wuhan-bus", 1),
        quote("q-bus2", "T-bus-2", "2025-09-01", 90.0),
        financials("f-1", "2024-01-01", "2024-12-31", -13e6, "2025-04-28"),
        financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30"),
    ]
    snap = run(events)
    assert len(snap.families.stressed["wuhan-bus"]) >= 3  # below_par twice, loss widening, distressed
    assert severity(snap, "family_stress", "hubei-gov") is None


def test_warning_alerts_do_not_count() -> None:
    snap = run([*STRESSED, below("wuhan-bus", 1, 97.0), below("hongshan-tower", 1, 97.0)])
    assert snap.families.stressed == {}
    assert severity(snap, "family_stress", "hubei-gov") is None


def test_issuers_without_records_are_their_own_families() -> None:
    snap = run([*issuer("lonely-a"), *issuer("lonely-b"), below("lonely-a", 1), below("lonely-b", 1)])
    assert set(snap.families.stressed) == {"lonely-a", "lonely-b"}
    assert not any(
        a.rule == "family_stress"
        for a in (x for b in snap.families.records.values() for x in b.alerts.values())
    )


def test_re_parenting_moves_the_issuer_and_the_alert_follows() -> None:
    events = [
        *STRESSED,
        *issuer("other-co"),
        below("wuhan-bus", 1),
        below("hongshan-tower", 1),
        below("other-co", 1),
    ]
    snap = run(events)
    assert severity(snap, "family_stress", "hubei-gov") == "warning"
    # The tower's district is handed to another government: the Hubei family is down to one issuer.
    replay([entity("e-hongshan-2", "hongshan", "other-gov", "2025-10-01", kind="government")], snap=snap)
    settle(snap)
    assert severity(snap, "family_stress", "hubei-gov") == "resolved"
    assert severity(snap, "family_stress", "other-gov") == "warning"


def test_a_cycle_of_parents_is_judged_safely() -> None:
    events = [
        entity("e-a", "a-co", "b-co"),
        entity("e-b", "b-co", "a-co"),
        *issuer("a-co"),
        *issuer("b-co"),
        below("a-co", 1),
        below("b-co", 1),
    ]
    snap = run(events)
    # a-co's root is b-co and b-co's is a-co: two families of one stressed issuer each.
    assert severity(snap, "family_stress", "a-co") is None and severity(snap, "family_stress", "b-co") is None


def test_a_tranche_quoted_before_its_deal_counts_once_the_deal_names_its_issuer() -> None:
    snap = run(
        [
            *HUBEI,
            below("wuhan-bus", 1),
            below("hongshan-tower", 1),
            *issuer("wuhan-bus"),
            *issuer("hongshan-tower"),
        ]
    )
    assert set(snap.families.stressed) == {"wuhan-bus", "hongshan-tower"}
    assert severity(snap, "family_stress", "hubei-gov") == "warning"


def test_disabled_it_loads_and_judges_nothing() -> None:
    rules = RulesConfig.model_validate({"family_stress": {"enabled": False}})
    snap = run([*STRESSED, below("wuhan-bus", 1), below("hongshan-tower", 1)], rules)
    assert snap.families.stressed == {} and FAMILIES_KEY not in snap.versions


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="critical_issuers"):
        RulesConfig.model_validate({"family_stress": {"warning_issuers": 3, "critical_issuers": 2}})


@pytest.mark.parametrize("seed", range(4))
def test_the_firing_set_is_the_same_in_any_topic_order_and_batching(seed: int) -> None:
    entities: list[Event] = list(HUBEI)
    deals = [*issuer("wuhan-bus"), *issuer("hongshan-tower"), *issuer("wuhan-metro")]
    quotes = [below("wuhan-bus", 1), below("hongshan-tower", 1), below("wuhan-metro", 1)]
    orders: list[tuple[list[Event], ...]] = list(itertools.permutations([entities, deals, quotes]))
    first, second = orders[seed % len(orders)], orders[(seed + 3) % len(orders)]
    a = run([e for part in first for e in part], each=True)
    b = run([e for part in second for e in part], each=False)
    assert firing(a) == firing(b)
    assert ("family_stress", alert(a, "family_stress", "hubei-gov").fingerprint, "critical") in firing(a)  # type: ignore[union-attr]
