"""reserve_shortfall (deal, contract v2): the newest servicer report's reserve is below what is required.

Judged only when the report states both figures and the requirement is above zero: reserve_balance <
reserve_required is a warning (the reserve was drawn and not yet refilled); resolves when the newest such
report is at or above it.
"""

from __future__ import annotations

from typing import Final

from alerts.core.format import money
from alerts.core.model import KEEP, Fire, Resolve, Verdict
from streams.model.state import DealState
from streams.rules.collateral import deal_name, period_name, report_evidence
from streams.rules.config import ReserveShortfallConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "reserve_shortfall"


def evaluate(state: DealState) -> Verdict:
    report = state.newest_servicer_report()
    if report is None or report.reserve_balance is None or not report.reserve_required:
        return KEEP
    cur = report.currency
    evidence = {
        "report": report_evidence(report),
        "reserve_gap": max(report.reserve_required - report.reserve_balance, 0.0),
    }
    line = (
        f"{deal_name(state)}: {period_name(report)} reserve {money(report.reserve_balance, cur)} of "
        f"{money(report.reserve_required, cur)} required"
    )
    if report.reserve_balance < report.reserve_required:
        short = money(report.reserve_required - report.reserve_balance, cur)
        return Fire("warning", f"{line} ({short} short)", evidence)
    return Resolve(f"{line}: fully funded", evidence)


def _on_collateral(judge: Judge, state: DealState, cfg: ReserveShortfallConfig) -> None:
    report = state.newest_servicer_report()
    if report is not None:
        judge.deal(state, RULE, evaluate(state), report.reported_at)


SPEC = Rule(RULE, ReserveShortfallConfig, on_collateral=_on_collateral)
