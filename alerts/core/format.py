"""Numbers as a credit analyst reads them: Rmb600mn, Rmb1.66bn, 95.00."""

from __future__ import annotations

_SYMBOL = {"CNY": "Rmb", "USD": "$", "EUR": "€", "HKD": "HK$"}


def money(amount: float, currency: str = "CNY") -> str:
    """Compact amount with three significant figures: Rmb600mn, Rmb30.0mn, Rmb1.66bn."""
    symbol = _SYMBOL.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    for scale, suffix in ((1e9, "bn"), (1e6, "mn"), (1e3, "k")):
        if value >= scale:
            return f"{sign}{symbol}{_three_figures(value / scale)}{suffix}"
    return f"{sign}{symbol}{value:,.0f}"


def _three_figures(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def price(value: float) -> str:
    return f"{value:.2f}"
