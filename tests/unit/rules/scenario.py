"""Builders for events and an in-memory replay: a Snapshot fed event by event, as the worker would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from alerts.core.model import Alert
from streams.engine.apply import apply_event
from streams.model.events import (
    Deal,
    Distribution,
    Entity,
    EntityKind,
    Event,
    Financials,
    Quote,
    Rating,
    ServicerReport,
    TrancheTerms,
)
from streams.rules.registry import RulesConfig
from streams.state.snapshot import Snapshot

TOPIC_OF = {
    Quote: "bond.quotes",
    Deal: "abs.deals",
    Financials: "issuer.financials",
    Distribution: "abs.distributions",
    ServicerReport: "abs.servicer_reports",
    Rating: "abs.ratings",
    Entity: "abs.entities",
}


def at(when: str) -> dt.datetime:
    """'2025-09-01' is 09:30 China time that day; a full ISO string is taken as it is."""
    return dt.datetime.fromisoformat(when if "T" in when else f"{when}T09:30:00+08:00")


def quote(event_id: str, tranche_id: str, when: str, price: float) -> Quote:
    return Quote(event_id=event_id, tranche_id=tranche_id, ts=at(when), price=price)


def terms(
    tranche_id: str,
    face_value: float = 600e6,
    coupon_pct: float = 2.6,
    issue_date: str = "2025-01-15",
    maturity_date: str = "2035-01-15",
) -> TrancheTerms:
    return TrancheTerms(
        tranche_id=tranche_id,
        face_value=face_value,
        coupon_pct=coupon_pct,
        issue_date=dt.date.fromisoformat(issue_date),
        maturity_date=dt.date.fromisoformat(maturity_date),
    )


def deal(
    event_id: str,
    deal_id: str,
    when: str,
    tranches: list[TrancheTerms],
    issuer_id: str = "wuhan-bus",
    programme_id: str | None = "WHBUS-PROG",
) -> Deal:
    return Deal(
        event_id=event_id,
        deal_id=deal_id,
        issuer_id=issuer_id,
        issuer_name="Wuhan Public Transport Group" if issuer_id == "wuhan-bus" else issuer_id,
        province="Hubei",
        city="Wuhan",
        announced_at=at(when),
        programme_id=programme_id,
        programme_size=4e9 if programme_id else None,
        asset_type="transport_revenue",
        tranches=tranches,
    )


def financials(
    event_id: str, start: str, end: str, net_income: float, reported: str, issuer_id: str = "wuhan-bus"
) -> Financials:
    return Financials(
        event_id=event_id,
        issuer_id=issuer_id,
        period_start=dt.date.fromisoformat(start),
        period_end=dt.date.fromisoformat(end),
        net_income=net_income,
        reported_at=at(reported),
    )


def entity(
    event_id: str,
    entity_id: str,
    parent_id: str | None,
    when: str = "2025-01-01",
    kind: EntityKind = "lgfv",
) -> Entity:
    return Entity(event_id=event_id, entity_id=entity_id, kind=kind, parent_id=parent_id, updated_at=at(when))


def replay(
    events: Iterable[Event], rules: RulesConfig | None = None, snap: Snapshot | None = None
) -> Snapshot:
    snap = snap if snap is not None else Snapshot()
    for event in events:
        apply_event(snap, TOPIC_OF[type(event)], event, rules or RulesConfig())
    return snap


def all_alerts(snap: Snapshot) -> list[Alert]:
    docs = [
        *snap.tranches.values(),
        *snap.issuers.values(),
        *snap.deals.values(),
        *snap.market.records.values(),
        *snap.families.records.values(),
    ]
    return [alert for doc in docs for alert in doc.alerts.values()]


def firing(snap: Snapshot, *, exclude: frozenset[str] = frozenset()) -> set[tuple[str, str, str]]:
    """The firing set: (rule, fingerprint, severity) of every alert firing now."""
    return {
        (a.rule, a.fingerprint, a.severity)
        for a in all_alerts(snap)
        if a.status == "firing" and a.rule not in exclude
    }


def alert(snap: Snapshot, rule: str, subject: str) -> Alert | None:
    """The alert of `rule` whose subject id (tranche, deal, issuer or year) is `subject`."""
    for a in all_alerts(snap):
        s = a.subject
        if (
            a.rule == rule
            and (s.tranche_id or s.deal_id or s.issuer_id or s.entity_id or str(s.year)) == subject
        ):
            return a
    return None


def severity(snap: Snapshot, rule: str, subject: str) -> str | None:
    """The severity if firing, 'resolved', or None when the rule never fired on the subject."""
    found = alert(snap, rule, subject)
    if found is None:
        return None
    return found.severity if found.status == "firing" else "resolved"
