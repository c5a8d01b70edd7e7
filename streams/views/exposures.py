"""Exposures (contract v2): the known tranches summed by credit family, province or asset type.

Pure, like the watchlist: it takes documents already read and returns the contract's rows, so the state API
(`GET /api/v1/exposures`) and `tranchewatch watchlist --group-by` print the same figures.

Every tranche with known terms is counted once, in its group: family = its issuer's family root
(streams/model/family.py), province = its issuer's, asset type = its deal's (`unknown` when not known).
Money is in each tranche's currency as reported (the contract's universe is CNY). At the stream's clock (the
newest quote seen): outstanding principal = face value x factor at the clock's settlement date (schedule
and distribution reports); mark-to-market loss = that outstanding x (100 - newest clean price) / 100, 0 for
a tranche never quoted. `firing` counts the alerts firing on the group's tranches, deals and issuers, each
once; `holding_face` is null until positions are configured.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from streams.model.family import family_root
from streams.model.schedule import settlement_date
from streams.model.state import TrancheState, _Doc
from streams.views.watchlist import MarketView

GroupBy = Literal["family", "province", "asset_type"]
GROUPS: tuple[GroupBy, ...] = ("family", "province", "asset_type")
UNKNOWN = "unknown"


class Firing(BaseModel):
    critical: int = 0
    warning: int = 0
    info: int = 0


class ExposureRow(BaseModel):
    key: str = Field(description="the family root entity, the province or the asset type")
    issuers: int
    tranches: int
    face_value: float
    outstanding_principal: float = Field(description="face value x factor at the stream's clock")
    mark_to_market_loss: float = Field(description="outstanding x (100 - newest clean price) / 100")
    holding_face: float | None = Field(None, description="face held in the configured portfolios (none yet)")
    firing: Firing


class Exposures(BaseModel):
    group_by: GroupBy
    clock: dt.datetime | None = Field(None, description="the stream's event-time clock: newest quote seen")
    rows: list[ExposureRow] = Field(description="largest outstanding principal first")


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


def _money(tranche: TrancheState, clock: dt.datetime | None) -> tuple[float, float]:
    """Outstanding principal and mark-to-market loss at the clock."""
    assert tranche.terms is not None
    face, quote = tranche.terms.face_value, tranche.last_quote
    when = clock or (quote.ts if quote else None)
    factor = tranche.factor_at(settlement_date(when)).value if when is not None else 1.0
    outstanding = face * factor
    loss = outstanding * (100 - quote.clean_price) / 100 if quote is not None else 0.0
    return outstanding, loss


def exposures(view: MarketView, group_by: GroupBy) -> Exposures:
    parents = {i: e.parent_id for i, e in view.entities.items()}
    rows: dict[str, ExposureRow] = {}
    issuers: dict[str, set[str]] = defaultdict(set)
    docs: dict[str, dict[int, _Doc]] = defaultdict(dict)  # the group's documents, each once
    for tranche_id in sorted(view.tranches):
        tranche = view.tranches[tranche_id]
        if tranche.terms is None:
            continue  # not a known tranche yet: no deal names its terms
        key = group_key(view, tranche, group_by, parents)
        row = rows.get(key) or rows.setdefault(
            key,
            ExposureRow(
                key=key,
                issuers=0,
                tranches=0,
                face_value=0.0,
                outstanding_principal=0.0,
                mark_to_market_loss=0.0,
                firing=Firing(),
            ),
        )
        outstanding, loss = _money(tranche, view.clock)
        row.tranches += 1
        row.face_value += tranche.terms.face_value
        row.outstanding_principal += outstanding
        row.mark_to_market_loss += loss
        docs[key][id(tranche)] = tranche
        if tranche.issuer_id:
            issuers[key].add(tranche.issuer_id)
            if (issuer := view.issuers.get(tranche.issuer_id)) is not None:
                docs[key][id(issuer)] = issuer
        if tranche.deal_id and (deal := view.deals.get(tranche.deal_id)) is not None:
            docs[key][id(deal)] = deal
    for key, row in rows.items():
        row.issuers = len(issuers[key])
        for doc in docs[key].values():
            for alert in doc.alerts.values():
                if alert.status == "firing":
                    setattr(row.firing, alert.severity, getattr(row.firing, alert.severity) + 1)
    ordered = sorted(rows.values(), key=lambda r: (-r.outstanding_principal, r.key))
    return Exposures(group_by=group_by, clock=view.clock, rows=ordered)


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
