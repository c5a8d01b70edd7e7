"""trigger_breach (deal, contract v2): the newest servicer report has a breached trigger: critical.

A breached trigger (a DSCR floor, a delinquency or default cap) usually switches the deal's waterfall to
early amortisation or traps cash: the evidence names every breached trigger; resolves when the newest
report has none.
"""

from __future__ import annotations

from typing import Final

from alerts.core.model import KEEP, Fire, Resolve, Verdict
from streams.model.state import DealState
from streams.rules.collateral import breached, deal_name, period_name, report_evidence
from streams.rules.config import TriggerBreachConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "trigger_breach"


def evaluate(state: DealState) -> Verdict:
    report = state.newest_servicer_report()
    if report is None:
        return KEEP
    names = breached(report)
    evidence = {"report": report_evidence(report), "breached": names}
    if names:
        return Fire(
            "critical",
            f"{deal_name(state)}: {period_name(report)} triggers breached: {', '.join(names)}",
            evidence,
        )
    return Resolve(f"{deal_name(state)}: no trigger breached in {period_name(report)}", evidence)


def _on_collateral(judge: Judge, state: DealState, cfg: TriggerBreachConfig) -> None:
    report = state.newest_servicer_report()
    if report is not None:
        judge.deal(state, RULE, evaluate(state), report.reported_at)


SPEC = Rule(RULE, TriggerBreachConfig, on_collateral=_on_collateral)
