"""Quotes the contract (v2) refuses although they parse: stamped ahead of their Kafka record, or settling
on or after their tranche's maturity. Either is dead-lettered and changes nothing, the event-time clock
included: one quote stamped 2052 would otherwise move the clock 27 years ahead, every other tranche would go
stale at thousands of trading days, and no genuine quote could resolve them.

`future_timestamp` needs only the record, so the pipeline checks it before loading any state.
`after_maturity` needs the tranche's terms: checked when the quote is applied, if they are known. A quote
read before its deal's terms is kept, as any such quote is (its rules are judged when the terms arrive);
when they do, quotes that settle on or after the maturity stop counting (`forget_after_maturity`). The
clock they moved stays where it is: it never steps back, since other workers may have judged on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from alerts.core.china import CHINA_TIME
from streams.model.analytics import settlement_date
from streams.model.events import Quote, TrancheTerms
from streams.model.state import QuoteMark, TrancheState
from streams.rules import below_par, price_drop
from streams.rules.config import FutureTimestampConfig
from streams.rules.registry import RulesConfig

FUTURE_TIMESTAMP = "future_timestamp"
AFTER_MATURITY = "after_maturity"


@dataclass(frozen=True, slots=True)
class Refused:
    """A valid event the rules must not see: dead-lettered with a bounded kind and a human reason."""

    kind: str
    reason: str


def ahead_of_record(quote: Quote, record_ts: float | None, cfg: FutureTimestampConfig) -> Refused | None:
    if not cfg.enabled or record_ts is None:
        return None
    recorded = dt.datetime.fromtimestamp(record_ts, dt.UTC)
    ahead = quote.ts - recorded
    if ahead <= dt.timedelta(minutes=cfg.max_ahead_minutes):
        return None
    return Refused(
        FUTURE_TIMESTAMP,
        f"quote {quote.event_id} is stamped {quote.ts.isoformat()}, {_span(ahead)} ahead of its Kafka record "
        f"({recorded.isoformat(timespec='seconds')}); more than {cfg.max_ahead_minutes:g} minutes ahead is refused",
    )


def _span(delta: dt.timedelta) -> str:
    days = delta / dt.timedelta(days=1)
    return f"{days:,.1f} days" if days >= 1 else f"{delta / dt.timedelta(minutes=1):,.0f} minutes"


def settles_after_maturity(terms: TrancheTerms, stamp: dt.datetime) -> bool:
    # Most quotes are years from maturity: one comparison settles them. Settlement is the next interbank
    # business day, never more than 15 days on (the longest closure, Spring Festival, is 9 days).
    if stamp < _near_maturity(terms.maturity_date):
        return False
    return settlement_date(stamp) >= terms.maturity_date


@lru_cache(maxsize=4096)
def _near_maturity(maturity: dt.date) -> dt.datetime:
    return dt.datetime.combine(maturity - dt.timedelta(days=15), dt.time(0), CHINA_TIME)


def after_maturity(tranche: TrancheState, quote: Quote, rules: RulesConfig) -> Refused | None:
    terms = tranche.terms
    if not rules.after_maturity.enabled or terms is None or not settles_after_maturity(terms, quote.ts):
        return None
    return Refused(
        AFTER_MATURITY,
        f"quote {quote.event_id} on {quote.tranche_id} settles on {settlement_date(quote.ts).isoformat()}, "
        f"on or after the tranche's maturity date {terms.maturity_date.isoformat()}",
    )


def forget_after_maturity(tranche: TrancheState, rules: RulesConfig) -> QuoteMark | None:
    """Once the terms are known: drops the quotes read before them that settle on or after the maturity,
    falling back on the newest quote that still counts (or none). Returns the dropped newest quote, if any.

    Only what the tranche kept can be fallen back on: its newest earlier quote and the quotes of price_drop's
    window. The latches are set again from the quote that counts now, as if it had been the last one read.
    """
    terms, dropped = tranche.terms, tranche.last_quote
    if not rules.after_maturity.enabled or terms is None or dropped is None:
        return None
    if not settles_after_maturity(terms, dropped.ts):
        return None  # every other quote kept is older, so none settles later
    counted = [m for m in tranche.recent if not settles_after_maturity(terms, m.ts)]
    earlier = tranche.previous_quote
    if earlier is not None and settles_after_maturity(terms, earlier.ts):
        earlier = None
    candidates = [m for m in (*counted, earlier) if m is not None]
    newest = max(candidates, key=lambda m: m.ts) if candidates else None
    tranche.recent = counted
    tranche.last_quote = newest
    tranche.previous_quote = earlier if earlier is not newest else _before(counted, newest)
    for rule in (below_par.RULE, price_drop.RULE):
        tranche.latches.pop(rule, None)
    if newest is not None:
        below_par.observe(tranche, newest, rules.below_par)
        price_drop.observe(tranche, newest, rules.price_drop)
    return dropped


def _before(marks: list[QuoteMark], newest: QuoteMark | None) -> QuoteMark | None:
    if newest is None:
        return None
    earlier = [m for m in marks if m.ts < newest.ts]
    return earlier[-1] if earlier else None
