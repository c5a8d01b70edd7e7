"""The labels routes match on, from the state: a subject's family root and the portfolios holding it."""

from __future__ import annotations

import asyncio

from alerts.core.model import Alert, Subject
from streams.model.positions import Positions, parse_positions
from streams.state.labels import ROOT_TTL_SECONDS, StateLabels
from streams.state.memory_store import MemoryStore
from streams.state.snapshot import Snapshot
from tests.support.alerts import an_alert
from tests.unit.rules.scenario import deal, entity, replay, terms

POSITIONS = parse_positions(
    "portfolio,tranche_id,holding_face\nfund-b,T-1,20000000\nfund-a,T-1,50000000\nfund-a,T-2,1\nfund-c,T-1,0\n"
)


def _store() -> MemoryStore:
    snap = replay(
        [
            entity("e-1", "wuhan-gov", "hubei-gov", kind="government"),
            entity("e-2", "wuhan-bus", "wuhan-gov"),
            entity("e-3", "hubei-gov", "wuhan-bus"),  # a cycle: stops before the repeat
            deal("d-1", "D-1", "2025-01-10", [terms("T-1"), terms("T-2")]),
            deal("d-2", "D-2", "2025-01-10", [terms("T-3")], issuer_id="lonely"),
        ],
        snap=Snapshot(),
    )
    store = MemoryStore()
    commit = snap.to_commit()
    asyncio.run(store.commit(commit))
    return store


def _labels(source: StateLabels, subject: Subject) -> dict[str, str]:
    alert: Alert = an_alert().model_copy(update={"subject": subject})
    return asyncio.run(source.labels(alert))


def test_family_and_every_holding_portfolio_joined() -> None:
    current: list[Positions | None] = [POSITIONS]
    source = StateLabels(_store(), lambda: current[0])
    tranche = _labels(source, Subject(tranche_id="T-1", issuer_id="wuhan-bus", deal_id="D-1"))
    assert tranche["family"] == "hubei-gov" and tranche["portfolio"] == "fund-a,fund-b"  # fund-c: zero
    assert tranche["province"] == "Hubei"
    assert _labels(source, Subject(deal_id="D-1", issuer_id="wuhan-bus"))["portfolio"] == "fund-a,fund-b"
    assert _labels(source, Subject(issuer_id="wuhan-bus"))["portfolio"] == "fund-a,fund-b"
    # family_stress: the portfolios holding any tranche of the family's issuers.
    family = _labels(source, Subject(entity_id="hubei-gov"))
    assert family["family"] == "hubei-gov" and family["portfolio"] == "fund-a,fund-b"
    assert "portfolio" not in _labels(source, Subject(entity_id="lonely"))
    assert "portfolio" not in _labels(source, Subject(year=2025))
    lonely = _labels(source, Subject(tranche_id="T-3", issuer_id="lonely", deal_id="D-2"))
    assert lonely["family"] == "lonely" and "portfolio" not in lonely  # no entity record: its own root
    current[0] = parse_positions("portfolio,tranche_id,holding_face\nfund-z,T-3,5\n")  # a reload
    assert (
        _labels(source, Subject(tranche_id="T-3", issuer_id="lonely", deal_id="D-2"))["portfolio"] == "fund-z"
    )
    current[0] = None
    assert "portfolio" not in _labels(source, Subject(tranche_id="T-1", issuer_id="wuhan-bus", deal_id="D-1"))


def test_a_family_root_is_read_again_after_its_ttl() -> None:
    store, now = _store(), [0.0]
    source = StateLabels(store, clock=lambda: now[0])
    assert asyncio.run(source.family_root("wuhan-bus")) == "hubei-gov"
    store.documents.clear()  # re-parented (here: every record gone)
    assert asyncio.run(source.family_root("wuhan-bus")) == "hubei-gov"  # cached
    now[0] = ROOT_TTL_SECONDS + 1
    assert asyncio.run(source.family_root("wuhan-bus")) == "wuhan-bus"
