"""The documents kept in Redis, one per tranche, issuer, deal and one for the market.

Each document carries the alerts whose subject it is, so that a rule reads and writes one place and the
whole batch commits in one atomic step.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, computed_field

from alerts.core.antinoise import NoiseState
from alerts.core.model import Alert, Severity
from streams.model.analytics import quote_analytics
from streams.model.events import Deal, TrancheTerms


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alerts: dict[str, Alert] = Field(default_factory=dict)  # by rule name
    noise: dict[str, NoiseState] = Field(default_factory=dict)  # by rule name, only for rules with a policy


class QuoteMark(BaseModel):
    event_id: str
    ts: dt.datetime
    price: float


class Latch(BaseModel):
    """The severity a hysteresis rule holds, and the quote that last moved it (None severity: cleared).

    Kept apart from the alert so that quotes read before their deal's terms latch exactly as quotes read
    after; the alert then follows the latch whatever order the topics were read in.
    """

    severity: Severity | None
    event_id: str
    ts: dt.datetime
    value: float


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
    announced_at: dt.datetime | None = None  # of its deal: tranche rules are judged no earlier than this
    latches: dict[str, Latch] = Field(default_factory=dict)  # by rule name, for rules with hysteresis

    # mypy does not follow a decorator over @property; pydantic documents this pairing.
    @computed_field(  # type: ignore[prop-decorator]
        description="accrued interest, dirty price and yield at the newest quote (QuantLib)"
    )
    @property
    def analytics(self) -> dict[str, float]:
        """Derived from `last_quote` and `terms` when read (an alert's evidence, the state API), never stored:
        a yield solve per quote was a quarter of the rules' time, and a derived figure cannot go stale."""
        quote, terms = self.last_quote, self.terms
        if quote is None or terms is None:
            return {}
        found = quote_analytics(terms, quote.price, quote.ts)
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


class DealState(_Doc):
    deal: Deal


class AlertBox(_Doc):
    """Alerts of one subject kept inside another document, e.g. the issuance record of one year."""


class MarketState(_Doc):
    """Market-wide figures: deals per calendar year, for issuance_record. Only deals write it.

    stale_quote's event-time clock and its index of watched tranches are kept beside the documents
    (streams/state/keys.py: `clock`, `stale:watching`), so that quotes never read or write this document.
    """

    deals_by_year: dict[str, list[str]] = Field(default_factory=dict)  # distinct deal ids, recent years only
    deal_counts: dict[str, int] = Field(default_factory=dict)  # every year seen; ids of old years are dropped
    records: dict[str, AlertBox] = Field(default_factory=dict)  # issuance_record alerts by year
