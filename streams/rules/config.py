"""Each rule's table of thresholds, validated: a misspelt key or a warning above its critical level fails at start.

One TOML file holds them all (see deploy/rules.example.toml; the whole file is `RulesConfig` in
streams/rules/registry.py); every table and key is optional and defaults to the wire contract's values.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streams.model.events import RATING_SCALE

Year = Annotated[int, Field(ge=1900, le=2200)]


class RuleConfig(BaseModel):
    """The table every rule has: `enabled`, and its own thresholds in a subclass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


def _require_ordered(rule: str, names: tuple[str, ...], values: tuple[float, ...]) -> None:
    if any(lower > upper for lower, upper in itertools.pairwise(values)):
        shown = ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))
        raise ValueError(f"{rule} needs {' <= '.join(names)}, got {shown}")


class BelowParConfig(RuleConfig):
    warning_discount: float = Field(2.0, gt=0)
    critical_discount: float = Field(5.0, gt=0)
    resolve_discount: float = Field(1.5, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require_ordered(
            "below_par",
            ("resolve_discount", "warning_discount", "critical_discount"),
            (self.resolve_discount, self.warning_discount, self.critical_discount),
        )
        return self


class PriceDropConfig(RuleConfig):
    warning_drop: float = Field(2.0, gt=0)
    critical_drop: float = Field(4.0, gt=0)
    # Not in the contract: 0.5 under the warning level, like below_par, so one tick does not flap the alert.
    resolve_drop: float = Field(1.5, ge=0)
    lookback_days: int = Field(7, ge=1, le=366)
    # v2: the tranche's newest earlier quote counts too, however old, so thin paper quoted weeks apart is
    # still compared with its last print. False: the window alone (v1).
    compare_previous_quote: bool = True
    # Safety cap on TrancheState.recent; the window keeps only quotes that can still be a 7-day high.
    max_points: int = Field(256, ge=2, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require_ordered(
            "price_drop",
            ("resolve_drop", "warning_drop", "critical_drop"),
            (self.resolve_drop, self.warning_drop, self.critical_drop),
        )
        return self


class IssuerLossWideningConfig(RuleConfig):
    # Growth of the annualised loss, newest period over its baseline.
    warning_multiple: float = Field(5.0, gt=1)
    critical_multiple: float = Field(10.0, gt=1)
    warn_on_swing_to_loss: bool = True
    # v2: the baseline is the same period one year earlier when reported (start and end each within this
    # many days of one year before the newest's), else the period before the newest. False: always the
    # period before (v1), which compares a half-year with a full year booked with year-end subsidies.
    like_for_like: bool = True
    like_for_like_tolerance_days: int = Field(7, ge=0, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require_ordered(
            "issuer_loss_widening",
            ("warning_multiple", "critical_multiple"),
            (self.warning_multiple, self.critical_multiple),
        )
        return self


class IssuerDeepLossConfig(RuleConfig):
    # Net loss as a percentage of revenue, in the issuer's newest period with revenue > 0.
    warning_loss_pct_of_revenue: float = Field(50.0, gt=0)
    # Resolves below this (or on a profit); in between, the alert keeps its state.
    resolve_loss_pct_of_revenue: float = Field(40.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require_ordered(
            "issuer_deep_loss",
            ("resolve_loss_pct_of_revenue", "warning_loss_pct_of_revenue"),
            (self.resolve_loss_pct_of_revenue, self.warning_loss_pct_of_revenue),
        )
        return self


class DistressedTrancheConfig(RuleConfig):
    """Fires from the states of below_par and issuer_loss_widening, so it has no threshold of its own."""


class IssuingIntoWeaknessConfig(RuleConfig):
    """Fires from the states of other rules (below_par, issuer_loss_widening, the payment and rating rules on
    the issuer's tranches, coverage_shortfall and trigger_breach on its other deals), so it has no threshold
    of its own."""


class IssuanceRecordConfig(RuleConfig):
    # Deals per calendar year before the stream began (e.g. from Wind or ChinaBond), by year.
    baseline: dict[Year, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # Years whose deal ids are kept for de-duplication; older years keep only their count.
    keep_ids_years: int = Field(2, ge=1, le=50)


class IssuanceValueRecordConfig(RuleConfig):
    # Sum of the deals' tranche face values per calendar year before the stream began, by year.
    baseline: dict[Year, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    # As issuance_record's: the market keeps one set of deal ids, for the smaller of the two windows.
    keep_ids_years: int = Field(2, ge=1, le=50)


class StaleQuoteConfig(RuleConfig):
    # More than this many China (Shanghai Stock Exchange) trading days without a quote, counted on the
    # stream's event-time clock (the newest quote time of any tranche).
    trading_days: int = Field(5, ge=1, le=250)
    # Relative threshold (off by default): a tranche is stale only after max(trading_days, k x the median
    # trading-day gap of its last `relative_quotes` quotes), at most relative_max_trading_days, once it has
    # `relative_min_quotes` quotes: thinly traded paper quoted weekly does not raise an alert every week. A cap
    # under trading_days leaves trading_days.
    relative: bool = False
    relative_multiple: float = Field(3.0, gt=0)  # k
    relative_quotes: int = Field(20, ge=3, le=100)
    relative_min_quotes: int = Field(5, ge=3, le=100)
    relative_max_trading_days: int = Field(60, ge=1, le=250)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require_ordered(
            "stale_quote",
            ("relative_min_quotes", "relative_quotes"),
            (self.relative_min_quotes, self.relative_quotes),
        )
        return self


class FutureTimestampConfig(RuleConfig):
    """Dead-letters a quote stamped this far ahead of its Kafka record's timestamp (kind future_timestamp).

    Not a rule but a check on input, kept here with every other threshold: such a quote would move the
    stream's event-time clock (stale_quote) into the future, where no genuine quote could follow it."""

    max_ahead_minutes: float = Field(10.0, gt=0)


class AfterMaturityConfig(RuleConfig):
    """Dead-letters a quote settling on or after its tranche's maturity date, once the terms are known (kind
    after_maturity); quotes read before the terms stop counting when the terms arrive."""


class MissedPaymentConfig(RuleConfig):
    """missed_payment: a shortfall of at least this many currency units on the newest distribution report."""

    min_shortfall: float = Field(1.0, gt=0)


class SupportDrawnConfig(RuleConfig):
    """support_drawn: at least this many currency units drawn from support on the newest report."""

    min_support: float = Field(1.0, gt=0)


class DistributionOverdueConfig(RuleConfig):
    """distribution_overdue: a scheduled payment date more than this many China (Shanghai Stock Exchange)
    trading days behind the stream's event-time clock without a report, once the tranche has one."""

    trading_days: int = Field(5, ge=1, le=250)


class CoverageShortfallConfig(RuleConfig):
    """coverage_shortfall: collections / debt_service_due on the deal's newest servicer report."""

    critical_below: float = Field(1.0, gt=0)
    warning_below: float = Field(1.2, gt=0)
    resolve_at: float = Field(1.3, gt=0)  # between warning_below and this, the alert keeps its state

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require_ordered(
            "coverage_shortfall",
            ("critical_below", "warning_below", "resolve_at"),
            (self.critical_below, self.warning_below, self.resolve_at),
        )
        return self


class TriggerBreachConfig(RuleConfig):
    """trigger_breach: any trigger the newest servicer report marks breached (no threshold of its own)."""


class ReserveShortfallConfig(RuleConfig):
    """reserve_shortfall: reserve_balance below reserve_required (> 0) on the newest servicer report."""


class StressedCollateralConfig(RuleConfig):
    """stressed_collateral: below_par on the tranche and coverage_shortfall or trigger_breach on its deal at
    once; it fires from their states, so it has no threshold of its own."""


class RatingDowngradeConfig(RuleConfig):
    """rating_downgrade: per agency, the latest rating against that agency's earliest for the subject."""

    critical_notches: int = Field(3, ge=1)
    # After any downgrade, a latest rating below this grade is critical (the China scale, AAA to D).
    critical_below: str = "A-"

    @model_validator(mode="after")
    def _on_the_scale(self) -> Self:
        if self.critical_below not in RATING_SCALE:
            raise ValueError(
                f"rating_downgrade.critical_below {self.critical_below!r} is not on the China scale"
            )
        return self


class FamilyStressConfig(RuleConfig):
    """family_stress: distinct issuers of one credit family with a firing critical alert of the counted rules;
    resolves below `warning_issuers`."""

    warning_issuers: int = Field(2, ge=2)
    critical_issuers: int = Field(3, ge=2)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.critical_issuers < self.warning_issuers:
            raise ValueError(
                f"family_stress: critical_issuers {self.critical_issuers} is below warning_issuers "
                f"{self.warning_issuers}"
            )
        return self
