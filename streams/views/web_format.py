"""How the web page shows numbers, dates and the watchlist's columns.

The columns come from the WatchRow model itself, in its field order, so a column the watchlist gains
(factor, WAL, yield to put...) appears on the page with no template change: money-sized amounts print as
Rmb600mn, `_pct` fields as percentages, times in China time, and the field's description is the header's
tooltip. Only the sortable columns (the watchlist's sort keys) and a few ids are named here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlencode

from alerts.core.china import CHINA_TIME
from alerts.core.format import money
from streams.views.watchlist import SortKey, WatchQuery, WatchRow

# Column -> the watchlist's sort key.
SORTABLE: dict[str, SortKey] = {
    "tranche_id": "tranche",
    "discount": "discount",
    "mark_to_market_loss": "mtm_loss",
    "quote_age_trading_days": "quote_age",
    "issuer_loss_trend": "loss_trend",
    "holdings": "holding",
}
TITLES = {
    "tranche_id": "Tranche",
    "issuer_name": "Issuer",
    "ytm_pct": "YTM %",
    "ytp_pct": "YTP %",
    "wal_years": "WAL (y)",
    "mark_to_market_loss": "MTM loss",
    "quote_age_trading_days": "Quote age (td)",
    "last_quote_at": "Last quote",
    "issuer_annualised_net_income": "Issuer NI (ann.)",
    "issuer_previous_annualised": "Previous NI (ann.)",
    "issuer_loss_trend": "Loss trend",
    "asset_type": "Asset type",
    "last_distribution": "Last distribution",
    "deal_coverage": "Deal coverage",
    "holdings": "Holdings",
}
# Shown otherwise: the issuer's id is the link behind its name, the currency is in every amount, the
# firing rules are badges in the first column.
HIDDEN = {"issuer_id", "currency", "alerts", "holding_face"}  # holding_face: the sum of `holdings`
# A number whose name says it is an amount prints as money (Rmb31.2mn); others as figures.
MONEY_WORDS = (
    "face",
    "principal",
    "loss",
    "income",
    "annualised",
    "revenue",
    "amount",
    "balance",
    "exposure",
    "holding",
    "collections",
    "due",
    "paid",
    "drawn",
    "shortfall",
    "reserve",
    "value",
)


@runtime_checkable
class Brief(Protocol):
    """A figure made of several (a distribution report, a coverage, a rating) that a cell shows in a few
    words (streams/views/credit.py); the tranche page and the API show every field."""

    def brief(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    title: str
    help: str
    sort: SortKey | None
    numeric: bool


def columns() -> list[Column]:
    found = []
    for name, info in WatchRow.model_fields.items():
        if name in HIDDEN:
            continue
        numeric = _is_numeric(info.annotation)
        title = TITLES.get(name, name.replace("_", " ").capitalize())
        found.append(Column(name, title, info.description or "", SORTABLE.get(name), numeric))
    return found


def _is_numeric(annotation: object) -> bool:
    text = str(annotation)
    return ("float" in text or "int" in text) and "str" not in text


def cell(row: WatchRow, name: str) -> str:
    return show(getattr(row, name, None), name, row.currency)


def show(value: object, name: str = "", currency: str = "CNY") -> str:
    """One value as an analyst reads it; "—" when unknown."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict) and not value:
        return "—"  # nothing known, as for None
    if isinstance(value, Brief):
        return value.brief()
    if isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
        return ", ".join(f"{show(float(v), name, currency)} {k}" for k, v in value.items())  # by portfolio
    if isinstance(value, list) and all(isinstance(v, Brief) for v in value):
        return "; ".join(v.brief() for v in value) or "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and name.endswith("_yyyymmdd"):
        digits = f"{int(value):08d}"
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if name.endswith("_pct"):
            return f"{value:.2f}%"
        if any(word in name for word in MONEY_WORDS) and abs(value) >= 1000:
            return money(value, currency)
        return f"{value:,.4f}" if name == "factor" else f"{value:,.2f}"
    return str(value)


def sort_link(query: WatchQuery, column: Column) -> str:
    """The page sorted by this column: descending first (tranche ids ascending), the other way if it
    is already sorted so. Filters are kept; paging starts again."""
    assert column.sort is not None
    first = "asc" if column.sort == "tranche" else "desc"
    flipped = "asc" if query.order == "desc" else "desc"
    order = flipped if query.sort == column.sort else first
    return page_link(query, sort=column.sort, order=order, offset=None)


def page_link(query: WatchQuery, **changes: object) -> str:
    params = {**query.model_dump(exclude_defaults=True), **changes}
    kept: Mapping[str, object] = {k: _param(v) for k, v in params.items() if v is not None}
    return "/?" + urlencode(kept) if kept else "/"


def _param(value: object) -> object:
    return str(value).lower() if isinstance(value, bool) else value


def sort_mark(query: WatchQuery, column: Column) -> str:
    if column.sort is None or query.sort != column.sort:
        return ""
    return "▲" if query.order == "asc" else "▼"
