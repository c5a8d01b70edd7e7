"""missed_payment (tranche, contract v2): the newest distribution report paid less than was due.

shortfall = (interest_due - interest_paid)+ + (principal_due - principal_paid)+ ; at least
`min_shortfall` (1 currency unit) is critical; a newest report with none resolves it. The shortfall is read
off the paid amounts as the contract defines it; what a shortfall undertaking drew is named beside it (and is
support_drawn's own alert), so the analyst sees both the gap and who filled part of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from alerts.core.model import KEEP, Fire, Resolve, Subject, Verdict
from streams.model.state import TrancheState
from streams.rules.config import MissedPaymentConfig
from streams.rules.payments import newest_report, paid_line, report_evidence, shortfall, support_line
from streams.rules.spec import Judge, Rule

RULE: Final = "missed_payment"


def evaluate(tranche: TrancheState, cfg: MissedPaymentConfig) -> Verdict:
    report = newest_report(tranche)
    if report is None:
        return KEEP
    short = shortfall(report)
    evidence = {
        "report": report_evidence(report),
        "shortfall": short,
        "thresholds": {"min_shortfall": cfg.min_shortfall},
    }
    line = f"{tranche.tranche_id}: the {report.payment_date.isoformat()} distribution {paid_line(report)}"
    if short >= cfg.min_shortfall:
        if report.support_drawn >= 1:
            line += f"; {support_line(report)}"
        return Fire("critical", line, evidence)
    return Resolve(f"{line}: nothing missed", evidence)


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: MissedPaymentConfig
) -> None:
    judge.tranche(tranche, RULE, evaluate(tranche, cfg), when, subject)


SPEC = Rule(RULE, MissedPaymentConfig, judge_tranche=_judge_tranche)
