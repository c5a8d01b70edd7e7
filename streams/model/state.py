"""The documents kept in Redis, one per tranche, issuer, deal and one for the market.

Each document carries the alerts whose subject it is, so that a rule reads and writes one place and the
whole batch commits in one atomic step.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from alerts.core.antinoise import NoiseState
from alerts.core.model import Alert, Severity
from streams.model.analytics import Analytics, Factor, factor_at, quote_analytics
from streams.model.events import Deal, EntityKind, TrancheTerms, Trigger


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alerts: dict[str, Alert] = Field(default_factory=dict)  # by rule name
    noise: dict[str, NoiseState] = Field(default_factory=dict)  # by rule name, only for rules with a policy


class QuoteMark(BaseModel):
    event_id: str
    ts: dt.datetime
    price: float  # as quoted
    # v2: for a price quoted per 100 of original face, the price per 100 of outstanding principal (the price
    # divided by the factor at settlement, as known when last normalised); None: `price` is that already.
    clean: float | None = None

    @property
    def clean_price(self) -> float:
        """Per 100 of outstanding principal: what below_par and price_drop judge."""
        return self.price if self.clean is None else self.clean


class _Reported(Protocol):
    @property
    def reported_at(self) -> dt.datetime: ...


R = TypeVar("R", bound=_Reported)


def keep_report(kept: dict[str, R], key: str, report: R, limit: int) -> bool:
    """Files a report under `key` (a payment date or a period, ISO, so that keys sort by time) unless that key
    was already reported later, keeping the newest `limit` keys. True if it was kept: a restatement wins over
    a redelivered original, as for financials."""
    known = kept.get(key)
    if known is not None and known.reported_at > report.reported_at:
        return False
    if known is None and len(kept) >= limit and key < min(kept):
        return False  # older than every key kept
    kept[key] = report
    for old in sorted(kept)[:-limit]:
        del kept[old]
    return True


MAX_AGENCIES = 20  # agencies whose ratings are kept per subject: China has a handful


class RatingMark(BaseModel):
    event_id: str
    ts: dt.datetime
    rating: str
    outlook: str | None = None


class AgencyRatings(BaseModel):
    """One agency's reference (its earliest rating of the subject) and its latest; rating_downgrade compares
    the two, so the history between them need not be kept."""

    earliest: RatingMark
    latest: RatingMark

    def take(self, mark: RatingMark) -> bool:
        """Files a rating; True if the earliest or the latest changed (a tie in time: the later arrival)."""
        changed = False
        if mark.ts < self.earliest.ts:
            self.earliest, changed = mark, True
        if mark.ts >= self.latest.ts:
            self.latest, changed = mark, True
        return changed


def file_rating(ratings: dict[str, AgencyRatings], agency: str, mark: RatingMark) -> bool:
    """Keeps `mark` among a subject's ratings by agency (bounded by MAX_AGENCIES); True if anything changed."""
    known = ratings.get(agency)
    if known is not None:
        return known.take(mark)
    if len(ratings) >= MAX_AGENCIES:
        return False
    ratings[agency] = AgencyRatings(earliest=mark, latest=mark)
    return True


MAX_REPORTS = 40  # payment dates kept per tranche: ten years of quarterly reports


class PaymentReport(BaseModel):
    """One payment date's distribution report (abs.distributions), as the payment rules will need it."""

    event_id: str
    payment_date: dt.date
    reported_at: dt.datetime
    interest_due: float
    interest_paid: float
    principal_due: float
    principal_paid: float
    support_drawn: float = 0.0
    factor_after: float | None = None
    currency: str = "CNY"


class DealSign(BaseModel):
    """A firing collateral alert of a tranche's deal (coverage_shortfall, trigger_breach), copied onto the
    tranche by stressed_collateral: a quote then judges it without loading its deal."""

    fingerprint: str
    severity: Severity
    starts_at: dt.datetime
    summary: str


