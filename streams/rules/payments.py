"""What the payment rules read off a tranche's distribution reports (abs.distributions, contract v2).

Both `missed_payment` and `support_drawn` judge the tranche's NEWEST report: the one with the latest
`payment_date`, whatever order the reports arrived in; a report for a payment date already reported replaces
it (streams/engine/structure.py keeps them). The figures an analyst acts on are written out in the summary:
"the 2024-07-15 distribution paid Rmb6.0mn of Rmb10.0mn interest due (Rmb4.0mn short)".
"""

from __future__ import annotations

from typing import Any

from alerts.core.format import money
from streams.model.state import PaymentReport, TrancheState


def newest_report(tranche: TrancheState) -> PaymentReport | None:
    if not tranche.reports:
        return None
    return tranche.reports[max(tranche.reports)]  # keys are ISO payment dates: the latest sorts last


def interest_short(report: PaymentReport) -> float:
    return max(report.interest_due - report.interest_paid, 0.0)


def principal_short(report: PaymentReport) -> float:
    return max(report.principal_due - report.principal_paid, 0.0)


def shortfall(report: PaymentReport) -> float:
    """(interest_due - interest_paid)+ + (principal_due - principal_paid)+, as the contract defines it."""
    return interest_short(report) + principal_short(report)


def paid_line(report: PaymentReport) -> str:
    """'paid Rmb6.0mn of Rmb10.0mn interest due (Rmb4.0mn short)', with principal when any was due."""
    cur = report.currency
    parts = [f"paid {money(report.interest_paid, cur)} of {money(report.interest_due, cur)} interest due"]
    if interest_short(report) > 0:
        parts[-1] += f" ({money(interest_short(report), cur)} short)"
    if report.principal_due > 0 or report.principal_paid > 0:
        principal = f"{money(report.principal_paid, cur)} of {money(report.principal_due, cur)} principal"
        if principal_short(report) > 0:
            principal += f" ({money(principal_short(report), cur)} short)"
        parts.append(principal)
    return " and ".join(parts)


def support_line(report: PaymentReport) -> str:
    return f"{money(report.support_drawn, report.currency)} drawn from the shortfall undertaking"


def report_evidence(report: PaymentReport) -> dict[str, Any]:
    return {
        "event_id": report.event_id,
        "payment_date": report.payment_date.isoformat(),
        "reported_at": report.reported_at.isoformat(),
        "interest_due": report.interest_due,
        "interest_paid": report.interest_paid,
        "principal_due": report.principal_due,
        "principal_paid": report.principal_paid,
        "support_drawn": report.support_drawn,
        "factor_after": report.factor_after,
        "currency": report.currency,
    }


def tranche_name(tranche: TrancheState) -> str:
    return tranche.tranche_id
