"""support_drawn (tranche, contract v2): the newest distribution needed the shortfall undertaking.

A distribution paid in full only because a guarantor, a shortfall undertaking or the reserve topped it up is
the first sign the collateral no longer carries the notes: warning at `min_support` (1 currency unit) drawn
on the newest report; resolves when the newest report drew none.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from alerts.core.model import KEEP, Fire, Resolve, Subject, Verdict
from streams.model.state import TrancheState
from streams.rules.config import SupportDrawnConfig
from streams.rules.payments import newest_report, paid_line, report_evidence, support_line
from streams.rules.spec import Judge, Rule

RULE: Final = "support_drawn"


def evaluate(tranche: TrancheState, cfg: SupportDrawnConfig) -> Verdict:
    report = newest_report(tranche)
    if report is None:
        return KEEP
    evidence = {"report": report_evidence(report), "thresholds": {"min_support": cfg.min_support}}
    line = f"{tranche.tranche_id}: the {report.payment_date.isoformat()} distribution {paid_line(report)}"
    if report.support_drawn >= cfg.min_support:
        return Fire("warning", f"{line}; {support_line(report)}", evidence)
    return Resolve(f"{line} with no support drawn", evidence)


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: SupportDrawnConfig
) -> None:
    judge.tranche(tranche, RULE, evaluate(tranche, cfg), when, subject)


SPEC = Rule(RULE, SupportDrawnConfig, judge_tranche=_judge_tranche)
