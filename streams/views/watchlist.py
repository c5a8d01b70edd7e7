"""The watchlist: one row per tranche from the live state documents, for the CLI and the HTTP API alike.

Framework-free and pure: it takes documents already read (streams/state/reader.py) and returns pydantic
models, so the command, the API and the tests share one definition of every column.

Quote age is counted in China trading days on the stream's event-time clock (the newest quote of any
tranche), the clock stale_quote judges on, so a row flagged stale here is one the rule fires on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.model.positions import Positions
from streams.model.schedule import settlement_date
from streams.model.state import DealState, EntityState, IssuerState, TrancheState
from streams.rules import issuer_loss_widening, stale_quote
from streams.rules.below_par import discount_to_par
from streams.rules.config import StaleQuoteConfig
from streams.views.credit import (
    AgencyRating,
    LastCoverage,
    LastDistribution,
    agency_ratings,
    last_coverage,
    last_distribution,
)

SortKey = Literal["discount", "mtm_loss", "loss_trend", "quote_age", "holding", "tranche"]


class WatchRow(BaseModel):
    tranche_id: str
    deal_id: str | None = None
    issuer_id: str | None = None
    issuer_name: str | None = None
    province: str | None = None
    asset_type: str | None = None
    seniority: str | None = None
    currency: str = "CNY"
    face_value: float | None = None
    price: float | None = Field(None, description="newest price, as quoted (see price_basis)")
    price_basis: str | None = Field(
        None, description="remaining: per 100 outstanding; original: per 100 face"
    )
    clean_price: float | None = Field(None, description="newest clean price per 100 of outstanding principal")
    discount: float | None = Field(None, description="100 - clean_price")
    factor: float | None = Field(None, description="outstanding / original face at the quote's settlement")
    outstanding_principal: float | None = Field(None, description="face value x factor")
    mark_to_market_loss: float | None = Field(None, description="outstanding principal x discount / 100")
    ytm_pct: float | None = None
    ytp_pct: float | None = Field(None, description="yield to the first put date after settlement")
    wal_years: float | None = Field(None, description="weighted-average life of the principal left")
    last_quote_at: dt.datetime | None = None
    quote_age_trading_days: int | None = Field(
        None, description="China trading days since the last quote, on the stream's event-time clock"
    )
    stale: bool = Field(False, description="quote older than stale_quote's trading days")
    issuer_annualised_net_income: float | None = Field(None, description="newest period, x 365 / days")
    issuer_previous_annualised: float | None = Field(None, description="the period before it")
    issuer_loss_trend: float | None = Field(
        None, description="previous minus newest annualised net income: how much worse a year, > 0 worsening"
    )
    last_distribution: LastDistribution | None = Field(
        None,
        description="the trustee's newest distribution report: payment date, interest due and paid, shortfall",
    )
    deal_coverage: LastCoverage | None = Field(
        None, description="its deal's newest servicer report: collections / debt service, reserve, triggers"
    )
    ratings: list[AgencyRating] = Field(
        default_factory=list, description="the tranche's ratings per agency: latest, outlook, reference"
    )
    issuer_ratings: list[AgencyRating] = Field(
        default_factory=list, description="the issuer's ratings per agency: latest, outlook, reference"
    )
    alerts: list[str] = Field(
        default_factory=list, description="rules firing on the tranche, its issuer or its deal"
    )
    holding_face: float | None = Field(
        None, description="face held by all portfolios together; null without a positions file"
    )
    holdings: dict[str, float] = Field(
        default_factory=dict, description="face held (> 0) by portfolio (TRANCHEWATCH_POSITIONS_FILE)"
    )


class Holding(BaseModel):
    """A position (a row of the positions file)."""

    portfolio: str
    tranche_id: str
    holding_face: float


class Watchlist(BaseModel):
    clock: dt.datetime | None = Field(None, description="the stream's event-time clock: newest quote seen")
    stale_after_trading_days: int
    total: int = Field(description="rows matching the filters, before limit and offset")
    rows: list[WatchRow]
    unknown_tranches: list[Holding] = Field(
        default_factory=list,
        description="positions on tranches the state does not know (yet): kept, since the deal may come",
    )


class WatchQuery(BaseModel):
    """Filters and order, as the command's options and the API's query parameters."""

    model_config = ConfigDict(extra="forbid")

    sort: SortKey = "discount"
    order: Literal["desc", "asc"] = "desc"
    issuer: str | None = Field(None, description="issuer id, or part of its name (any case)")
    province: str | None = None
    asset_type: str | None = None
    stale: bool | None = Field(None, description="true: stale rows only; false: fresh rows only")
    portfolio: str | None = Field(None, description="tranches this portfolio holds (> 0) only")
    limit: Annotated[int, Field(ge=1, le=10_000)] = 500
    offset: Annotated[int, Field(ge=0)] = 0


@dataclass
class MarketView:
    """The documents a watchlist is built from."""

    tranches: dict[str, TrancheState] = field(default_factory=dict)
    issuers: dict[str, IssuerState] = field(default_factory=dict)
    deals: dict[str, DealState] = field(default_factory=dict)
    clock: dt.datetime | None = None  # stale_quote's event-time clock
    entities: dict[str, EntityState] = field(default_factory=dict)  # v2: abs.entities, for families
    positions: Positions | None = None  # v2: the holdings in force; None: no positions file configured


def part_of(
    view: MarketView, tranche_ids: Iterable[str], issuer_ids: Iterable[str] = (), deal_ids: Iterable[str] = ()
) -> MarketView:
    """What a few rows are built from: these tranches, their issuers and deals, the ones named, the clock and
    the positions (StateReader.view_of reads the same from Redis without reading the rest)."""
    tranches = {t: view.tranches[t] for t in tranche_ids if t in view.tranches}
    issuers = {*issuer_ids, *(t.issuer_id for t in tranches.values() if t.issuer_id)}
    deals = {*deal_ids, *(t.deal_id for t in tranches.values() if t.deal_id)}
    return MarketView(
        tranches=tranches,
        issuers={i: view.issuers[i] for i in issuers if i in view.issuers},
        deals={d: view.deals[d] for d in deals if d in view.deals},
        clock=view.clock,
        positions=view.positions,
    )


def unknown_holdings(positions: Positions | None, known: Iterable[str]) -> list[Holding]:
    """The positions whose tranche is not in `known`, in file order: kept and reported, not counted."""
    if positions is None:
        return []
    return [
        Holding(portfolio=r.portfolio, tranche_id=r.tranche_id, holding_face=r.holding_face)
        for r in positions.unknown(set(known))
    ]


def _issuer_figures(issuer: IssuerState | None) -> tuple[float | None, float | None, float | None]:
    if issuer is None:
        return None, None, None
    newest, previous = issuer_loss_widening.newest_and_previous(issuer)
    now = newest.annualised if newest else None
    before = previous.annualised if previous else None
    trend = before - now if now is not None and before is not None else None
    return now, before, trend


def _firing(tranche: TrancheState, issuer: IssuerState | None, deal: DealState | None = None) -> list[str]:
    # The deal's collateral alerts (coverage_shortfall, trigger_breach...) concern each of its tranches.
    docs = [tranche, *([issuer] if issuer else []), *([deal] if deal else [])]
    return sorted({a.rule for d in docs for a in d.alerts.values() if a.status == "firing"})


def build_row(view: MarketView, tranche: TrancheState, cfg: StaleQuoteConfig) -> WatchRow:
    issuer = view.issuers.get(tranche.issuer_id) if tranche.issuer_id else None
    deal = view.deals.get(tranche.deal_id) if tranche.deal_id else None
    quote, terms, clock = tranche.last_quote, tranche.terms, view.clock
    row = WatchRow(
        tranche_id=tranche.tranche_id,
        deal_id=tranche.deal_id,
        issuer_id=tranche.issuer_id,
        issuer_name=issuer.issuer_name if issuer else None,
        province=issuer.province if issuer else None,
        asset_type=deal.deal.asset_type if deal and deal.deal else None,
        seniority=terms.seniority if terms else None,
        currency=tranche.currency,
        face_value=terms.face_value if terms else None,
        alerts=_firing(tranche, issuer, deal),
        last_distribution=last_distribution(tranche),
        deal_coverage=last_coverage(tranche.deal_id, deal) if tranche.deal_id else None,
        ratings=agency_ratings(tranche.ratings),
        issuer_ratings=agency_ratings(issuer.ratings) if issuer else [],
    )
    if view.positions is not None:
        row.holdings = view.positions.held([tranche.tranche_id])
        row.holding_face = sum(view.positions.of_tranche(tranche.tranche_id).values())
    if quote is not None:
        row.price, row.last_quote_at = quote.price, quote.ts
        row.price_basis = "remaining" if quote.clean is None else "original"
        row.clean_price = quote.clean_price
        row.discount = discount_to_par(quote.clean_price)
        found = tranche.quote_analytics()
        if found is not None:
            row.factor, row.outstanding_principal = found.factor, found.outstanding_principal
            row.mark_to_market_loss = found.mark_to_market_loss
            row.ytm_pct, row.ytp_pct, row.wal_years = found.ytm_pct, found.ytp_pct, found.wal_years
        elif terms is not None:  # settled outside the tranche's life: no yields, the money figures still
            row.factor = tranche.factor_at(settlement_date(quote.ts)).value
            row.outstanding_principal = terms.face_value * row.factor
            row.mark_to_market_loss = row.outstanding_principal * row.discount / 100
        if clock is not None:
            row.quote_age_trading_days = stale_quote.trading_days_since(quote.ts, clock)
            row.stale = stale_quote.tranche_is_stale(tranche, clock, cfg)
    now, before, trend = _issuer_figures(issuer)
    row.issuer_annualised_net_income, row.issuer_previous_annualised, row.issuer_loss_trend = (
        now,
        before,
        trend,
    )
    return row


def build_rows(view: MarketView, cfg: StaleQuoteConfig) -> list[WatchRow]:
    """Outstanding tranches: a retired one (a tombstone, streams/engine/retire.py) is served by id alone."""
    return [build_row(view, t, cfg) for _, t in sorted(view.tranches.items()) if t.retired is None]


def _matches(row: WatchRow, query: WatchQuery) -> bool:
    if query.issuer is not None:
        wanted = query.issuer.casefold()
        name = (row.issuer_name or "").casefold()
        if row.issuer_id != query.issuer and wanted not in name:
            return False
    if query.province is not None and (row.province or "").casefold() != query.province.casefold():
        return False
    if query.asset_type is not None and row.asset_type != query.asset_type:
        return False
    if query.portfolio is not None and query.portfolio not in row.holdings:
        return False
    return query.stale is None or row.stale == query.stale


def _sort_value(key: SortKey, row: WatchRow) -> float | None:
    if key == "discount":
        return row.discount
    if key == "mtm_loss":
        return row.mark_to_market_loss
    if key == "loss_trend":
        return row.issuer_loss_trend
    if key == "holding":
        return row.holding_face
    return row.quote_age_trading_days


def select(rows: Iterable[WatchRow], query: WatchQuery) -> tuple[int, list[WatchRow]]:
    """Filters, sorts (rows without the value last, either order; ties by tranche id), then pages."""
    kept = sorted((r for r in rows if _matches(r, query)), key=lambda r: r.tranche_id)
    if query.sort == "tranche":
        ordered = kept[::-1] if query.order == "desc" else kept
    else:
        values = {r.tranche_id: _sort_value(query.sort, r) for r in kept}
        known = [r for r in kept if values[r.tranche_id] is not None]
        # Stable: ties keep tranche order in either direction.
        known.sort(key=lambda r: values[r.tranche_id] or 0.0, reverse=query.order == "desc")
        ordered = known + [r for r in kept if values[r.tranche_id] is None]
    return len(ordered), ordered[query.offset : query.offset + query.limit]


def watchlist(view: MarketView, cfg: StaleQuoteConfig, query: WatchQuery) -> Watchlist:
    total, rows = select(build_rows(view, cfg), query)
    unknown = unknown_holdings(view.positions, view.tranches)
    if query.portfolio is not None:
        unknown = [h for h in unknown if h.portfolio == query.portfolio]
    return Watchlist(
        clock=view.clock,
        stale_after_trading_days=cfg.trading_days,
        total=total,
        rows=rows,
        unknown_tranches=unknown,
    )
