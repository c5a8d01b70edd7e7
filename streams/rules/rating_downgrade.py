"""rating_downgrade (tranche or issuer, as rated; contract v2): an agency rates the subject lower than it did.

Per agency, the rating with the latest `ts` is compared with that agency's rating with the earliest `ts` for
the subject (its reference): one notch lower or more is a warning; `critical_notches` (3) or more, or a
rating below `critical_below` (A-) after any downgrade, is critical. Resolves when no agency is below its
reference. Agencies are compared with themselves only: CCXI's AA against Dagong's AA+ says nothing.
Severity never steps down while firing (the contract's rule for every alert).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from alerts.core.model import KEEP, Alert, Fire, Resolve, Subject, Verdict
from streams.model.events import RATING_SCALE, rating_grade
from streams.model.state import AgencyRatings, IssuerState, TrancheState
from streams.rules.config import RatingDowngradeConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "rating_downgrade"


def notch(rating: str) -> int:
    """Position on the China scale, AAA = 0: a larger number is a worse rating."""
    return RATING_SCALE.index(rating_grade(rating))


def notches_down(kept: AgencyRatings) -> int:
    return notch(kept.latest.rating) - notch(kept.earliest.rating)


def evaluate(name: str, ratings: dict[str, AgencyRatings], cfg: RatingDowngradeConfig) -> Verdict:
    if not ratings:
        return KEEP
    floor = notch(cfg.critical_below)
    down = {agency: kept for agency, kept in sorted(ratings.items()) if notches_down(kept) > 0}
    evidence: dict[str, Any] = {
        "agencies": {
            agency: {
                "reference": kept.earliest.model_dump(mode="json"),
                "latest": kept.latest.model_dump(mode="json"),
                "notches_down": notches_down(kept),
            }
            for agency, kept in sorted(ratings.items())
        },
        "thresholds": {"critical_notches": cfg.critical_notches, "critical_below": cfg.critical_below},
    }
    if not down:
        return Resolve(f"{name}: no agency rates it below its first rating", evidence)
    critical = any(
        notches_down(kept) >= cfg.critical_notches or notch(kept.latest.rating) > floor
        for kept in down.values()
    )
    moves = "; ".join(
        f"{agency} {kept.earliest.rating} to {kept.latest.rating} ({_notches(notches_down(kept))}"
        f"{', outlook ' + kept.latest.outlook if kept.latest.outlook else ''}, {kept.latest.ts.date().isoformat()})"
        for agency, kept in down.items()
    )
    return Fire("critical" if critical else "warning", f"{name} downgraded: {moves}", evidence)


def _notches(n: int) -> str:
    return f"{n} notch{'es' if n > 1 else ''}"


def _never_down(current: Alert | None, verdict: Verdict) -> Verdict:
    held = current is not None and current.status == "firing" and current.severity == "critical"
    return KEEP if held and isinstance(verdict, Fire) and verdict.severity == "warning" else verdict


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: RatingDowngradeConfig
) -> None:
    verdict = evaluate(tranche.tranche_id, tranche.ratings, cfg)
    judge.tranche(tranche, RULE, _never_down(tranche.alerts.get(RULE), verdict), when, subject)


def _on_issuer_rating(
    judge: Judge, issuer: IssuerState, when: dt.datetime, cfg: RatingDowngradeConfig
) -> None:
    verdict = evaluate(issuer.issuer_name or issuer.issuer_id, issuer.ratings, cfg)
    judge.issuer(issuer, RULE, _never_down(issuer.alerts.get(RULE), verdict), when)


SPEC = Rule(RULE, RatingDowngradeConfig, judge_tranche=_judge_tranche, on_issuer_rating=_on_issuer_rating)
