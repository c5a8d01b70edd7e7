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

Where its state lives. The clock is one value beside the documents that only moves forward (raised by each
commit, never version-checked, so workers on other partitions do not conflict over it). The index holds the
tranches being watched, quoted and not stale, sorted by their newest quote: derived from each tranche's
document (`watched_at`) and rewritten with it, so it never disagrees with the documents. A stale tranche's
firing alert is on its own document. A batch loads only the tranches filed before the cutoff of its final
clock, the only ones it can make overdue; the commit's checks (streams/state/snapshot.py) make it judge again
when another worker moved the clock past a tranche it filed, or filed an overdue one it did not load.

Order of events. A quote older than its tranche's newest one moves nothing here, and the clock only moves
forward, so the final firing set is a function of each tranche's newest quote and the newest quote of all:
the same whatever the interleaving. Episodes in between may differ (a tranche briefly stale because another
partition ran ahead of it), as the worker reads partitions concurrently and a backtest reads a file in order.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from functools import lru_cache
from typing import Any, Final

import QuantLib as ql

from alerts.core.china import CALENDAR, CALENDAR_NAME, CHINA_TIME, china_date, ql_date
from alerts.core.format import price
from alerts.core.model import Fire, Resolve
from streams.model.state import QuoteMark, TrancheState
from streams.rules.config import StaleQuoteConfig
from streams.rules.due_index import Index, file, overdue, unwatch
from streams.rules.spec import Judge, Rule

RULE: Final = "stale_quote"


@lru_cache(maxsize=4096)
def cutoff_date(day: dt.date, trading_days: int) -> dt.date:
    """The earliest date a newest quote may carry on `day` without being stale."""
    last_open = CALENDAR.adjust(ql_date(day), ql.Preceding)
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
    return int(CALENDAR.businessDaysBetween(ql_date(start), ql_date(end), False, True))


def is_stale(last: dt.datetime, clock: dt.datetime, cfg: StaleQuoteConfig) -> bool:
    """With the fixed threshold; `tranche_is_stale` also knows a tranche's relative one."""
    return last < cutoff(clock, cfg)


def tranche_is_stale(tranche: TrancheState, clock: dt.datetime, cfg: StaleQuoteConfig) -> bool:
    due = due_key(tranche, cfg)
    return due is not None and due < cutoff(clock, cfg)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def micros(stamp: dt.datetime) -> int:
    """Epoch microseconds: the index's score in Redis, exact in a double (below 2**53 until year 2255)."""
    return (stamp - _EPOCH) // dt.timedelta(microseconds=1)


def is_firing(tranche: TrancheState) -> bool:
    alert = tranche.alerts.get(RULE)
    return alert is not None and alert.status == "firing"


def watched_at(tranche: TrancheState, cfg: StaleQuoteConfig) -> dt.datetime | None:
    """Where the tranche is filed in the index: under its due key (its newest quote, or later for a
    relative threshold), unless it is stale already (its firing alert lives on its own document). Derived
    from the document alone, so the commit writes the index from the documents it writes and the two can
    never disagree. A retired tranche (streams/engine/retire.py) is not watched."""
    if is_firing(tranche) or tranche.retired is not None:
        return None
    return due_key(tranche, cfg)


def due_key(tranche: TrancheState, cfg: StaleQuoteConfig) -> dt.datetime | None:
    """The instant compared with the cutoff of `trading_days`: stale when it is before the cutoff.

    With the fixed threshold, the newest quote's time. With a relative threshold of `trading_days` + k
    (k > 0), the quote's date moved to the first trading day after it, then k - 1 trading days on (the
    quote's time of day kept): a date is before the N-th trading day preceding the clock's last trading day
    exactly when that moved date is before the `trading_days`-th, so one index and one cutoff serve every
    threshold."""
    quote = tranche.last_quote
    if quote is None or not cfg.relative:
        return quote.ts if quote is not None else None
    extra = threshold(tranche, cfg) - cfg.trading_days
    if extra <= 0:
        return quote.ts
    local = quote.ts.astimezone(CHINA_TIME)
    first_open = CALENDAR.adjust(ql_date(local.date() + dt.timedelta(days=1)), ql.Following)
    day = CALENDAR.advance(first_open, extra - 1, ql.Days)
    moved = dt.date(day.year(), day.month(), day.dayOfMonth())
    return dt.datetime.combine(moved, local.timetz())


def watch(index: Index, tranche: TrancheState, cfg: StaleQuoteConfig) -> None:
    """Files the tranche by its newest quote time."""
    file(index, tranche.tranche_id, watched_at(tranche, cfg))


def overdue_from(quoted_at: dt.datetime, cfg: StaleQuoteConfig) -> dt.datetime:
    """The earliest clock at which a tranche last quoted at `quoted_at` is stale: midnight of the N-th
    trading day after the first trading day following the quote's date (the first clock date whose cutoff
    passes that date)."""
    next_open = CALENDAR.adjust(ql_date(china_date(quoted_at) + dt.timedelta(days=1)), ql.Following)
    day = CALENDAR.advance(next_open, cfg.trading_days, ql.Days)
    return dt.datetime(day.year(), day.month(), day.dayOfMonth(), tzinfo=CHINA_TIME)


