"""What the collateral rules read off a deal's servicer reports (abs.servicer_reports, contract v2).

Each rule judges the deal's NEWEST report: latest `period_end`, then `period_start`, whatever order the
reports arrived in; a report for a period already reported replaces it (streams/engine/apply.py). The event
time of a verdict is that report's `reported_at`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.core.format import money
from streams.model.state import CollateralReport, DealState


def period_name(report: CollateralReport) -> str:
    """'Q2 2025' for a calendar quarter, 'H1 2025' for a half, '2025' for a year, else the dates."""
    start, end = report.period_start, report.period_end
    next_day = end + dt.timedelta(days=1)
    months = (next_day.year - start.year) * 12 + next_day.month - start.month
    if start.day == 1 and next_day.day == 1:
        if months == 3 and start.month % 3 == 1:
            return f"Q{(start.month - 1) // 3 + 1} {start.year}"
        if months == 6 and start.month in (1, 7):
            return f"H{1 if start.month == 1 else 2} {start.year}"
        if months == 12 and start.month == 1:
            return str(start.year)
    return f"{start.isoformat()} to {end.isoformat()}"


def deal_name(state: DealState) -> str:
    assert state.deal is not None
    return state.deal.deal_id


def report_evidence(report: CollateralReport) -> dict[str, Any]:
    return {
        "event_id": report.event_id,
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "reported_at": report.reported_at.isoformat(),
        "collections": report.collections,
        "debt_service_due": report.debt_service_due,
        "reserve_balance": report.reserve_balance,
        "reserve_required": report.reserve_required,
        "delinquency_pct": report.delinquency_pct,
        "default_pct": report.default_pct,
        "triggers": [t.model_dump() for t in report.triggers],
        "currency": report.currency,
    }


def breached(report: CollateralReport) -> list[str]:
    return sorted({t.name for t in report.triggers if t.breached})


def coverage_line(report: CollateralReport, coverage: float) -> str:
    cur = report.currency
    return (
        f"{period_name(report)} collections {money(report.collections, cur)} covered debt service "
        f"{money(report.debt_service_due, cur)} {coverage:.2f}x"
    )
