"""Retires matured tranches, so that the state of a service running for years is O(tranches + retention).

When the event-time clock (the newest quote time, stale_quote's clock) reaches midnight, China time, of a
tranche's maturity date plus the grace (TRANCHEWATCH_RETIRE_AFTER_DAYS; streams/model/retirement.py), on the
first quote that moves it there:

- every alert firing on the tranche resolves through the normal lifecycle (a notice in the outbox, so each
  sink hears of it once), summary "<tranche> retired: matured <date>", event time the retirement instant;
  anti-noise does not hold it (there will be no later verdict to release it);
- the document becomes a tombstone: its ids, currency, newest quote and `retired` (the maturity and the
  instant), without terms, price windows, latches, reports, ratings or alerts; the API still serves it;
- stale_quote's index and the index of outstanding tranches forget it, its issuer drops it from
  `tranche_ids`, and the commit deletes its price history (`prices:<id>`);
- once the deal's last tranche retires, the deal is compacted too: its firing alerts resolve the same way and
  its servicer reports go; its terms stay for the API. Issuers stay (they outlive deals), without the retired
  tranches and deals in `tranche_ids` and `deal_ids`, so that an issuer of many years loads only what is live.

Nothing brings a tombstone back. A quote for a retired tranche is dead-lettered as `after_maturity` (it
settles after the maturity, as before); a distribution report or rating for it, a servicer report or deal
for a retired deal, as `retired` (`refusal`). A deal announced again with some tranches retired keeps them
retired. All of this is a function of event time and each event's order, so a replay or backtest retires the
same tranches with the same notices.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from alerts.core.lifecycle import transition
from alerts.core.model import Resolve
from streams.engine.quote_checks import AFTER_MATURITY, Refused
from streams.model import retirement
from streams.model.events import Deal, Distribution, Event, Quote, Rating, ServicerReport
from streams.model.state import DealState, Retirement, TrancheState, _Doc
from streams.rules import due_index
from streams.rules.family_stress import COUNTED
from streams.state.keys import DocKey, deal_key, issuer_key, tranche_key
from streams.state.snapshot import Snapshot

RETIRED: Final = "retired"  # the dead-letter kind of an event about a retired tranche or deal


def retire_due(snap: Snapshot) -> None:
    """Retires the loaded tranches whose maturity + grace the snapshot's clock has reached."""
    grace, clock = snap.retire_after, snap.clock
    if grace is None or clock is None or not snap.maturing.entries:
        return
    for tranche_id in retirement.due(snap.maturing, clock, grace):
        tranche = snap.tranches.get(tranche_id)
        if tranche is not None and tranche.retired is None and tranche.terms is not None:
            retire_tranche(snap, tranche, grace, clock)


def retire_tranche(snap: Snapshot, tranche: TrancheState, grace: dt.timedelta, clock: dt.datetime) -> None:
    assert tranche.terms is not None
    tranche_id, maturity = tranche.tranche_id, tranche.terms.maturity_date
    at = retirement.retires_at(maturity, grace)
    reason = f"retired: matured {maturity.isoformat()}"
    key = tranche_key(tranche_id)
    evidence: dict[str, Any] = {
        "retired_at": at.isoformat(),
        "maturity_date": maturity.isoformat(),
        "grace_days": grace / dt.timedelta(days=1),
        "market_clock": clock.isoformat(),
    }
    _resolve_all(snap, tranche, key, at, f"{tranche_id} {reason}", evidence)
    snap.tranches[tranche_id] = TrancheState(
        tranche_id=tranche_id,
        deal_id=tranche.deal_id,
        issuer_id=tranche.issuer_id,
        programme_id=tranche.programme_id,
        currency=tranche.currency,
        announced_at=tranche.announced_at,
        last_quote=tranche.last_quote,
        retired=Retirement(retired_at=at, maturity_date=maturity, reason=reason),
    )
    snap.touch(key)
    snap.refile.add(tranche_id)
    snap.retired.append(tranche_id)
    due_index.unwatch(snap.index, tranche_id)
    issuer = snap.issuers.get(tranche.issuer_id) if tranche.issuer_id else None
    if issuer is not None and tranche_id in issuer.tranche_ids:
        issuer.tranche_ids = [t for t in issuer.tranche_ids if t != tranche_id]
        snap.touch(issuer_key(issuer.issuer_id))
    deal = snap.deals.get(tranche.deal_id) if tranche.deal_id else None
    if deal is not None and deal.deal is not None and deal.retired is None:
        last = max(t.maturity_date for t in deal.deal.tranches)
        if retirement.retires_at(last, grace) <= clock:
            _retire_deal(snap, deal, deal.deal, last, grace, clock)


def _retire_deal(
    snap: Snapshot, state: DealState, deal: Deal, last: dt.date, grace: dt.timedelta, clock: dt.datetime
) -> None:
    at = retirement.retires_at(last, grace)
    reason = f"retired: last tranche matured {last.isoformat()}"
    key = deal_key(deal.deal_id)
    evidence: dict[str, Any] = {
        "retired_at": at.isoformat(),
        "maturity_date": last.isoformat(),
        "grace_days": grace / dt.timedelta(days=1),
        "market_clock": clock.isoformat(),
    }
    _resolve_all(snap, state, key, at, f"{deal.deal_id} {reason}", evidence)
    snap.deals[deal.deal_id] = DealState(
        deal=deal, retired=Retirement(retired_at=at, maturity_date=last, reason=reason)
    )
    snap.touch(key)
    issuer = snap.issuers.get(deal.issuer_id)
    if issuer is not None and deal.deal_id in issuer.deal_ids:
        issuer.deal_ids = [d for d in issuer.deal_ids if d != deal.deal_id]
        snap.touch(issuer_key(issuer.issuer_id))


def _resolve_all(
    snap: Snapshot, doc: _Doc, key: DocKey, at: dt.datetime, summary: str, evidence: dict[str, Any]
) -> None:
    for rule in sorted(doc.alerts):
        alert = doc.alerts[rule]
        if alert.status != "firing":
            continue
        when = max(at, alert.event_time)  # never before what it last said (an event stamped after `at`)
        notice = transition(
            alert,
            Resolve(summary, evidence),
            rule=alert.rule,
            fingerprint=alert.fingerprint,
            subject=alert.subject,
            event_time=when,
        )
        assert notice is not None
        snap.notices.append(notice)
        if alert.rule in COUNTED:
            snap.family_changed(when, key)


def refusal(snap: Snapshot, event: Event) -> Refused | None:
    """An event about a retired tranche or deal: dead-lettered, so that it cannot bring the tombstone back."""
    if isinstance(event, Quote):
        tranche = snap.tranches.get(event.tranche_id)
        if tranche is not None and tranche.retired is not None:
            return Refused(
                AFTER_MATURITY,
                f"quote {event.event_id} on {event.tranche_id}: the tranche matured on "
                f"{tranche.retired.maturity_date.isoformat()} and is retired",
            )
        return None
    if isinstance(event, Distribution | Rating) and event.tranche_id is not None:
        tranche = snap.tranches.get(event.tranche_id)
        if tranche is not None and tranche.retired is not None:
            return Refused(RETIRED, f"{event.event_id} is about {event.tranche_id}, {tranche.retired.reason}")
        return None
    if isinstance(event, ServicerReport | Deal):
        deal = snap.deals.get(event.deal_id)
        if deal is not None and deal.retired is not None:
            return Refused(RETIRED, f"{event.event_id} is about deal {event.deal_id}, {deal.retired.reason}")
    return None
