"""coverage_shortfall (deal, contract v2): collections no longer cover the debt service.

coverage = collections / debt_service_due on the deal's newest servicer report (not judged when nothing was
due): under `warning_below` (1.2x) warning, under `critical_below` (1.0x) critical; resolves at
`resolve_at` (1.3x) or more. Between 1.2x and 1.3x the alert keeps its state, so coverage hovering around the
threshold does not flap; while firing, severity never steps down (the lifecycle's rule).
"""

from __future__ import annotations

from typing import Final

from alerts.core.model import KEEP, Fire, Resolve, Verdict
from streams.model.state import DealState
from streams.rules.collateral import coverage_line, deal_name, report_evidence
from streams.rules.config import CoverageShortfallConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "coverage_shortfall"


def evaluate(state: DealState, cfg: CoverageShortfallConfig) -> Verdict:
    report = state.newest_servicer_report()
    if report is None or report.debt_service_due <= 0:
        return KEEP
    coverage = round(report.collections / report.debt_service_due, 10)
    evidence = {
        "report": report_evidence(report),
        "coverage": coverage,
        "thresholds": {
            "warning_below": cfg.warning_below,
            "critical_below": cfg.critical_below,
            "resolve_at": cfg.resolve_at,
        },
    }
    line = f"{deal_name(state)}: {coverage_line(report, coverage)}"
    if coverage < cfg.critical_below:
        return Fire("critical", f"{line} (critical below {cfg.critical_below:.2f}x)", evidence)
    if coverage < cfg.warning_below:
        return Fire("warning", f"{line} (warning below {cfg.warning_below:.2f}x)", evidence)
    if coverage >= cfg.resolve_at:
        return Resolve(f"{line}, back at {cfg.resolve_at:.2f}x or more", evidence)
    return KEEP


def _on_collateral(judge: Judge, state: DealState, cfg: CoverageShortfallConfig) -> None:
    report = state.newest_servicer_report()
    if report is None:
        return
    verdict, current = evaluate(state, cfg), state.alerts.get(RULE)
    held = current is not None and current.status == "firing" and current.severity == "critical"
    if held and isinstance(verdict, Fire) and verdict.severity == "warning":
        verdict = KEEP  # the contract: severity never steps down while firing
    judge.deal(state, RULE, verdict, report.reported_at)


SPEC = Rule(RULE, CoverageShortfallConfig, on_collateral=_on_collateral)
