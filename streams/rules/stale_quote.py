"""stale_quote: a tranche quoted before has had no quote for more than N China trading days (default 5) of
the stream's event-time clock, the newest quote time seen on any tranche. Info; resolves with its next quote.

Trading days are those of the Shanghai Stock Exchange from QuantLib's `China(China.SSE)` calendar: weekends
and the exchange's holidays closed (the make-up working Saturdays of the State Council's schedule stay
closed, as the exchange does). QuantLib is already the analytics' calendar library (BSD-3, maintained, the
China holidays updated with each year's official schedule); years it does not know yet count weekends only.

Dates are China dates (UTC+8) whatever offset a quote carries. "More than N trading days" counts the trading
days after the last quote's date up to and including the clock's date: last quote on Monday 6 January 2025,
N = 5, the clock on Monday 13 January is 5 days (not stale), on Tuesday 14 January is 6 (stale). That is the
same as: the last quote's date is before the N-th trading day preceding the clock's last trading day, the
cutoff, so the index needs only one comparison per tranche and the cutoff moves once a day at most.

Order of events. A quote older than its tranche's newest one moves nothing here, and the clock only moves
forward, so the final firing set is a function of each tranche's newest quote and the newest quote of all:
the same whatever the interleaving. Episodes in between may differ (a tranche briefly stale because another
partition ran ahead of it), as the worker reads partitions concurrently and a backtest reads a file in order.
"""

from __future__ import annotations

import bisect
import datetime as dt
from functools import lru_cache
from typing import Any

import QuantLib as ql

from alerts.format import price
from alerts.model import Alert, Fire, Resolve, Subject, fingerprint
from streams.rules.config import StaleQuoteConfig
from streams.state import AlertBox, StaleEntry, StaleIndex, TrancheState

RULE = "stale_quote"
CALENDAR = ql.China(ql.China.SSE)
CALENDAR_NAME = "China SSE trading days (QuantLib)"
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "China")


def china_date(stamp: dt.datetime) -> dt.date:
    return stamp.astimezone(CHINA_TIME).date()


def _ql(day: dt.date) -> ql.Date:
    return ql.Date(day.day, day.month, day.year)


@lru_cache(maxsize=4096)
def cutoff_date(day: dt.date, trading_days: int) -> dt.date:
    """The earliest date a newest quote may carry on `day` without being stale."""
    last_open = CALENDAR.adjust(_ql(day), ql.Preceding)
    back = CALENDAR.advance(last_open, -trading_days, ql.Days)
    return dt.date(back.year(), back.month(), back.dayOfMonth())


def cutoff(clock: dt.datetime, cfg: StaleQuoteConfig) -> dt.datetime:
    """A tranche whose newest quote is stamped before this instant is stale at `clock`."""
    return dt.datetime.combine(cutoff_date(china_date(clock), cfg.trading_days), dt.time(0), CHINA_TIME)


def trading_days_since(last: dt.datetime, clock: dt.datetime) -> int:
    """Trading days after the date of `last` up to and including the date of `clock` (China dates)."""
    start, end = china_date(last), china_date(clock)
    if end <= start:
        return 0
    return int(CALENDAR.businessDaysBetween(_ql(start), _ql(end), False, True))


def is_stale(last: dt.datetime, clock: dt.datetime, cfg: StaleQuoteConfig) -> bool:
    return last < cutoff(clock, cfg)


def _key(entry: StaleEntry) -> tuple[dt.datetime, str]:
    return entry.quoted_at, entry.tranche_id


def entry_for(tranche: TrancheState) -> StaleEntry:
    """The tranche filed under its newest quote; numbering goes on from its last resolved episode."""
    assert tranche.last_quote is not None
    previous = tranche.alerts.get(RULE)
    return StaleEntry(
        tranche_id=tranche.tranche_id,
        quoted_at=tranche.last_quote.ts,
        price=tranche.last_quote.price,
        issuer_id=tranche.issuer_id,
        deal_id=tranche.deal_id,
        seq=previous.seq if previous is not None else 0,
    )


def unwatch(index: StaleIndex, tranche_id: str, quoted_at: dt.datetime | None) -> None:
    """Removes the tranche's entry filed under its previous newest quote, if it is being watched."""
    if quoted_at is None:
        return
    at = bisect.bisect_left(index.watching, (quoted_at, tranche_id), key=_key)
    if at < len(index.watching) and _key(index.watching[at]) == (quoted_at, tranche_id):
        del index.watching[at]


def watch(index: StaleIndex, entry: StaleEntry) -> None:
    bisect.insort(index.watching, entry, key=_key)


def overdue(index: StaleIndex, before: dt.datetime) -> list[StaleEntry]:
    """Takes out the watched tranches whose newest quote is older than `before`: a prefix of the index."""
    end = bisect.bisect_left(index.watching, before, key=lambda e: e.quoted_at)
    taken = index.watching[:end]
    del index.watching[:end]
    return taken


def subject(entry: StaleEntry) -> Subject:
    return Subject(tranche_id=entry.tranche_id, issuer_id=entry.issuer_id, deal_id=entry.deal_id)


def box_for(entry: StaleEntry) -> AlertBox:
    """A box for a new episode. The alert's seq (the notification log's idempotency key) must go on from
    the episode before, whose resolved alert lives on the tranche document, not loaded now: a stand-in
    carrying its number lets the lifecycle count on. The stand-in is never sent."""
    if entry.seq == 0:
        return AlertBox()
    stand_in = Alert(
        fingerprint=fingerprint(RULE, entry.tranche_id),
        rule=RULE,
        severity="info",
        status="resolved",
        subject=subject(entry),
        starts_at=entry.quoted_at,
        ends_at=entry.quoted_at,
        event_time=entry.quoted_at,
        summary="",
        evidence={},
        seq=entry.seq,
    )
    return AlertBox(alerts={RULE: stand_in})


def fired(entry: StaleEntry, clock: dt.datetime, cfg: StaleQuoteConfig) -> Fire:
    days = trading_days_since(entry.quoted_at, clock)
    evidence: dict[str, Any] = {
        "last_quote_at": entry.quoted_at.isoformat(),
        "last_price": entry.price,
        "market_clock": clock.isoformat(),
        "trading_days_without_quote": days,
        "threshold_trading_days": cfg.trading_days,
        "calendar": CALENDAR_NAME,
    }
    summary = (
        f"{entry.tranche_id} has not been quoted for {days} China trading days "
        f"(last {price(entry.price)} on {china_date(entry.quoted_at)}, market clock {china_date(clock)})"
    )
    return Fire("info", summary, evidence)


def resolved(tranche: TrancheState) -> Resolve:
    quote = tranche.last_quote
    assert quote is not None
    evidence = {"price": quote.price, "quote_event_id": quote.event_id, "quote_ts": quote.ts.isoformat()}
    return Resolve(
        f"{tranche.tranche_id} quoted again at {price(quote.price)} on {china_date(quote.ts)}", evidence
    )
