"""Prices per 100 of original face made comparable, and the trustee's distribution reports kept.

A quote with `price_basis: original` is divided by the tranche's factor at its settlement date, so that
below_par and price_drop judge the price per 100 of outstanding principal: a price that falls from 68 to 35
because a payment halved the factor moves nothing. The factor comes from what is known when the quote is
read (streams/model/analytics.py `factor_at`); with neither terms nor a report stating a factor it is 1, and
the evidence says so. When the terms or a report with `factor_after` arrive later, the kept quotes are divided
again and the latches re-read off the newest quote, so that the alerts rest on the factor as now known.
"""

from __future__ import annotations

import datetime as dt

from streams.model.events import Distribution, Quote
from streams.model.schedule import settlement_date
from streams.model.state import MAX_REPORTS, PaymentReport, QuoteMark, TrancheState, keep_report
from streams.rules import below_par, price_drop
from streams.rules.registry import RulesConfig


def quote_mark(tranche: TrancheState, quote: Quote) -> QuoteMark:
    if quote.price_basis == "remaining":
        return QuoteMark(event_id=quote.event_id, ts=quote.ts, price=quote.price)
    clean = _per_outstanding(tranche, quote.ts, quote.price)
    return QuoteMark(event_id=quote.event_id, ts=quote.ts, price=quote.price, clean=clean)


def _per_outstanding(tranche: TrancheState, ts: dt.datetime, price: float) -> float:
    factor = tranche.factor_at(settlement_date(ts)).value
    # Nothing outstanding: no price per outstanding exists; the quote is taken as it is.
    return price / factor if factor > 0 else price


def report_of(event: Distribution) -> PaymentReport:
    return PaymentReport.model_validate(event.model_dump(exclude={"tranche_id"}))


def store_report(tranche: TrancheState, report: PaymentReport) -> bool:
    """Keeps a report unless its payment date was already reported later; the newest MAX_REPORTS dates stay.
    True if it was kept (a restatement wins over a redelivered original, as for financials)."""
    return keep_report(tranche.reports, report.payment_date.isoformat(), report, MAX_REPORTS)


def renormalise(tranche: TrancheState, rules: RulesConfig) -> bool:
    """Divides the kept original-face quotes again by the factor now known; True if any price moved."""
    held = (tranche.last_quote, tranche.previous_quote, *tranche.recent)
    marks = [m for m in held if m is not None and m.clean is not None]
    moved = False
    for mark in marks:
        clean = _per_outstanding(tranche, mark.ts, mark.price)
        if clean != mark.clean:
            mark.clean, moved = clean, True
    if not moved or tranche.last_quote is None:
        return moved
    # The window keeps only quotes that can still be the high: prune again for the new prices.
    kept: list[QuoteMark] = []
    for mark in reversed(tranche.recent):
        if not kept or mark.clean_price > kept[-1].clean_price:
            kept.append(mark)
    tranche.recent = kept[::-1]
    below_par.observe(tranche, tranche.last_quote, rules.below_par)
    price_drop.observe(tranche, tranche.last_quote, rules.price_drop)
    return True
