"""Applies one validated event to a snapshot, then runs the rules it can affect. Pure: no I/O, no clock.

The same code serves the worker (on a snapshot loaded from Redis) and any replay (on an in-memory store),
and each event is judged on its own, in order, so batch sizes never change the alerts.

Interleaving invariant. Kafka keeps each topic's own order (per key) but not the order between topics.
For any interleaving of the three topics that keeps each topic's own order, the final *firing set* — the
(rule, fingerprint, severity) of every alert firing once all events are applied — is the same, for every
rule but issuing_into_weakness. Resolved alerts and timestamps may differ: a tranche quoted before its
deal arrives cannot be attributed to an issuer, so episodes that began and ended before the deal are never
announced. This holds because each rule's state is a function of inputs that are themselves independent of
the interleaving: hysteresis lives in per-tranche latches moved by quotes alone (streams/rules/latch.py),
issuer_loss_widening depends on the set of reported periods, distressed_tranche on those two alerts and is
re-judged whenever either changes, issuance_record on the deals topic alone, stale_quote on each tranche's
newest quote and the newest quote of all (streams/rules/stale_quote.py).

issuing_into_weakness judges what was known when the deal is read, and so cannot be interleaving-free;
it is, for every interleaving in which each deal is read after the quotes and reports stamped before its
`announced_at` (see streams/rules/issuing_into_weakness.py for what is read in event time).
"""

from __future__ import annotations

import datetime as dt

from alerts.core.antinoise import apply_rule
from alerts.core.lifecycle import changes_nothing, transition
from alerts.core.model import Alert, Fire, RuleName, Subject, Verdict, fingerprint, subject_key
from streams.engine import structure
from streams.model.events import Deal, Distribution, Event, Financials, Quote
from streams.model.state import AlertBox, DealState, IssuerState, PeriodFigure, QuoteMark, TrancheState, _Doc
from streams.rules import (
    below_par,
    distressed_tranche,
    issuance_record,
    issuer_loss_widening,
    issuing_into_weakness,
    price_drop,
    stale_quote,
)
from streams.rules.config import RulesConfig
from streams.state.snapshot import MARKET_KEY, Snapshot, deal_key, issuer_key, tranche_key


def apply_event(snap: Snapshot, topic: str, event: Event, rules: RulesConfig) -> None:
    """Expects events already de-duplicated by event_id (the pipeline drops repeats before loading state)."""
    snap.seen.append((topic, event.event_id))
    snap.antinoise = rules.antinoise
    if isinstance(event, Quote):
        _apply_quote(snap, event, rules)
    elif isinstance(event, Deal):
        _apply_deal(snap, event, rules)
    elif isinstance(event, Distribution):
        _apply_distribution(snap, event, rules)
    else:
        _apply_financials(snap, event, rules)


def _apply_quote(snap: Snapshot, quote: Quote, rules: RulesConfig) -> None:
    tranche = snap.tranche(quote.tranche_id)
    previous = tranche.last_quote
    mark = structure.quote_mark(tranche, quote)
    # A late quote (stamped before the newest one) joins the price history but moves no newest-quote state.
    late = tranche.last_quote is not None and quote.ts < tranche.last_quote.ts
    if not late:
        tranche.last_quote = mark
        below_par.observe(tranche, mark, rules.below_par)
    price_drop.observe(tranche, mark, rules.price_drop)
    snap.touch(tranche_key(tranche.tranche_id))
    if snap.clock is None or quote.ts > snap.clock:
        snap.clock = quote.ts
    if not late and rules.stale_quote.enabled:
        _judge_staleness(snap, tranche, previous, rules)
    evaluate_tranche(snap, tranche, judged_at(tranche), rules)


