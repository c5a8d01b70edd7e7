"""The input events of the wire contract. Unknown fields are ignored; missing or absurd ones reject."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from alerts.core.china import CHINA_TIME
from streams.model.schedule import coupon_dates

# QuantLib's calendar spans 1901-2199; a quote settles on the next business day and stale_quote walks back
# trading days from the clock: stamps stay a year inside at both ends.
FIRST_YEAR, LAST_YEAR = 1902, 2198


def _plausible_time(value: dt.datetime) -> dt.datetime:
    """A stamp the rules and the analytics can handle, in UTC and in China time alike."""
    try:
        years = {value.year, value.astimezone(dt.UTC).year, value.astimezone(CHINA_TIME).year}
    except OverflowError:
        years = {0}
    if not all(FIRST_YEAR <= year <= LAST_YEAR for year in years):
        raise ValueError(f"{value.isoformat()} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _plausible_date(value: dt.date) -> dt.date:
    if not FIRST_YEAR - 1 <= value.year <= LAST_YEAR + 1:
        raise ValueError(f"{value.isoformat()} is outside the years {FIRST_YEAR - 1} to {LAST_YEAR + 1}")
    return value


EventTime = Annotated[AwareDatetime, AfterValidator(_plausible_time)]
TermsDate = Annotated[dt.date, AfterValidator(_plausible_date)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]
Money = Annotated[float, Field(allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Identifier


class Quote(_Event):
    """A clean price per 100 of face value, keyed by `tranche_id` on `bond.quotes`."""

    tranche_id: Identifier
    ts: EventTime
    price: Annotated[float, Field(gt=0, lt=1000, allow_inf_nan=False)]
    bid: Annotated[float, Field(gt=0, lt=1000, allow_inf_nan=False)] | None = None
    ask: Annotated[float, Field(gt=0, lt=1000, allow_inf_nan=False)] | None = None
    source: Annotated[str, Field(max_length=200)] | None = None
    # v2: `original` is per 100 of original face; the worker divides it by the factor at settlement.
    price_basis: Literal["remaining", "original"] = "remaining"

    @property
    def event_time(self) -> dt.datetime:
        return self.ts


class Amortisation(BaseModel):
    """A scheduled repayment on a coupon date, in % of original face."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    date: TermsDate
    pct_of_original: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]


