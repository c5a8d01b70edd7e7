"""The `tranches` section of `backtest --json` and the report's table: every quoted tranche's analytics at the
end of the replay (contract: Analytics), one row each."""

from __future__ import annotations

from typing import Any

from streams.model.schedule import settlement_date
from streams.model.state import TrancheState

COLUMNS = (
    "settlement",
    "factor",
    "outstanding_principal",
    "clean_price",
    "accrued_interest",
    "dirty_price",
    "ytm_pct",
    "ytp_pct",
    "wal_years",
    "discount",
    "mark_to_market_loss",
)


def tranche_row(tranche: TrancheState) -> dict[str, Any] | None:
    """None for a tranche never quoted. Before its terms, or settled outside its life, the figures that need
    them are null."""
    quote = tranche.last_quote
    if quote is None:
        return None
    found = tranche.quote_analytics()
    if found is not None:
        return {**found.as_row(), "price": quote.price, "price_basis": _basis(tranche)}
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    settlement = settlement_date(quote.ts)
    factor = tranche.factor_at(settlement)
    discount = round(100.0 - quote.clean_price, 10)
    row.update(
        settlement=settlement.isoformat(),
        factor=factor.value,
        factor_source=factor.source,
        clean_price=quote.clean_price,
        discount=discount,
        price=quote.price,
        price_basis=_basis(tranche),
    )
    if tranche.terms is not None:
        row["outstanding_principal"] = tranche.terms.face_value * factor.value
        row["mark_to_market_loss"] = row["outstanding_principal"] * discount / 100
    return row


def _basis(tranche: TrancheState) -> str:
    quote = tranche.last_quote
    return "remaining" if quote is None or quote.clean is None else "original"


def tranche_rows(tranches: dict[str, TrancheState]) -> dict[str, dict[str, Any]]:
    rows = {tranche_id: tranche_row(t) for tranche_id, t in sorted(tranches.items())}
    return {tranche_id: row for tranche_id, row in rows.items() if row is not None}
