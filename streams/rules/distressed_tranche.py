"""distressed_tranche: below_par on a tranche and issuer_loss_widening on its issuer firing at once.

Read off the two alerts' current states, and judged again whenever either changes (a quote or deal for the
tranche, a report for the issuer), so the final state depends only on theirs, whatever order the topics
arrived in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from alerts.core.model import Alert, Fire, Resolve, Subject, Verdict
from streams.model.state import IssuerState, TrancheState
from streams.rules.config import DistressedTrancheConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "distressed_tranche"


def evaluate(tranche: TrancheState, issuer: IssuerState | None) -> Verdict:
    below = tranche.alerts.get("below_par")
    widening = issuer.alerts.get("issuer_loss_widening") if issuer is not None else None

    def evidence() -> dict[str, Any]:
        return {"below_par": _state(below), "issuer_loss_widening": _state(widening)}

    if _firing(below) and _firing(widening):
        assert below is not None and widening is not None
        return Fire("critical", describe=lambda: (f"{below.summary}; issuer {widening.summary}", evidence()))
    ended = "below_par" if not _firing(below) else "issuer_loss_widening"
    return Resolve(
        describe=lambda: (f"{tranche.tranche_id} is no longer distressed: {ended} is not firing", evidence())
    )


def _firing(alert: Alert | None) -> bool:
    return alert is not None and alert.status == "firing"


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


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: DistressedTrancheConfig
) -> None:
    if tranche.terms is None:
        return
    issuer = judge.snap.issuer_of(tranche)
    verdict = evaluate(tranche, issuer)
    if isinstance(verdict, Fire):
        # Distress began when the later of its two causes began, whichever topic was read first.
        causes = [
            tranche.alerts.get("below_par"),
            issuer.alerts.get("issuer_loss_widening") if issuer else None,
        ]
        when = max(a.starts_at for a in causes if a is not None)
    judge.tranche(tranche, RULE, verdict, when, subject)


SPEC = Rule(RULE, DistressedTrancheConfig, judge_tranche=_judge_tranche, reads_issuer=True)