class TrancheTerms(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tranche_id: Identifier
    face_value: PositiveMoney
    coupon_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    issue_date: TermsDate
    maturity_date: TermsDate
    seniority: Annotated[str, Field(max_length=50)] = "senior"
    # v2, all optional; the defaults are v1's annual interbank bullet. Tuples keep the terms hashable, so that
    # the analytics can be cached per terms.
    coupon_frequency: Literal[1, 2, 4, 12] = 1
    market: Literal["CIBM", "SSE", "SZSE"] = "CIBM"
    amortisation: Annotated[tuple[Amortisation, ...], Field(max_length=1200)] = ()
    put_dates: Annotated[tuple[TermsDate, ...], Field(max_length=1200)] = ()

    @model_validator(mode="after")
    def _maturity_after_issue(self) -> TrancheTerms:
        if self.maturity_date <= self.issue_date:
            raise ValueError(f"maturity_date {self.maturity_date} is not after issue_date {self.issue_date}")
        if self.amortisation or self.put_dates:
            self._on_coupon_dates()
        return self

    def _on_coupon_dates(self) -> None:
        dates = set(self.coupon_dates)
        amortised = [a.date for a in self.amortisation]
        for name, days in (("amortisation", amortised), ("put_dates", list(self.put_dates))):
            if len(set(days)) != len(days):
                raise ValueError(f"{name}: a date appears twice")
            off = sorted(d for d in days if d not in dates)
            if off:
                raise ValueError(
                    f"{name}: {off[0]} is not a coupon date (every {12 // self.coupon_frequency} months "
                    f"back from maturity {self.maturity_date})"
                )
        total = sum(a.pct_of_original for a in self.amortisation)
        if total > 100 + 1e-9:
            raise ValueError(f"amortisation: the repayments sum to {total:g}% of original face, above 100")

    @property
    def coupon_dates(self) -> tuple[dt.date, ...]:
        """Payment dates after issue, rolled back from maturity by 12/f months, unadjusted; maturity last."""
        return coupon_dates(self.issue_date, self.maturity_date, self.coupon_frequency)


class Deal(_Event):
    """An ABS deal announcement with its tranches, keyed by `deal_id` on `abs.deals`."""

    deal_id: Identifier
    issuer_id: Identifier
    issuer_name: Annotated[str, Field(min_length=1, max_length=500)]
    province: Annotated[str, Field(max_length=100)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    announced_at: EventTime
    programme_id: Identifier | None = None
    programme_size: PositiveMoney | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "CNY"
    asset_type: Annotated[str, Field(min_length=1, max_length=100)]
    tranches: Annotated[list[TrancheTerms], Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _distinct_tranches(self) -> Deal:
        ids = [t.tranche_id for t in self.tranches]
        if len(ids) != len(set(ids)):
            raise ValueError("a tranche_id appears twice in this deal")
        return self

    @property
    def event_time(self) -> dt.datetime:
        return self.announced_at


class Financials(_Event):
    """An issuer's reported net income for one period, keyed by `issuer_id` on `issuer.financials`."""

    issuer_id: Identifier
    period_start: dt.date
    period_end: dt.date
    net_income: Money
    revenue: Money | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "CNY"
    reported_at: EventTime

    @model_validator(mode="after")
    def _period_ordered(self) -> Financials:
        if self.period_end < self.period_start:
            raise ValueError(f"period_end {self.period_end} is before period_start {self.period_start}")
        return self

    @property
    def event_time(self) -> dt.datetime:
        return self.reported_at

    @property
    def days(self) -> int:
        """Days in the period, counting both ends (1 Jan to 30 Jun 2025 is 181)."""
        return (self.period_end - self.period_start).days + 1


class Distribution(_Event):
    """v2: the trustee's payment report for one payment date of a tranche, keyed by `tranche_id` on
    `abs.distributions`."""

    tranche_id: Identifier
    payment_date: TermsDate
    reported_at: EventTime
    interest_due: Amount
    interest_paid: Amount
    principal_due: Amount
    principal_paid: Amount
    support_drawn: Amount = 0.0
    factor_after: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "CNY"

    @property
    def event_time(self) -> dt.datetime:
        return self.reported_at


EntityKind = Literal["government", "lgfv", "soe", "private", "other"]


class Entity(_Event):
    """v2: one company or government and its owner, keyed by `entity_id` on `abs.entities`. An issuer's
    `issuer_id` is its entity id; the newest `updated_at` wins (streams/model/family.py follows the owners)."""

    entity_id: Identifier
    name: Annotated[str, Field(max_length=500)] | None = None
    kind: EntityKind
    parent_id: Identifier | None = None
    region: Annotated[str, Field(max_length=200)] | None = None
    updated_at: EventTime

    @model_validator(mode="after")
    def _not_its_own_parent(self) -> Entity:
        if self.parent_id == self.entity_id:
            raise ValueError(f"parent_id {self.parent_id!r} is the entity itself")
        return self

    @property
    def event_time(self) -> dt.datetime:
        return self.updated_at


class Trigger(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    breached: bool


Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class ServicerReport(_Event):
    """v2: collateral performance of a deal for one collection period, keyed by `deal_id` on
    `abs.servicer_reports`: collections against debt service, the reserve, delinquencies, triggers."""

    deal_id: Identifier
    period_start: TermsDate
    period_end: TermsDate
    reported_at: EventTime
    collections: Amount
    debt_service_due: Amount
    reserve_balance: Amount | None = None
    reserve_required: Amount | None = None
    delinquency_pct: Percent | None = None
    default_pct: Percent | None = None
    triggers: Annotated[list[Trigger], Field(max_length=100)] = Field(default_factory=list)
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "CNY"

    @model_validator(mode="after")
    def _period_ordered(self) -> ServicerReport:
        if self.period_end < self.period_start:
            raise ValueError(f"period_end {self.period_end} is before period_start {self.period_start}")
        return self

    @property
    def event_time(self) -> dt.datetime:
        return self.reported_at


# The China scale, best to worst; one step is a notch. A structured-finance suffix (`sf`, `(sf)`) is allowed.
RATING_SCALE: Final = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC", "CC", "C", "D",
)  # fmt: skip
_SUFFIX = re.compile(r"(?:sf|\(sf\))$")


def rating_grade(rating: str) -> str:
    """'AA+(sf)' -> 'AA+': the grade on the scale, without the structured-finance suffix."""
    return _SUFFIX.sub("", rating)


def _on_the_scale(value: str) -> str:
    if rating_grade(value) not in RATING_SCALE:
        raise ValueError(
            f"rating {value!r} is not on the China scale (AAA to D, optionally suffixed sf or (sf))"
        )
    return value


class Rating(_Event):
    """v2: one agency's rating of a tranche or an issuer (exactly one of them), keyed by the subject's id on
    `abs.ratings`."""

    tranche_id: Identifier | None = None
    issuer_id: Identifier | None = None
    agency: Annotated[str, Field(min_length=1, max_length=100)]
    rating: Annotated[str, Field(max_length=20), AfterValidator(_on_the_scale)]
    outlook: Literal["positive", "stable", "negative", "developing"] | None = None
    ts: EventTime

    @model_validator(mode="after")
    def _one_subject(self) -> Rating:
        if (self.tranche_id is None) == (self.issuer_id is None):
            raise ValueError("a rating names exactly one of tranche_id and issuer_id")
        return self

    @property
    def event_time(self) -> dt.datetime:
        return self.ts


Event = Quote | Deal | Financials | Distribution | ServicerReport | Rating | Entity
MODEL_OF_TOPIC: dict[str, type[Event]] = {
    "bond.quotes": Quote,
    "abs.deals": Deal,
    "issuer.financials": Financials,
    "abs.distributions": Distribution,
    "abs.servicer_reports": ServicerReport,
    "abs.ratings": Rating,
    "abs.entities": Entity,
}