class Latch(BaseModel):
    """The severity a hysteresis rule holds, and the quote that last moved it (None severity: cleared).

    Kept apart from the alert so that quotes read before their deal's terms latch exactly as quotes read
    after; the alert then follows the latch whatever order the topics were read in.
    """

    severity: Severity | None
    event_id: str
    ts: dt.datetime
    value: float


class Retirement(BaseModel):
    """What is left to say of a retired tranche or deal (streams/engine/retire.py): it matured, and the stream's
    event-time clock passed its maturity plus the grace (TRANCHEWATCH_RETIRE_AFTER_DAYS)."""

    retired_at: dt.datetime  # event time: midnight (China time) of the maturity date, plus the grace
    maturity_date: dt.date  # of a deal: its last tranche's
    reason: str


class TrancheState(_Doc):
    tranche_id: str
    deal_id: str | None = None
    issuer_id: str | None = None
    programme_id: str | None = None
    currency: str = "CNY"
    terms: TrancheTerms | None = None
    last_quote: QuoteMark | None = None
    # Quotes that can still be the look-back high of price_drop, oldest first with strictly falling prices
    # (a quote with a later one at least as high can never be the high again); capped by max_points.
    recent: list[QuoteMark] = Field(default_factory=list)
    # The newest quote stamped before `last_quote`, however old: price_drop compares with it too (v2).
    previous_quote: QuoteMark | None = None
    # Trading days between its newest quotes, newest last, for stale_quote's relative threshold (kept only
    # while it is on; at most relative_quotes - 1).
    quote_gaps: list[int] = Field(default_factory=list)
    announced_at: dt.datetime | None = None  # of its deal: tranche rules are judged no earlier than this
    latches: dict[str, Latch] = Field(default_factory=dict)  # by rule name, for rules with hysteresis
    # v2: distribution reports by payment date (ISO), the newest MAX_REPORTS payment dates; kept before the
    # deal's terms arrive, as quotes are.
    reports: dict[str, PaymentReport] = Field(default_factory=dict)
    ratings: dict[str, AgencyRatings] = Field(default_factory=dict)  # v2: by agency (abs.ratings)
    # v2, stressed_collateral: its deal's firing coverage_shortfall and trigger_breach, by rule, as last seen
    # with the deal loaded (a servicer report or the deal read); kept only while that rule is on.
    deal_signs: dict[str, DealSign] = Field(default_factory=dict)
    # Set once retired: the document is then a tombstone (ids, the newest quote, this), kept for the API;
    # events about it are dead-lettered instead of bringing it back.
    retired: Retirement | None = None

    def reported_factors(self) -> list[tuple[dt.date, float]]:
        return [(r.payment_date, r.factor_after) for r in self.reports.values() if r.factor_after is not None]

    def factor_at(self, settlement: dt.date) -> Factor:
        return factor_at(self.terms, self.reported_factors(), settlement)

    def quote_analytics(self, quote: QuoteMark | None = None) -> Analytics | None:
        """The contract's analytics at `quote` (default: the newest); None before terms or outside the life."""
        quote, terms = quote or self.last_quote, self.terms
        if quote is None or terms is None:
            return None
        return quote_analytics(terms, quote.clean_price, quote.ts, self.reported_factors())

    # mypy does not follow a decorator over @property; pydantic documents this pairing.
    @computed_field(  # type: ignore[prop-decorator]
        description="factor, outstanding principal, clean and dirty price, accrued interest, yields to "
        "maturity and put, WAL, discount and mark-to-market loss at the newest quote (contract: Analytics)"
    )
    @property
    def analytics(self) -> dict[str, float]:
        """Derived from `last_quote`, `terms` and `reports` when read (an alert's evidence, the state API), never
        stored: a yield solve per quote was a quarter of the rules' time, and a derived figure cannot go stale."""
        found = self.quote_analytics()
        return found.as_evidence() if found is not None else {}


class PeriodFigure(BaseModel):
    event_id: str
    period_start: dt.date
    period_end: dt.date
    net_income: float
    revenue: float | None = None
    currency: str = "CNY"
    reported_at: dt.datetime

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1

    @property
    def annualised(self) -> float:
        return self.net_income * 365 / self.days