def _judge_staleness(
    snap: Snapshot, tranche: TrancheState, previous: QuoteMark | None, rules: RulesConfig
) -> None:
    """stale_quote: re-files the quoted tranche (resolving it if it was stale), then fires for the tranches
    the clock has left behind. Only those are judged: see streams/rules/stale_quote.py."""
    index, clock, cfg = snap.index, snap.clock, rules.stale_quote
    assert clock is not None and tranche.last_quote is not None
    cutoff = stale_quote.cutoff(clock, cfg)
    stale_quote.unwatch(index, tranche.tranche_id, previous.ts if previous else None)
    if stale_quote.is_firing(tranche) and tranche.last_quote.ts >= cutoff:
        verdict = stale_quote.resolved(tranche)
        record(
            snap,
            tranche,
            tranche_key(tranche.tranche_id),
            "stale_quote",
            tranche_subject(tranche),
            verdict,
            tranche.last_quote.ts,
        )
    stale_quote.watch(index, tranche)  # unless it is (still) stale
    for tranche_id in stale_quote.overdue(index, cutoff):
        left = snap.tranches[tranche_id]
        fire = stale_quote.fired(left, clock, cfg)
        record(snap, left, tranche_key(tranche_id), "stale_quote", tranche_subject(left), fire, clock)
        stale_quote.watch(index, left)  # still watched if an anti-noise pending period held the alert


def _apply_deal(snap: Snapshot, deal: Deal, rules: RulesConfig) -> None:
    previous = snap.deals.get(deal.deal_id)
    snap.deals[deal.deal_id] = DealState(deal=deal, alerts=previous.alerts if previous else {})
    snap.touch(deal_key(deal.deal_id))
    issuer = snap.issuer(deal.issuer_id)
    # Judged before this deal's own tranches are registered: the issuer as it stood at the announcement.
    if rules.issuing_into_weakness.enabled:
        others = (snap.tranches[t] for t in issuer.tranche_ids if t in snap.tranches)
        verdict = issuing_into_weakness.evaluate(deal, issuer, others)
        subject = Subject(deal_id=deal.deal_id, issuer_id=deal.issuer_id)
        record(
            snap,
            snap.deals[deal.deal_id],
            deal_key(deal.deal_id),
            "issuing_into_weakness",
            subject,
            verdict,
            deal.announced_at,
        )
    _register_deal(snap, issuer, deal, rules)
    for terms in deal.tranches:
        tranche = snap.tranches[terms.tranche_id]
        evaluate_tranche(snap, tranche, judged_at(tranche), rules)
    if rules.issuance_record.enabled:
        _judge_issuance(snap, deal, rules)


def _register_deal(snap: Snapshot, issuer: IssuerState, deal: Deal, rules: RulesConfig) -> None:
    issuer.issuer_name = deal.issuer_name
    issuer.province = deal.province or issuer.province
    issuer.city = deal.city or issuer.city
    if deal.deal_id not in issuer.deal_ids:
        issuer.deal_ids.append(deal.deal_id)
    for terms in deal.tranches:
        tranche = snap.tranche(terms.tranche_id)
        changed = tranche.terms != terms
        tranche.terms = terms
        if changed:
            structure.renormalise(tranche, rules)  # the schedule's factor is known from now on
        tranche.deal_id = deal.deal_id
        tranche.issuer_id = deal.issuer_id
        tranche.programme_id = deal.programme_id
        tranche.currency = deal.currency
        tranche.announced_at = deal.announced_at
        if terms.tranche_id not in issuer.tranche_ids:
            issuer.tranche_ids.append(terms.tranche_id)
        snap.touch(tranche_key(terms.tranche_id))
    snap.touch(issuer_key(issuer.issuer_id))


def _judge_issuance(snap: Snapshot, deal: Deal, rules: RulesConfig) -> None:
    market, cfg = snap.market, rules.issuance_record
    if issuance_record.count_deal(market, deal, cfg):
        snap.touch(MARKET_KEY)
    year = issuance_record.deal_year(deal)
    for earlier in sorted(int(y) for y in market.records if int(y) < year):
        verdict = issuance_record.year_over(market, earlier, year)
        record(
            snap,
            market.records[str(earlier)],
            MARKET_KEY,
            "issuance_record",
            Subject(year=earlier),
            verdict,
            deal.announced_at,
        )
    box = market.records.get(str(year), AlertBox())
    verdict = issuance_record.evaluate(market, year, cfg)
    if record(snap, box, MARKET_KEY, "issuance_record", Subject(year=year), verdict, deal.announced_at):
        market.records[str(year)] = box


