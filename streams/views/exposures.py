"""Exposures (contract v2): the known tranches summed by credit family, province or asset type.

Pure, like the watchlist: it takes documents already read and returns the contract's rows, so the state API
(`GET /api/v1/exposures`) and `tranchewatch watchlist --group-by` print the same figures.

Every tranche with known terms is counted once, in its group: family = its issuer's family root
(streams/model/family.py), province = its issuer's, asset type = its deal's (`unknown` when not known).
Money is in each tranche's currency as reported (the contract's universe is CNY). At the stream's clock (the
newest quote seen): outstanding principal = face value x factor at the clock's settlement date (schedule
and distribution reports); mark-to-market loss = that outstanding x (100 - newest clean price) / 100, 0 for
a tranche never quoted. `firing` counts the alerts firing on the group's tranches, deals and issuers, each
once.

Holdings (TRANCHEWATCH_POSITIONS_FILE, streams/model/positions.py): `holding_face` is the face the
portfolios hold of the group's tranches, null when no positions file is configured. `group_by=portfolio`
has one row per portfolio over the tranches it holds (> 0): a tranche held by two portfolios counts in both
rows, with each portfolio's own holding, and a tranche nobody holds is in no row (the other groupings count
every tranche). A position on a tranche no deal has described yet is kept and listed in `unknown_tranches`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from alerts.core.format import money
from streams.model.family import family_root
from streams.model.schedule import settlement_date
from streams.model.state import TrancheState, _Doc
from streams.views.watchlist import Holding, MarketView, unknown_holdings

GroupBy = Literal["family", "province", "asset_type", "portfolio"]
GROUPS: tuple[GroupBy, ...] = ("family", "province", "asset_type", "portfolio")
UNKNOWN = "unknown"


class Firing(BaseModel):
    critical: int = 0
    warning: int = 0
    info: int = 0


class ExposureRow(BaseModel):
    key: str = Field(description="the family root entity, the province, the asset type or the portfolio")
    issuers: int
    tranches: int
    face_value: float
    outstanding_principal: float = Field(description="face value x factor at the stream's clock")
    mark_to_market_loss: float = Field(description="outstanding x (100 - newest clean price) / 100")
    holding_face: float | None = Field(
        None,
        description="face held of the group's tranches (by the row's portfolio for group_by=portfolio); "
        "null without a positions file",
    )
    firing: Firing


class Exposures(BaseModel):
    group_by: GroupBy
    clock: dt.datetime | None = Field(None, description="the stream's event-time clock: newest quote seen")
    rows: list[ExposureRow] = Field(description="largest outstanding principal first")
    unknown_tranches: list[Holding] = Field(
        default_factory=list,
        description="positions on tranches no deal has described yet: kept (the deal may come), not counted",
    )


def group_key(
    view: MarketView, tranche: TrancheState, group_by: GroupBy, parents: dict[str, str | None]
) -> str:
    issuer = view.issuers.get(tranche.issuer_id) if tranche.issuer_id else None
    if group_by == "family":
        return family_root(tranche.issuer_id, parents) if tranche.issuer_id else UNKNOWN
    if group_by == "province":
        return (issuer.province if issuer else None) or UNKNOWN
    deal = view.deals.get(tranche.deal_id) if tranche.deal_id else None
    return deal.deal.asset_type if deal is not None and deal.deal is not None else UNKNOWN


def group_keys(
    view: MarketView, tranche: TrancheState, group_by: GroupBy, parents: dict[str, str | None]
) -> list[tuple[str, float | None]]:
    """The rows a tranche counts in, each with the face held that the row counts (None: no positions)."""
    positions = view.positions
    if group_by == "portfolio":
        held = positions.held([tranche.tranche_id]) if positions is not None else {}
        return list(held.items())
    total = sum(positions.held([tranche.tranche_id]).values()) if positions is not None else None
    return [(group_key(view, tranche, group_by, parents), total)]


def _money(tranche: TrancheState, clock: dt.datetime | None) -> tuple[float, float]:
    """Outstanding principal and mark-to-market loss at the clock."""
    assert tranche.terms is not None
    face, quote = tranche.terms.face_value, tranche.last_quote
    when = clock or (quote.ts if quote else None)
    factor = tranche.factor_at(settlement_date(when)).value if when is not None else 1.0
    outstanding = face * factor
    loss = outstanding * (100 - quote.clean_price) / 100 if quote is not None else 0.0
    return outstanding, loss


def row_cells(row: ExposureRow) -> list[str]:
    """A row's figures as text, in the order of the watchlist's and the report's exposure tables (after the
    key): issuers, tranches, face, outstanding, MTM loss, held, firing C/W/I."""
    return [
        str(row.issuers),
        str(row.tranches),
        money(row.face_value, "CNY"),
        money(row.outstanding_principal, "CNY"),
        money(row.mark_to_market_loss, "CNY"),
        "-" if row.holding_face is None else money(row.holding_face, "CNY"),
        f"{row.firing.critical}/{row.firing.warning}/{row.firing.info}",
    ]


def exposures(view: MarketView, group_by: GroupBy) -> Exposures:
    parents = {i: e.parent_id for i, e in view.entities.items()}
    rows: dict[str, ExposureRow] = {}
    issuers: dict[str, set[str]] = defaultdict(set)
    docs: dict[str, dict[int, _Doc]] = defaultdict(dict)  # the group's documents, each once
    held = None if view.positions is None else 0.0
    for tranche_id in sorted(view.tranches):
        tranche = view.tranches[tranche_id]
        if tranche.terms is None:
            continue  # not a known tranche yet: no deal names its terms
        outstanding, loss = _money(tranche, view.clock)
        for key, holding in group_keys(view, tranche, group_by, parents):
            row = rows.get(key) or rows.setdefault(key, _empty_row(key, held))
            row.tranches += 1
            row.face_value += tranche.terms.face_value
            row.outstanding_principal += outstanding
            row.mark_to_market_loss += loss
            if holding is not None:
                row.holding_face = (row.holding_face or 0.0) + holding
            _collect(view, tranche, docs[key], issuers[key])
    for key, row in rows.items():
        row.issuers = len(issuers[key])
        for doc in docs[key].values():
            for alert in doc.alerts.values():
                if alert.status == "firing":
                    setattr(row.firing, alert.severity, getattr(row.firing, alert.severity) + 1)
    ordered = sorted(rows.values(), key=lambda r: (-r.outstanding_principal, r.key))
    known = {t for t, state in view.tranches.items() if state.terms is not None}
    return Exposures(
        group_by=group_by,
        clock=view.clock,
        rows=ordered,
        unknown_tranches=unknown_holdings(view.positions, known),
    )


def _empty_row(key: str, held: float | None) -> ExposureRow:
    return ExposureRow(
        key=key,
        issuers=0,
        tranches=0,
        face_value=0.0,
        outstanding_principal=0.0,
        mark_to_market_loss=0.0,
        holding_face=held,
        firing=Firing(),
    )


def _collect(view: MarketView, tranche: TrancheState, docs: dict[int, _Doc], issuers: set[str]) -> None:
    """The tranche's documents (its own, its issuer's, its deal's) into its group's, and its issuer."""
    docs[id(tranche)] = tranche
    if tranche.issuer_id:
        issuers.add(tranche.issuer_id)
        if (issuer := view.issuers.get(tranche.issuer_id)) is not None:
            docs[id(issuer)] = issuer
    if tranche.deal_id and (deal := view.deals.get(tranche.deal_id)) is not None:
        docs[id(deal)] = deal


OTHER = "other"


class Money(NamedTuple):
    outstanding_principal: float
    mark_to_market_loss: float


def bounded(result: Exposures, top: int, keys: tuple[str, ...] = ()) -> dict[str, Money]:
    """The money figures a metric names (the configured `keys`, else the `top` largest by outstanding
    principal) and `other`, the sum of the rest: a producer's typo in a province, or a market of thousands of
    groups, must not become thousands of series. A configured key the market lacks is named with zeros and
    `other` is always there, so a dashboard's series do not come and go; together they add up to the whole.
    """
    named = set(keys) if keys else {row.key for row in result.rows[:top]}
    out = {key: Money(0.0, 0.0) for key in (*named, OTHER)}
    for row in result.rows:
        key = row.key if row.key in named else OTHER
        before = out[key]
        out[key] = Money(
            before.outstanding_principal + row.outstanding_principal,
            before.mark_to_market_loss + row.mark_to_market_loss,
        )
    return out
