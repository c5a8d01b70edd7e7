"""below_par: a tranche priced under par, with hysteresis so it does not flap around a threshold."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from alerts.core.format import money, price
from alerts.core.model import KEEP, Details, Subject, Verdict
from streams.model.events import TrancheTerms
from streams.model.state import QuoteMark, TrancheState
from streams.rules import latch
from streams.rules.config import BelowParConfig
from streams.rules.price_basis import price_evidence
from streams.rules.spec import Judge, Rule

RULE: Final = "below_par"


def discount_to_par(clean_price: float) -> float:
    return round(100.0 - clean_price, 10)


def observe(tranche: TrancheState, mark: QuoteMark, cfg: BelowParConfig) -> None:
    """Moves the latch with the tranche's newest quote; late quotes never reach here."""
    moved = latch.moved(
        tranche.latches.get(RULE),
        discount_to_par(mark.clean_price),
        mark,
        warning=cfg.warning_discount,
        critical=cfg.critical_discount,
        resolve=cfg.resolve_discount,
    )
    if moved is not None:
        tranche.latches[RULE] = moved


def evaluate(tranche: TrancheState, cfg: BelowParConfig) -> Verdict:
    quote, terms = tranche.last_quote, tranche.terms
    if quote is None or terms is None:
        return KEEP  # a quote waits for its deal's terms; it is judged when they arrive
    return latch.verdict(
        tranche.latches.get(RULE), lambda firing: _describe(tranche, quote, terms, cfg, firing)
    )


def _describe(
    tranche: TrancheState, quote: QuoteMark, terms: TrancheTerms, cfg: BelowParConfig, firing: bool
) -> Details:
    discount = discount_to_par(quote.clean_price)
    block = price_evidence(tranche, terms, quote)
    loss = block["outstanding_principal"] * discount / 100
    evidence: dict[str, Any] = {
        **tranche.analytics,  # first: the rule's own figures below win (price_drop's loss is on the drop)
        **block,
        "discount": discount,
        "mark_to_market_loss": loss,
        "currency": tranche.currency,
        "quote_event_id": quote.event_id,
        "quote_ts": quote.ts.isoformat(),
        "thresholds": {
            "warning": cfg.warning_discount,
            "critical": cfg.critical_discount,
            "resolve_below": cfg.resolve_discount,
        },
    }
    where = f"{tranche.tranche_id} at {price(quote.clean_price)}"
    if quote.clean is not None:
        where += f" ({price(quote.price)} per 100 original face, factor {block['factor']:.4g})"
    if not firing:
        return f"{where} is back within {cfg.resolve_discount:.2f} of par", evidence
    summary = (
        f"{where} is {discount:.2f} below par ({money(loss, tranche.currency)} mark-to-market on "
        f"{money(block['outstanding_principal'], tranche.currency)} outstanding)"
    )
    return summary, evidence


def _observe_quote(tranche: TrancheState, mark: QuoteMark, late: bool, cfg: BelowParConfig) -> None:
    if not late:
        observe(tranche, mark, cfg)


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: BelowParConfig
) -> None:
    judge.tranche(tranche, RULE, evaluate(tranche, cfg), when, subject)


SPEC = Rule(RULE, BelowParConfig, observe_quote=_observe_quote, judge_tranche=_judge_tranche)