def _apply_financials(snap: Snapshot, report: Financials, rules: RulesConfig) -> None:
    issuer = snap.issuer(report.issuer_id)
    figure = PeriodFigure(
        event_id=report.event_id,
        period_start=report.period_start,
        period_end=report.period_end,
        net_income=report.net_income,
        revenue=report.revenue,
        currency=report.currency,
        reported_at=report.reported_at,
    )
    if not issuer_loss_widening.store_period(issuer, figure):
        return  # an older figure for a period already restated
    snap.touch(issuer_key(issuer.issuer_id))
    if rules.issuer_loss_widening.enabled:
        verdict = issuer_loss_widening.evaluate(issuer, rules.issuer_loss_widening)
        # The verdict rests on every period known, so it holds from the latest of their reports on,
        # even when an older report is read last.
        known_since = max(p.reported_at for p in issuer.periods.values())
        record(
            snap,
            issuer,
            issuer_key(issuer.issuer_id),
            "issuer_loss_widening",
            issuer_subject(issuer),
            verdict,
            known_since,
        )
    for tranche_id in issuer.tranche_ids:
        if tranche_id in snap.tranches:
            _judge_distress(snap, snap.tranches[tranche_id], report.reported_at, rules)


def _apply_distribution(snap: Snapshot, event: Distribution, rules: RulesConfig) -> None:
    """Keeps the report on its tranche (known terms or not, as quotes are); a stated factor re-prices the
    tranche's original-face quotes. The payment rules on these reports are not judged here."""
    tranche = snap.tranche(event.tranche_id)
    if not structure.store_report(tranche, structure.report_of(event)):
        return
    snap.touch(tranche_key(tranche.tranche_id))
    if event.factor_after is None or not structure.renormalise(tranche, rules) or tranche.terms is None:
        return
    evaluate_tranche(snap, tranche, max(judged_at(tranche), event.reported_at), rules)


def judged_at(tranche: TrancheState) -> dt.datetime:
    """Event time of a tranche's judgement: its newest quote, but never before its deal was announced."""
    times = [t for t in (tranche.announced_at, tranche.last_quote.ts if tranche.last_quote else None) if t]
    return max(times)


def evaluate_tranche(snap: Snapshot, tranche: TrancheState, when: dt.datetime, rules: RulesConfig) -> None:
    key, subject = tranche_key(tranche.tranche_id), tranche_subject(tranche)
    if rules.below_par.enabled:
        record(snap, tranche, key, "below_par", subject, below_par.evaluate(tranche, rules.below_par), when)
    if rules.price_drop.enabled:
        record(
            snap, tranche, key, "price_drop", subject, price_drop.evaluate(tranche, rules.price_drop), when
        )
    _judge_distress(snap, tranche, when, rules, subject)


def _judge_distress(
    snap: Snapshot,
    tranche: TrancheState,
    when: dt.datetime,
    rules: RulesConfig,
    subject: Subject | None = None,
) -> None:
    if not rules.distressed_tranche.enabled or tranche.terms is None:
        return
    issuer = snap.issuer_of(tranche)
    verdict = distressed_tranche.evaluate(tranche, issuer)
    if isinstance(verdict, Fire):
        # Distress began when the later of its two causes began, whichever topic was read first.
        causes = [
            tranche.alerts.get("below_par"),
            issuer.alerts.get("issuer_loss_widening") if issuer else None,
        ]
        when = max(a.starts_at for a in causes if a is not None)
    record(
        snap,
        tranche,
        tranche_key(tranche.tranche_id),
        "distressed_tranche",
        subject or tranche_subject(tranche),
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
    """Runs the lifecycle for one rule on one subject: new state on its document, notice queued."""
    if rule not in snap.antinoise.rules and changes_nothing(doc.alerts.get(rule), verdict):
        # Without an anti-noise policy such a verdict changes neither the document nor the notices
        # (antinoise.apply_rule): skip the fingerprint, the closure and the outcome.
        return None
    fp = fingerprint(rule, subject_key(subject))
    applied = apply_rule(
        snap.antinoise,
        doc.alerts,
        doc.noise,
        rule,
        verdict,
        when,
        lambda current, v: transition(
            current, v, rule=rule, fingerprint=fp, subject=subject, event_time=when
        ),
    )
    if applied.notice is not None:
        snap.notices.append(applied.notice)
    if applied.dirty:
        snap.touch(doc_key)
    return applied.state
