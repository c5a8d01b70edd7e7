"""price_drop: a tranche's price fell sharply below its own recent high.

The high is that of the tranche's quotes stamped within `lookback_days` (7) before the newest quote, the
newest included (it cannot make a drop by itself), and (v2, `compare_previous_quote`) the tranche's newest
earlier quote however old: ABS prints can be days or weeks apart, and 100 then 96.5 nine days later is a drop
a desk wants to see. A quote read late, i.e. stamped before the newest one, still joins the window (and may
become the newest earlier quote) and the newest quote is judged again: it can only raise the high, so it can
escalate the alert but never resolve it.

Resolution (not fixed by the contract): the alert resolves when the drop falls below `resolve_drop` (1.5 by
default, half a point under the warning level), either because the price recovered or because the old high
is neither in the window nor the newest earlier quote any more; between the two levels the alert keeps its
state.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any, Final

from alerts.core.format import money, price
from alerts.core.model import KEEP, Details, Subject, Verdict
from streams.model.events import TrancheTerms
from streams.model.state import QuoteMark, TrancheState
from streams.rules import latch
from streams.rules.config import PriceDropConfig
from streams.rules.price_basis import price_evidence
from streams.rules.spec import Judge, Rule

RULE: Final = "price_drop"


def remember(
    recent: list[QuoteMark], mark: QuoteMark, newest: QuoteMark, cfg: PriceDropConfig
) -> list[QuoteMark]:
    """The window after `mark`: only quotes that can still be a high, oldest first, prices strictly falling.

    A quote with a later one at least as high is dropped, since every window holding it holds the later one.
    """
    start = newest.ts - dt.timedelta(days=cfg.lookback_days)
    if recent and recent[-1].ts < mark.ts and mark.ts >= start:
        # The usual quote, newer than every kept one: the window loses a head of old quotes and the quotes it
        # tops are a tail (prices strictly fall), so neither a scan of the whole window nor a sort is needed.
        kept = recent[bisect.bisect_left(recent, start, key=_ts) :]
        while kept and kept[-1].clean_price <= mark.clean_price:
            kept.pop()
        kept.append(mark)
        return kept[: cfg.max_points]
    kept = [q for q in recent if q.ts >= start]
    if mark.ts < start or any(q.ts >= mark.ts and q.clean_price >= mark.clean_price for q in kept):
        return kept
    kept = [q for q in kept if not (q.ts <= mark.ts and q.clean_price <= mark.clean_price)]
    kept.append(mark)
    kept.sort(key=lambda q: q.ts)
    # Only a slide of more than max_points strictly falling quotes within the window gets here; keeping the
    # oldest (highest) errs towards reporting the drop.
    return kept[: cfg.max_points]


def _ts(mark: QuoteMark) -> dt.datetime:
    return mark.ts


def note_previous(tranche: TrancheState, mark: QuoteMark, late: bool) -> None:
    """Keeps the tranche's newest earlier quote: called before `last_quote` moves to a newer `mark`, or with
    a late `mark` (stamped before the newest), which is the newest earlier quote if newer than the one kept."""
    if not late:
        tranche.previous_quote = tranche.last_quote
        return
    known = tranche.previous_quote
    if known is None or mark.ts >= known.ts:  # on equal stamps, the later read
        tranche.previous_quote = mark


def window_high(tranche: TrancheState, cfg: PriceDropConfig) -> QuoteMark | None:
    """The highest of the window's quotes and, with `compare_previous_quote`, the newest earlier quote."""
    high = tranche.recent[0] if tranche.recent else None
    previous = tranche.previous_quote if cfg.compare_previous_quote else None
    if previous is not None and (high is None or previous.clean_price > high.clean_price):
        return previous
    return high


def drop_from_high(tranche: TrancheState, cfg: PriceDropConfig) -> float:
    high, quote = window_high(tranche, cfg), tranche.last_quote
    if high is None or quote is None:
        return 0.0
    return max(round(high.clean_price - quote.clean_price, 10), 0.0)


def observe(tranche: TrancheState, mark: QuoteMark, cfg: PriceDropConfig) -> None:
    """Adds any quote, late or not, to the window and moves the latch with the newest quote's drop."""
    newest = tranche.last_quote
    if newest is None:
        return
    tranche.recent = remember(tranche.recent, mark, newest, cfg)
    moved = latch.moved(
        tranche.latches.get(RULE),
        drop_from_high(tranche, cfg),
        newest,
        warning=cfg.warning_drop,
        critical=cfg.critical_drop,
        resolve=cfg.resolve_drop,
    )
    if moved is not None:
        tranche.latches[RULE] = moved


def evaluate(tranche: TrancheState, cfg: PriceDropConfig) -> Verdict:
    quote, high, terms = tranche.last_quote, window_high(tranche, cfg), tranche.terms
    if quote is None or high is None or terms is None:
        return KEEP
    return latch.verdict(
        tranche.latches.get(RULE), lambda firing: _describe(tranche, quote, high, terms, cfg, firing)
    )


def _describe(
    tranche: TrancheState,
    quote: QuoteMark,
    high: QuoteMark,
    terms: TrancheTerms,
    cfg: PriceDropConfig,
    firing: bool,
) -> Details:
    drop = drop_from_high(tranche, cfg)
    block = price_evidence(tranche, terms, quote)  # prices per 100 outstanding (v2 price_basis)
    loss = block["outstanding_principal"] * drop / 100
    window_start = quote.ts - dt.timedelta(days=cfg.lookback_days)
    # The high is the window's, or (v2) the newest earlier quote from before the window.
    in_window = high.ts >= window_start
    evidence: dict[str, Any] = {
        **tranche.analytics,  # first: the rule's own figures below win (price_drop's loss is on the drop)
        **block,
        "quote_event_id": quote.event_id,
        "quote_ts": quote.ts.isoformat(),
        "high": high.clean_price,
        "high_event_id": high.event_id,
        "high_ts": high.ts.isoformat(),
        "high_basis": "lookback_high" if in_window else "previous_quote",
        "days_since_high": round((quote.ts - high.ts) / dt.timedelta(days=1), 2),
        "drop": drop,
        "window_start": window_start.isoformat(),
        "lookback_days": cfg.lookback_days,
        "mark_to_market_loss": loss,
        "currency": tranche.currency,
        "thresholds": {
            "warning": cfg.warning_drop,
            "critical": cfg.critical_drop,
            "resolve_below": cfg.resolve_drop,
        },
    }
    where = f"{tranche.tranche_id} at {price(quote.clean_price)}"
    if in_window:
        reference = f"its {cfg.lookback_days}-day high of {price(high.clean_price)}"
    else:
        days = (quote.ts - high.ts) // dt.timedelta(days=1)
        reference = (
            f"its previous quote of {price(high.clean_price)} on {high.ts.date()}, {days} days earlier"
        )
    if not firing:
        return f"{where} is within {cfg.resolve_drop:.2f} of {reference}", evidence
    summary = (
        f"{where} is {drop:.2f} below {reference} "
        f"({money(loss, tranche.currency)} on {money(block['outstanding_principal'], tranche.currency)} "
        "outstanding)"
    )
    return summary, evidence


def _observe_quote(tranche: TrancheState, mark: QuoteMark, late: bool, cfg: PriceDropConfig) -> None:
    observe(tranche, mark, cfg)  # late quotes too: they can still be the window's high


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: PriceDropConfig
) -> None:
    judge.tranche(tranche, RULE, evaluate(tranche, cfg), when, subject)


SPEC = Rule(RULE, PriceDropConfig, observe_quote=_observe_quote, judge_tranche=_judge_tranche)
