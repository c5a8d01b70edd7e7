"""How a rule's verdict becomes alert state: the lifecycle and anti-noise run on the document it is about,
the notice (if any) is queued on the snapshot, the document marked for the commit. Pure: no I/O, no clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alerts.core.antinoise import apply_rule
from alerts.core.lifecycle import changes_nothing, transition
from alerts.core.model import Alert, RuleName, Subject, Verdict, fingerprint, subject_key
from streams.model.state import AlertBox, DealState, IssuerState, TrancheState, _Doc
from streams.rules.family_stress import COUNTED
from streams.state.keys import MARKET_KEY, DocKey, deal_key, issuer_key, tranche_key
from streams.state.snapshot import Snapshot


def tranche_subject(tranche: TrancheState) -> Subject:
    return Subject(tranche_id=tranche.tranche_id, issuer_id=tranche.issuer_id, deal_id=tranche.deal_id)


def issuer_subject(issuer: IssuerState) -> Subject:
    return Subject(issuer_id=issuer.issuer_id)


@dataclass(slots=True)
class SnapshotJudge:
    """The `Judge` (streams/rules/spec.py) the engine lends each rule hook for one event."""

    snap: Snapshot

    def tranche(
        self,
        tranche: TrancheState,
        rule: RuleName,
        verdict: Verdict,
        when: dt.datetime,
        subject: Subject | None = None,
    ) -> Alert | None:
        key = tranche_key(tranche.tranche_id)
        return record(self.snap, tranche, key, rule, subject or tranche_subject(tranche), verdict, when)

    def issuer(
        self, issuer: IssuerState, rule: RuleName, verdict: Verdict, when: dt.datetime
    ) -> Alert | None:
        key = issuer_key(issuer.issuer_id)
        return record(self.snap, issuer, key, rule, issuer_subject(issuer), verdict, when)

    def deal(self, state: DealState, rule: RuleName, verdict: Verdict, when: dt.datetime) -> Alert | None:
        assert state.deal is not None, "deal rules judge announced deals only"
        subject = Subject(deal_id=state.deal.deal_id, issuer_id=state.deal.issuer_id)
        return record(self.snap, state, deal_key(state.deal.deal_id), rule, subject, verdict, when)

    def market(
        self, box: AlertBox, rule: RuleName, subject: Subject, verdict: Verdict, when: dt.datetime
    ) -> Alert | None:
        return record(self.snap, box, MARKET_KEY, rule, subject, verdict, when)

    def market_changed(self) -> None:
        self.snap.touch(MARKET_KEY)

    def tranche_changed(self, tranche: TrancheState) -> None:
        self.snap.touch(tranche_key(tranche.tranche_id))


def record(
    snap: Snapshot,
    doc: _Doc,
    doc_key: DocKey,
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
        lambda current, v: with_holdings(
            snap,
            transition(current, v, rule=rule, fingerprint=fp, subject=subject, event_time=when),
        ),
    )
    if applied.notice is not None:
        snap.notices.append(applied.notice)
        if rule in COUNTED:
            snap.family_changed(when, doc_key)
    if applied.dirty:
        snap.touch(doc_key)
    return applied.state


def subject_tranches(snap: Snapshot, subject: Subject) -> list[str]:
    """The tranches an alert is about, for its holdings: its tranche, its deal's or its issuer's (a family
    or a year: none; streams/state/labels.py routes on the same)."""
    if subject.tranche_id:
        return [subject.tranche_id]
    if subject.deal_id:
        deal = snap.deals.get(subject.deal_id)
        return [t.tranche_id for t in deal.deal.tranches] if deal is not None and deal.deal else []
    if subject.issuer_id and not subject.entity_id:
        issuer = snap.issuers.get(subject.issuer_id)
        return list(issuer.tranche_ids) if issuer is not None else []
    return []


def with_holdings(snap: Snapshot, alert: Alert | None) -> Alert | None:
    """The new alert state with `evidence.holdings` ({portfolio: face held}) when any portfolio holds its
    subject. Added to a state the lifecycle already decided to emit, so holdings change no fingerprint and
    never cause a notice: a positions reload alone re-fires nothing, and the next transition carries the
    holdings then in force."""
    if alert is None or snap.positions is None:
        return alert
    held = snap.positions.held(subject_tranches(snap, alert.subject))
    if not held:
        return alert
    return alert.model_copy(update={"evidence": {**alert.evidence, "holdings": held}})
