"""Applies one validated event to a snapshot, then runs the rules it can affect. Pure: no I/O.

The same code serves the worker (on a snapshot loaded from Redis) and any replay (on an in-memory store),
and each event is judged on its own, in order, so batch sizes never change the alerts.
"""

from __future__ import annotations

import datetime as dt

from alerts.lifecycle import transition
from alerts.model import Alert, RuleName, Subject, Verdict, fingerprint
from streams.events import Deal, Event, Financials, Quote
from streams.rules import below_par
from streams.rules.config import RulesConfig
from streams.snapshot import MARKET_KEY, Snapshot, deal_key, issuer_key, tranche_key
from streams.state import DealState, IssuerState, PeriodFigure, QuoteMark, TrancheState, _Doc


def apply_event(snap: Snapshot, topic: str, event: Event, rules: RulesConfig) -> None:
    snap.seen.append((topic, event.event_id))
    if isinstance(event, Quote):
        _apply_quote(snap, event, rules)
    elif isinstance(event, Deal):
        _apply_deal(snap, event, rules)
    else:
        _apply_financials(snap, event, rules)


def _apply_quote(snap: Snapshot, quote: Quote, rules: RulesConfig) -> None:
    tranche = snap.tranche(quote.tranche_id)
    mark = QuoteMark(event_id=quote.event_id, ts=quote.ts, price=quote.price)
    late = tranche.last_quote is not None and quote.ts < tranche.last_quote.ts
    if not late:
        tranche.last_quote = mark
    snap.touch(tranche_key(tranche.tranche_id))
    if snap.market.newest_quote_at is None or quote.ts > snap.market.newest_quote_at:
        snap.market.newest_quote_at = quote.ts
        snap.touch(MARKET_KEY)
    if not late:
        evaluate_tranche(snap, tranche, quote.ts, rules)


def _apply_deal(snap: Snapshot, deal: Deal, rules: RulesConfig) -> None:
    snap.deals[deal.deal_id] = DealState(deal=deal)
    snap.touch(deal_key(deal.deal_id))
    issuer = snap.issuer(deal.issuer_id)
    issuer.issuer_name = deal.issuer_name
    issuer.province = deal.province or issuer.province
    issuer.city = deal.city or issuer.city
    if deal.deal_id not in issuer.deal_ids:
        issuer.deal_ids.append(deal.deal_id)
    for terms in deal.tranches:
        tranche = snap.tranche(terms.tranche_id)
        tranche.terms = terms
        tranche.deal_id = deal.deal_id
        tranche.issuer_id = deal.issuer_id
        tranche.programme_id = deal.programme_id
        tranche.currency = deal.currency
        if terms.tranche_id not in issuer.tranche_ids:
            issuer.tranche_ids.append(terms.tranche_id)
        snap.touch(tranche_key(terms.tranche_id))
    snap.touch(issuer_key(issuer.issuer_id))
    for terms in deal.tranches:
        tranche = snap.tranches[terms.tranche_id]
        # A quote that came before its deal is judged now, at the later of the two event times.
        when = max(deal.announced_at, tranche.last_quote.ts) if tranche.last_quote else deal.announced_at
        evaluate_tranche(snap, tranche, when, rules)


def _apply_financials(snap: Snapshot, report: Financials, rules: RulesConfig) -> None:
    issuer = snap.issuer(report.issuer_id)
    period = f"{report.period_start.isoformat()}/{report.period_end.isoformat()}"
    issuer.periods[period] = PeriodFigure(
        event_id=report.event_id,
        period_start=report.period_start,
        period_end=report.period_end,
        net_income=report.net_income,
        revenue=report.revenue,
        currency=report.currency,
        reported_at=report.reported_at,
    )
    snap.touch(issuer_key(issuer.issuer_id))


def evaluate_tranche(snap: Snapshot, tranche: TrancheState, when: dt.datetime, rules: RulesConfig) -> None:
    if rules.below_par.enabled:
        current = tranche.alerts.get("below_par")
        verdict = below_par.evaluate(tranche, current, rules.below_par)
        record(
            snap,
            tranche,
            tranche_key(tranche.tranche_id),
            "below_par",
            tranche_subject(tranche),
            verdict,
            when,
        )


def tranche_subject(tranche: TrancheState) -> Subject:
    return Subject(tranche_id=tranche.tranche_id, issuer_id=tranche.issuer_id, deal_id=tranche.deal_id)


def issuer_subject(issuer: IssuerState) -> Subject:
    return Subject(issuer_id=issuer.issuer_id)


def record(
    snap: Snapshot,
    doc: _Doc,
    doc_key: str,
    rule: RuleName,
    subject: Subject,
    verdict: Verdict,
    when: dt.datetime,
) -> Alert | None:
    """Runs the lifecycle for one rule on one subject; keeps the new state on its document and queues the notice."""
    identity = subject.tranche_id or subject.deal_id or subject.issuer_id or str(subject.year)
    fp = fingerprint(rule, identity)
    changed = transition(
        doc.alerts.get(rule), verdict, rule=rule, fingerprint=fp, subject=subject, event_time=when
    )
    if changed is not None:
        doc.alerts[rule] = changed
        snap.notices.append(changed)
        snap.touch(doc_key)
    return changed