class IssuerState(_Doc):
    issuer_id: str
    issuer_name: str | None = None
    province: str | None = None
    city: str | None = None
    tranche_ids: list[str] = Field(default_factory=list)
    deal_ids: list[str] = Field(default_factory=list)
    periods: dict[str, PeriodFigure] = Field(default_factory=dict)  # by "start/end"
    ratings: dict[str, AgencyRatings] = Field(default_factory=dict)  # v2: by agency (abs.ratings)


MAX_SERVICER_REPORTS = 40  # collection periods kept per deal: ten years of quarterly reports


class CollateralReport(BaseModel):
    """One collection period's servicer report (abs.servicer_reports), as the collateral rules read it."""

    event_id: str
    period_start: dt.date
    period_end: dt.date
    reported_at: dt.datetime
    collections: float
    debt_service_due: float
    reserve_balance: float | None = None
    reserve_required: float | None = None
    delinquency_pct: float | None = None
    default_pct: float | None = None
    triggers: list[Trigger] = Field(default_factory=list)
    currency: str = "CNY"

    @property
    def period(self) -> str:
        """Its key among the deal's reports: sorts by period_end, then period_start (the contract's newest)."""
        return f"{self.period_end.isoformat()}/{self.period_start.isoformat()}"


class DealState(_Doc):
    # None while only servicer reports were read: they are kept, and judged when the deal arrives.
    deal: Deal | None = None
    servicer_reports: dict[str, CollateralReport] = Field(default_factory=dict)  # by CollateralReport.period
    # Set once its last tranche retired: the reports and alerts are dropped, the deal's terms kept for the API.
    retired: Retirement | None = None

    def newest_servicer_report(self) -> CollateralReport | None:
        return self.servicer_reports[max(self.servicer_reports)] if self.servicer_reports else None


class EntityState(_Doc):
    """v2: one entity of abs.entities as last reported (the newest `updated_at`), who owns it included."""

    entity_id: str
    event_id: str
    name: str | None = None
    kind: EntityKind
    parent_id: str | None = None
    region: str | None = None
    updated_at: dt.datetime


class AlertBox(_Doc):
    """Alerts of one subject kept inside another document, e.g. the issuance record of one year."""


class StressMark(BaseModel):
    """One firing critical alert that counts towards its issuer's family (family_stress), by fingerprint."""

    rule: str
    doc: str  # the state document the alert lives on ("tranche:T", "deal:D", "issuer:I")
    subject: str  # the alert's subject key
    starts_at: dt.datetime
    summary: str
    # When it became critical: its starts_at, or later when a warning escalated. None on marks written before
    # the field existed (their starts_at stands in).
    critical_since: dt.datetime | None = None


class FamilyState(_Doc):
    """v2, one document for all families (streams/rules/family_stress.py): the issuers with a firing critical
    alert of the counted rules, and each family root's family_stress alert. Small: it holds only stressed
    issuers, not the families themselves, which are followed from the entity documents when judged."""

    stressed: dict[str, dict[str, StressMark]] = Field(
        default_factory=dict
    )  # issuer id -> fingerprint -> mark
    records: dict[str, AlertBox] = Field(default_factory=dict)  # family root entity id -> its alert


class MarketState(_Doc):
    """Market-wide figures: deals and their face value per calendar year, for issuance_record and
    issuance_value_record. Only deals write it.

    stale_quote's event-time clock and its index of watched tranches are kept beside the documents
    (streams/state/keys.py: `clock`, `stale:watching`), so that quotes never read or write this document.
    """

    deals_by_year: dict[str, list[str]] = Field(default_factory=dict)  # distinct deal ids, recent years only
    deal_counts: dict[str, int] = Field(default_factory=dict)  # every year seen; ids of old years are dropped
    # Sum of the counted deals' tranche face values by year. A year counted before values were kept has
    # none (its value is unknown, not zero): it neither fires nor counts as an earlier year.
    deal_values: dict[str, float] = Field(default_factory=dict)
    records: dict[str, AlertBox] = Field(default_factory=dict)  # issuance record alerts by year (both rules)