# --- relative threshold (off by default): thin paper is stale only after k of its own usual gaps --------------


def median_gap(tranche: TrancheState, cfg: StaleQuoteConfig) -> float | None:
    """Median trading days between the tranche's last `relative_quotes` quotes; None when off or when
    fewer than `relative_min_quotes` quotes were seen."""
    gaps = tranche.quote_gaps
    if not cfg.relative or len(gaps) + 1 < cfg.relative_min_quotes:
        return None
    return float(statistics.median(gaps))


def threshold(tranche: TrancheState, cfg: StaleQuoteConfig) -> int:
    """Trading days without a quote after which the tranche is stale: max(trading_days, k x its median
    gap), capped at relative_max_trading_days; `trading_days` alone unless `relative` is on."""
    median = median_gap(tranche, cfg)
    if median is None:
        return cfg.trading_days
    relative = math.floor(cfg.relative_multiple * median + 1e-9)
    return max(cfg.trading_days, min(cfg.relative_max_trading_days, relative))


def note_gap(tranche: TrancheState, cfg: StaleQuoteConfig) -> None:
    """After a newest quote: the trading days since the one before it, the newest `relative_quotes` - 1
    kept (bounded state). Late quotes add nothing: gaps follow the tranche's own newest quotes."""
    quote, before = tranche.last_quote, tranche.previous_quote
    if not cfg.relative or quote is None or before is None:
        return
    gaps = [*tranche.quote_gaps, trading_days_since(before.ts, quote.ts)]
    tranche.quote_gaps = gaps[-(cfg.relative_quotes - 1) :]


def fired(tranche: TrancheState, clock: dt.datetime, cfg: StaleQuoteConfig) -> Fire:
    quote = tranche.last_quote
    assert quote is not None
    days = trading_days_since(quote.ts, clock)
    limit = threshold(tranche, cfg)
    evidence: dict[str, Any] = {
        "last_quote_at": quote.ts.isoformat(),
        "last_price": quote.price,
        "market_clock": clock.isoformat(),
        "trading_days_without_quote": days,
        "threshold_trading_days": limit,
        "calendar": CALENDAR_NAME,
    }
    if quote.clean is not None:  # quoted per 100 of original face: the price judged, per 100 outstanding
        evidence["last_clean_price"] = quote.clean
    median = median_gap(tranche, cfg)
    if median is not None:
        evidence["relative"] = {
            "median_gap_trading_days": median,
            "gaps_counted": len(tranche.quote_gaps),
            "multiple": cfg.relative_multiple,
            "floor_trading_days": cfg.trading_days,
            "cap_trading_days": cfg.relative_max_trading_days,
        }
    usual = f"; usually quoted every {median:g} trading days" if median is not None else ""
    summary = (
        f"{tranche.tranche_id} has not been quoted for {days} China trading days "
        f"(last {_as_quoted(quote)} on {china_date(quote.ts)}, market clock {china_date(clock)}{usual})"
    )
    return Fire("info", summary, evidence)


def resolved(tranche: TrancheState) -> Resolve:
    quote = tranche.last_quote
    assert quote is not None
    evidence: dict[str, Any] = {
        "price": quote.price,
        "quote_event_id": quote.event_id,
        "quote_ts": quote.ts.isoformat(),
    }
    if quote.clean is not None:
        evidence["clean_price"] = quote.clean
    return Resolve(
        f"{tranche.tranche_id} quoted again at {_as_quoted(quote)} on {china_date(quote.ts)}", evidence
    )


def _as_quoted(quote: QuoteMark) -> str:
    return price(quote.price) + (" per 100 original face" if quote.clean is not None else "")


def _on_quote(judge: Judge, tranche: TrancheState, previous: QuoteMark | None, cfg: StaleQuoteConfig) -> None:
    """Re-files the quoted tranche (resolving it if it was stale), then fires for the tranches the clock has
    left behind. Only those are judged: the clock moves with quotes alone."""
    snap = judge.snap
    index, clock = snap.index, snap.clock
    assert clock is not None and tranche.last_quote is not None
    before = cutoff(clock, cfg)
    unwatch(index, tranche.tranche_id)
    due = due_key(tranche, cfg)
    if is_firing(tranche) and due is not None and due >= before:
        judge.tranche(tranche, RULE, resolved(tranche), tranche.last_quote.ts)
    watch(index, tranche, cfg)  # unless it is (still) stale
    for tranche_id in overdue(index, before):
        left = snap.tranches[tranche_id]
        judge.tranche(left, RULE, fired(left, clock, cfg), clock)
        watch(index, left, cfg)  # still watched if an anti-noise pending period held the alert


def _observe_quote(tranche: TrancheState, mark: QuoteMark, late: bool, cfg: StaleQuoteConfig) -> None:
    if cfg.relative and not late and cfg.enabled:
        note_gap(tranche, cfg)


SPEC = Rule(RULE, StaleQuoteConfig, observe_quote=_observe_quote, on_quote=_on_quote)
