"""Applies one validated event to a snapshot, then runs the rules it can affect. Pure: no I/O, no clock.

Which rules run, and at which point of an event, comes from the registry (streams/rules/registry.py): each
rule's hooks (streams/rules/spec.py) are called in the registry's order, so a new rule needs no change here.

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.engine import quote_checks, retire, structure
from streams.engine.judge import SnapshotJudge, tranche_subject
from streams.engine.quote_checks import Refused
from streams.model import retirement
from streams.model.events import Deal, Distribution, Entity, Event, Financials, Quote, Rating, ServicerReport
from streams.model.family import entity_state, newer
from streams.model.state import (
    MAX_SERVICER_REPORTS,
    CollateralReport,
    DealState,
    IssuerState,
    PeriodFigure,
    RatingMark,
    TrancheState,
    file_rating,
    keep_report,
)
from streams.rules import due_index, stale_quote
from streams.rules.family_stress import marks_of
from streams.rules.issuer_loss_widening import store_period
from streams.rules.price_drop import note_previous
from streams.rules.registry import RULES, RulesConfig
from streams.state.keys import deal_key, entity_key, issuer_key, tranche_key
from streams.state.snapshot import Snapshot

Hook = tuple[Callable[..., None], Any]  # a rule's hook and its table


@dataclass(frozen=True, slots=True)
class _Plan:
    """The hooks of one rules file, in the registry's order: every rule's observe_quote, and the other
    hooks of the rules it enables. Built once per rules file, not per event."""

    observe_quote: tuple[Hook, ...]
    on_quote: tuple[Hook, ...]
    judge_tranche: tuple[Hook, ...]
    judge_tranche_on_report: tuple[Hook, ...]  # those that read the issuer
    on_deal_announced: tuple[Hook, ...]
    on_deal: tuple[Hook, ...]
    on_financials: tuple[Hook, ...]
    on_collateral: tuple[Hook, ...]
    on_issuer_rating: tuple[Hook, ...]


def _hooks(
    rules: RulesConfig, name: str, *, always: bool = False, reads_issuer: bool = False
) -> tuple[Hook, ...]:
    found = []
    for rule in RULES:
        hook, cfg = getattr(rule, name), rules.table(rule)
        if hook is not None and (always or cfg.enabled) and (rule.reads_issuer or not reads_issuer):
            found.append((hook, cfg))
    return tuple(found)


_plans: dict[int, tuple[RulesConfig, _Plan]] = {}


def _plan(rules: RulesConfig) -> _Plan:
    cached = _plans.get(id(rules))
    if cached is not None and cached[0] is rules:
        return cached[1]
    plan = _Plan(
        observe_quote=_hooks(rules, "observe_quote", always=True),
        on_quote=_hooks(rules, "on_quote"),
        judge_tranche=_hooks(rules, "judge_tranche"),
        judge_tranche_on_report=_hooks(rules, "judge_tranche", reads_issuer=True),
        on_deal_announced=_hooks(rules, "on_deal_announced"),
        on_deal=_hooks(rules, "on_deal"),
        on_financials=_hooks(rules, "on_financials"),
        on_collateral=_hooks(rules, "on_collateral"),
        on_issuer_rating=_hooks(rules, "on_issuer_rating"),
    )
    if len(_plans) > 64:  # a process loads one or two rules files; tests and backtests a few more
        _plans.clear()
    _plans[id(rules)] = (rules, plan)
    return plan


def apply_event(snap: Snapshot, topic: str, event: Event, rules: RulesConfig) -> Refused | None:
    """Expects events already de-duplicated by event_id (the pipeline drops repeats before loading state).
    A quote the contract refuses (streams/engine/quote_checks.py) changes nothing and is returned, for the
    dead-letter topic; its event_id is not recorded as seen, as for any dead letter. So is an event about a
    retired tranche or deal (streams/engine/retire.py)."""
    refused = retire.refusal(snap, event)
    if refused is not None:
        return refused
    if isinstance(event, Quote):
        known = snap.tranches.get(event.tranche_id)
        refused = quote_checks.after_maturity(known, event, rules) if known is not None else None
        if refused is not None:
            return refused
    snap.seen.append((topic, event.event_id))
    snap.antinoise = rules.antinoise
    judge, plan = SnapshotJudge(snap), _plan(rules)
    if isinstance(event, Quote):
        _apply_quote(judge, event, plan)
    elif isinstance(event, Deal):
        _apply_deal(judge, event, plan, rules)
    elif isinstance(event, Distribution):
        _apply_distribution(judge, event, plan, rules)
    elif isinstance(event, ServicerReport):
        _apply_servicer_report(judge, event, plan)
    elif isinstance(event, Rating):
        _apply_rating(judge, event, plan)
    elif isinstance(event, Entity):
        _apply_entity(judge, event)
    else:
        _apply_financials(judge, event, plan)
    return None


def _apply_quote(judge: SnapshotJudge, quote: Quote, plan: _Plan) -> None:
    snap = judge.snap
    tranche = snap.tranche(quote.tranche_id)
    previous = tranche.last_quote
    mark = structure.quote_mark(tranche, quote)  # per 100 outstanding too, for price_basis original
    snap.prices.append((quote.tranche_id, mark))
    # A late quote (stamped before the newest one) joins the price history but moves no newest-quote state.
    late = tranche.last_quote is not None and quote.ts < tranche.last_quote.ts
    note_previous(tranche, mark, late)  # the tranche's newest earlier quote, before last_quote moves
    if not late:
        tranche.last_quote = mark
    for observe, cfg in plan.observe_quote:
        observe(tranche, mark, late, cfg)
    snap.touch(tranche_key(tranche.tranche_id))
    if snap.clock is None or quote.ts > snap.clock:
        snap.clock = quote.ts
    retire.retire_due(snap)  # before stale_quote judges: a retired tranche is no longer watched
    if snap.tranches[quote.tranche_id].retired is not None:
        return  # retired by its own quote's clock (after_maturity turned off): nothing more to judge
    if not late:
        for on_quote, cfg in plan.on_quote:
            on_quote(judge, tranche, previous, cfg)
    evaluate_tranche(judge, tranche, judged_at(tranche), plan.judge_tranche)


def _apply_deal(judge: SnapshotJudge, deal: Deal, plan: _Plan, rules: RulesConfig) -> None:
    snap = judge.snap
    previous = snap.deals.get(deal.deal_id)
    snap.deals[deal.deal_id] = state = DealState(
        deal=deal,
        alerts=previous.alerts if previous else {},
        servicer_reports=previous.servicer_reports if previous else {},
    )
    snap.touch(deal_key(deal.deal_id))
    issuer = snap.issuer(deal.issuer_id)
    # Judged before this deal's own tranches are registered: the issuer as it stood at the announcement.
    for announced, cfg in plan.on_deal_announced:
        announced(judge, deal, issuer, cfg)
    _register_deal(snap, issuer, deal, rules)
    for terms in deal.tranches:
        tranche = snap.tranches[terms.tranche_id]
        if tranche.retired is not None:
            continue
        if marks_of(tranche_key(tranche.tranche_id), tranche.alerts):  # now counted for this deal's issuer
            snap.family_changed(deal.announced_at, tranche_key(tranche.tranche_id))
        evaluate_tranche(judge, tranche, judged_at(tranche), plan.judge_tranche)
    for on_deal, cfg in plan.on_deal:
        on_deal(judge, deal, cfg)
    if state.servicer_reports:  # read before the deal: judged now that it is announced
        for on_collateral, cfg in plan.on_collateral:
            on_collateral(judge, state, cfg)


def _register_deal(snap: Snapshot, issuer: IssuerState, deal: Deal, rules: RulesConfig) -> None:
    issuer.issuer_name = deal.issuer_name
    issuer.province = deal.province or issuer.province
    issuer.city = deal.city or issuer.city
    if deal.deal_id not in issuer.deal_ids:
        issuer.deal_ids.append(deal.deal_id)
    for terms in deal.tranches:
        tranche = snap.tranche(terms.tranche_id)
        if tranche.retired is not None:
            continue  # a deal announced again keeps its retired tranches retired
        changed = tranche.terms != terms
        tranche.terms = terms
        tranche.deal_id = deal.deal_id
        tranche.issuer_id = deal.issuer_id
        tranche.programme_id = deal.programme_id
        tranche.currency = deal.currency
        tranche.announced_at = deal.announced_at
        if terms.tranche_id not in issuer.tranche_ids:
            issuer.tranche_ids.append(terms.tranche_id)
        dropped = quote_checks.forget_after_maturity(tranche, rules)
        if dropped is not None:  # re-filed under the quote that counts now
            due_index.unwatch(snap.index, tranche.tranche_id)
            stale_quote.watch(snap.index, tranche, rules.stale_quote)
        if changed:
            structure.renormalise(tranche, rules)  # the schedule's factor is known from now on
            snap.refile.add(terms.tranche_id)  # filed under its maturity, to retire in time
        if snap.retire_after is not None:
            retirement.file(snap.maturing, tranche)  # a later quote of this batch may retire it already
        snap.touch(tranche_key(terms.tranche_id))
    snap.touch(issuer_key(issuer.issuer_id))


def _apply_financials(judge: SnapshotJudge, report: Financials, plan: _Plan) -> None:
    snap = judge.snap
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
    if not store_period(issuer, figure):
        return  # an older figure for a period already restated
    snap.touch(issuer_key(issuer.issuer_id))
    for on_financials, cfg in plan.on_financials:
        on_financials(judge, issuer, report, cfg)
    for tranche_id in issuer.tranche_ids:
        if tranche_id in snap.tranches:
            tranche = snap.tranches[tranche_id]
            evaluate_tranche(judge, tranche, report.reported_at, plan.judge_tranche_on_report)


def _apply_distribution(judge: SnapshotJudge, event: Distribution, plan: _Plan, rules: RulesConfig) -> None:
    """Keeps the report on its tranche (known terms or not, as quotes are); a stated factor re-prices the
    tranche's original-face quotes. With the terms known the tranche is judged again, which is when the
    payment rules (missed_payment, support_drawn) read its newest report; before them, they are judged when
    the deal arrives, as quotes read early are."""
    snap = judge.snap
    tranche = snap.tranche(event.tranche_id)
    if not structure.store_report(tranche, structure.report_of(event)):
        return
    snap.touch(tranche_key(tranche.tranche_id))
    if event.factor_after is not None:
        structure.renormalise(tranche, rules)
    if tranche.terms is None:
        return
    evaluate_tranche(judge, tranche, max(judged_at(tranche), event.reported_at), plan.judge_tranche)


def _apply_servicer_report(judge: SnapshotJudge, event: ServicerReport, plan: _Plan) -> None:
    """Keeps the report on its deal (announced or not, as quotes are); a report for a period already reported
    replaces it unless it was reported earlier than the one kept. The collateral rules judge the deal's newest
    report (latest period_end, then period_start) once the deal is announced."""
    snap = judge.snap
    state = snap.deals.get(event.deal_id)
    if state is None:
        state = snap.deals[event.deal_id] = DealState()
    report = CollateralReport.model_validate(event.model_dump(exclude={"deal_id"}))
    if not keep_report(state.servicer_reports, report.period, report, MAX_SERVICER_REPORTS):
        return
    snap.touch(deal_key(event.deal_id))
    if state.deal is None:
        return
    for on_collateral, cfg in plan.on_collateral:
        on_collateral(judge, state, cfg)


def _apply_entity(judge: SnapshotJudge, event: Entity) -> None:
    """Keeps the newest record of the entity (an older `updated_at` read late changes nothing)."""
    snap = judge.snap
    known = snap.entities.get(event.entity_id)
    if not newer(known, event):
        return
    snap.entities[event.entity_id] = entity_state(event, known)
    snap.touch(entity_key(event.entity_id))
    snap.family_changed(event.updated_at)  # families may have moved: family_stress is judged again


def _apply_rating(judge: SnapshotJudge, event: Rating, plan: _Plan) -> None:
    """Files the rating under its agency on the tranche or issuer it rates (a tranche's before its deal, as
    quotes are); rating_downgrade is judged when what is kept changed."""
    snap = judge.snap
    mark = RatingMark(event_id=event.event_id, ts=event.ts, rating=event.rating, outlook=event.outlook)
    if event.tranche_id is not None:
        tranche = snap.tranche(event.tranche_id)
        if not file_rating(tranche.ratings, event.agency, mark):
            return
        snap.touch(tranche_key(tranche.tranche_id))
        if tranche.terms is not None:
            evaluate_tranche(judge, tranche, max(judged_at(tranche), event.ts), plan.judge_tranche)
        return
    assert event.issuer_id is not None
    issuer = snap.issuer(event.issuer_id)
    if not file_rating(issuer.ratings, event.agency, mark):
        return
    snap.touch(issuer_key(issuer.issuer_id))
    for on_issuer_rating, cfg in plan.on_issuer_rating:
        on_issuer_rating(judge, issuer, event.ts, cfg)


def judged_at(tranche: TrancheState) -> dt.datetime:
    """Event time of a tranche's judgement: its newest quote, but never before its deal was announced."""
    times = [t for t in (tranche.announced_at, tranche.last_quote.ts if tranche.last_quote else None) if t]
    return max(times)


def evaluate_tranche(
    judge: SnapshotJudge, tranche: TrancheState, when: dt.datetime, hooks: tuple[Hook, ...]
) -> None:
    if not hooks:
        return
    subject = tranche_subject(tranche)
    for judge_tranche, cfg in hooks:
        judge_tranche(judge, tranche, subject, when, cfg)
