"""What the views show of payments, collateral and ratings (contract v2): a tranche's last distribution, a
deal's last coverage and triggers, and a subject's ratings per agency.

Built from the state documents the rules read, with the rules' own definitions (the newest report, the
shortfall, the coverage ratio, the notches), so a figure shown here is the figure an alert fired on. Each
model has a `brief()`: the few words the text watchlist and the web page's table cells show; JSON readers
get every field.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from alerts.core.format import money
from streams.model.state import AgencyRatings, CollateralReport, DealState, PaymentReport, TrancheState
from streams.rules import collateral, payments, rating_downgrade


class LastDistribution(BaseModel):
    """The tranche's newest distribution report (latest payment date), as missed_payment and
    support_drawn judge it."""

    payment_date: dt.date
    reported_at: dt.datetime
    interest_due: float
    interest_paid: float
    principal_due: float
    principal_paid: float
    shortfall: float = Field(description="(interest due - paid)+ + (principal due - paid)+")
    support_drawn: float = Field(description="paid by a shortfall undertaking, guarantee or reserve")
    factor_after: float | None = Field(None, description="outstanding / original face after the payment")
    currency: str = "CNY"

    def brief(self) -> str:
        """'2024-07-15 short Rmb4.00mn, drawn Rmb4.00mn', or '2026-01-15 paid' when nothing was short."""
        words = [self.payment_date.isoformat()]
        if self.shortfall >= 1:
            words.append(f"short {money(self.shortfall, self.currency)}")
        else:
            words.append("paid")
        if self.support_drawn >= 1:
            words[-1] += ","
            words.append(f"drawn {money(self.support_drawn, self.currency)}")
        return " ".join(words)


class LastCoverage(BaseModel):
    """The deal's newest servicer report (latest period end), as coverage_shortfall, trigger_breach and
    reserve_shortfall judge it."""

    deal_id: str
    period_start: dt.date
    period_end: dt.date
    period: str = Field(description="'Q2 2025', 'H1 2025', '2025' or the dates")
    reported_at: dt.datetime
    collections: float
    debt_service_due: float
    coverage: float | None = Field(
        None, description="collections / debt service due; none when nothing was due"
    )
    reserve_balance: float | None = None
    reserve_required: float | None = None
    delinquency_pct: float | None = None
    default_pct: float | None = None
    triggers_breached: list[str] = Field(default_factory=list)
    currency: str = "CNY"

    @property
    def reserve_short(self) -> bool:
        balance, required = self.reserve_balance, self.reserve_required
        return balance is not None and required is not None and required > 0 and balance < required

    def brief(self) -> str:
        """'0.75x Q2 2025, reserve 25%, breached dscr_below_1_1': the reserve (its balance as a share of what
        is required) only when short; the amounts are in the JSON and on the deal's page."""
        head = "-" if self.coverage is None else f"{self.coverage:.2f}x"
        words = [f"{head} {self.period}"]
        if self.reserve_short:
            assert self.reserve_balance is not None and self.reserve_required is not None
            words.append(f"reserve {100 * self.reserve_balance / self.reserve_required:.0f}%")
        if self.triggers_breached:
            words.append("breached " + " ".join(self.triggers_breached))
        return ", ".join(words)


class AgencyRating(BaseModel):
    """One agency's latest rating of a subject against its reference (the agency's earliest), as
    rating_downgrade compares them."""

    agency: str
    rating: str
    outlook: str | None = None
    rated_at: dt.datetime
    reference_rating: str
    reference_at: dt.datetime
    notches_down: int = Field(description="latest against reference; > 0 a downgrade, < 0 an upgrade")

    def brief(self) -> str:
        """'CCXI AA- negative (from AA+)'; the reference only when the rating moved."""
        text = f"{self.agency} {self.rating}"
        if self.outlook:
            text += f" {self.outlook}"
        if self.rating != self.reference_rating:
            text += f" (from {self.reference_rating})"
        return text


def last_distribution(tranche: TrancheState) -> LastDistribution | None:
    report = payments.newest_report(tranche)
    return None if report is None else _distribution(report)


def _distribution(report: PaymentReport) -> LastDistribution:
    return LastDistribution(
        payment_date=report.payment_date,
        reported_at=report.reported_at,
        interest_due=report.interest_due,
        interest_paid=report.interest_paid,
        principal_due=report.principal_due,
        principal_paid=report.principal_paid,
        shortfall=payments.shortfall(report),
        support_drawn=report.support_drawn,
        factor_after=report.factor_after,
        currency=report.currency,
    )


def distributions(tranche: TrancheState) -> list[LastDistribution]:
    """Every kept report, newest payment date first (the tranche page's table)."""
    return [_distribution(tranche.reports[key]) for key in sorted(tranche.reports, reverse=True)]


def last_coverage(deal_id: str, deal: DealState | None) -> LastCoverage | None:
    report = deal.newest_servicer_report() if deal is not None else None
    return None if report is None else coverage_of(deal_id, report)


def coverage_of(deal_id: str, report: CollateralReport) -> LastCoverage:
    due = report.debt_service_due
    return LastCoverage(
        deal_id=deal_id,
        period_start=report.period_start,
        period_end=report.period_end,
        period=collateral.period_name(report),
        reported_at=report.reported_at,
        collections=report.collections,
        debt_service_due=due,
        # Rounded as coverage_shortfall rounds it, so 1.2 shown is the 1.2 judged.
        coverage=round(report.collections / due, 10) if due > 0 else None,
        reserve_balance=report.reserve_balance,
        reserve_required=report.reserve_required,
        delinquency_pct=report.delinquency_pct,
        default_pct=report.default_pct,
        triggers_breached=collateral.breached(report),
        currency=report.currency,
    )


def coverage_history(deal_id: str, deal: DealState) -> list[LastCoverage]:
    """Every kept servicer report, newest period first (the deal's API and page)."""
    kept = deal.servicer_reports
    return [coverage_of(deal_id, kept[key]) for key in sorted(kept, reverse=True)]


def agency_ratings(ratings: dict[str, AgencyRatings]) -> list[AgencyRating]:
    """By agency name."""
    return [
        AgencyRating(
            agency=agency,
            rating=kept.latest.rating,
            outlook=kept.latest.outlook,
            rated_at=kept.latest.ts,
            reference_rating=kept.earliest.rating,
            reference_at=kept.earliest.ts,
            notches_down=rating_downgrade.notches_down(kept),
        )
        for agency, kept in sorted(ratings.items())
    ]


def ratings_brief(ratings: list[AgencyRating]) -> str:
    return "; ".join(r.brief() for r in ratings)
