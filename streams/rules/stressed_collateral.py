"""stressed_collateral (tranche, contract v2): the market marks the tranche below par while its deal's
collateral is failing: `below_par` firing on the tranche and `coverage_shortfall` or `trigger_breach` firing
on its deal at once. Critical; resolves when that stops being true.

Modelled on distressed_tranche: read off the causes' current alert states, and judged again whenever either
side changes, so the final state depends only on theirs, whatever order the topics were read in:
- the tranche's side moves with its quotes and its deal's terms (judge_tranche);
- the deal's side moves with its servicer reports, and when the deal is read with reports kept from before
  it (on_collateral, after coverage_shortfall and trigger_breach in the engine's order): every tranche of
  the deal is judged again.

A quote does not load its deal: the deal's firing causes are copied onto each of its tranches
(`TrancheState.deal_signs`) whenever the deal is loaded with them, i.e. exactly when they can change (the
collateral rules judge only on a servicer report or on the deal being read, and those batches load the
deal's tranches). So the quote path reads one document, as before this rule. Enabling the rule later
copies the deal's causes at its next servicer report or announcement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from alerts.core.model import Alert, Fire, Resolve, Subject, Verdict
from streams.model.state import DealSign, DealState, TrancheState
from streams.rules.config import StressedCollateralConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "stressed_collateral"
CAUSES: Final = ("coverage_shortfall", "trigger_breach")  # on the deal; below_par on the tranche


def signs_of(state: DealState) -> dict[str, DealSign]:
    """The deal's causes firing now, by rule."""
    return {
        rule: DealSign(
            fingerprint=alert.fingerprint,
            severity=alert.severity,
            starts_at=alert.starts_at,
            summary=alert.summary,
        )
        for rule in CAUSES
        if (alert := state.alerts.get(rule)) is not None and alert.status == "firing"
    }


def refresh(judge: Judge, tranche: TrancheState) -> None:
    """Copies the causes of the tranche's deal onto it when the deal is in this batch (else the copy stands:
    the deal's causes change only in batches that load its tranches)."""
    state = judge.snap.deals.get(tranche.deal_id) if tranche.deal_id else None
    if state is None or state.deal is None:
        return
    signs = signs_of(state)
    if signs != tranche.deal_signs:
        tranche.deal_signs = signs
        judge.tranche_changed(tranche)


def evaluate(tranche: TrancheState) -> Verdict:
    below = tranche.alerts.get("below_par")
    signs = tranche.deal_signs
    deal = tranche.deal_id or "its deal"

    def evidence() -> dict[str, Any]:
        return {
            "below_par": _state(below),
            "deal_id": tranche.deal_id,
            **{rule: sign.model_dump(mode="json") for rule, sign in signs.items()},
        }

    below_firing = below is not None and below.status == "firing"
    if below_firing and signs:
        assert below is not None
        return Fire(
            "critical",
            describe=lambda: (
                f"{below.summary}, while the collateral of {deal} is stressed: "
                + "; ".join(sign.summary for sign in signs.values()),
                evidence(),
            ),
        )
    why = (
        "it is no longer below par"
        if not below_firing
        else f"{deal} has no coverage shortfall or trigger breach"
    )
    return Resolve(
        describe=lambda: (f"{tranche.tranche_id} is no longer under collateral stress: {why}", evidence())
    )


def started(tranche: TrancheState) -> dt.datetime:
    """Stress began when the later of its two sides began: below par, and the deal's first firing cause."""
    below = tranche.alerts["below_par"]
    return max(below.starts_at, min(sign.starts_at for sign in tranche.deal_signs.values()))


def _state(alert: Alert | None) -> dict[str, Any] | None:
    if alert is None:
        return None
    return {
        "fingerprint": alert.fingerprint,
        "severity": alert.severity,
        "status": alert.status,
        "starts_at": alert.starts_at.isoformat(),
        "summary": alert.summary,
        "evidence": alert.evidence,
    }


def _judge(judge: Judge, tranche: TrancheState, when: dt.datetime, subject: Subject | None = None) -> None:
    verdict = evaluate(tranche)
    judge.tranche(tranche, RULE, verdict, started(tranche) if isinstance(verdict, Fire) else when, subject)


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: StressedCollateralConfig
) -> None:
    if tranche.terms is None:
        return
    refresh(judge, tranche)
    # Most quotes: neither below par nor stressed, so the verdict (a resolve of nothing) would change nothing.
    # Skipped unless an anti-noise policy keeps state of its own for the rule (a pending firing to cancel).
    if (
        not (_firing(tranche, "below_par") or _firing(tranche, RULE))
        and RULE not in judge.snap.antinoise.rules
    ):
        return
    _judge(judge, tranche, when, subject)


def _firing(tranche: TrancheState, rule: str) -> bool:
    alert = tranche.alerts.get(rule)
    return alert is not None and alert.status == "firing"


def _on_collateral(judge: Judge, state: DealState, cfg: StressedCollateralConfig) -> None:
    assert state.deal is not None
    report = state.newest_servicer_report()
    if report is None:
        return
    for terms in state.deal.tranches:
        tranche = judge.snap.tranches.get(terms.tranche_id)
        if tranche is None or tranche.terms is None:
            continue
        refresh(judge, tranche)
        # A verdict is stamped no earlier than the deal's announcement, as a tranche's judgement is.
        when = max(report.reported_at, state.deal.announced_at)
        _judge(judge, tranche, when)


SPEC = Rule(RULE, StressedCollateralConfig, judge_tranche=_judge_tranche, on_collateral=_on_collateral)
