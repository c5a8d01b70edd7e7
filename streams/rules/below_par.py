"""below_par: a tranche priced under par, with hysteresis so it does not flap around a threshold."""

from __future__ import annotations

from alerts.format import money, price
from alerts.model import KEEP, Alert, Fire, Resolve, Verdict
from streams.rules.config import BelowParConfig
from streams.state import TrancheState


def discount_to_par(clean_price: float) -> float:
    return round(100.0 - clean_price, 10)


def evaluate(tranche: TrancheState, current: Alert | None, cfg: BelowParConfig) -> Verdict:
    quote, terms = tranche.last_quote, tranche.terms
    if quote is None or terms is None:
        return KEEP  # a quote waits for its deal's terms; it is judged when they arrive
    discount = discount_to_par(quote.price)
    loss = terms.face_value * discount / 100
    evidence = {
        "price": quote.price,
        "discount": discount,
        "face_value": terms.face_value,
        "mark_to_market_loss": loss,
        "currency": tranche.currency,
        "quote_event_id": quote.event_id,
        "quote_ts": quote.ts.isoformat(),
        "thresholds": {
            "warning": cfg.warning_discount,
            "critical": cfg.critical_discount,
            "resolve_below": cfg.resolve_discount,
        },
        **tranche.analytics,
    }
    where = f"{tranche.tranche_id} at {price(quote.price)}"
    if discount >= cfg.warning_discount:
        severity = "critical" if discount >= cfg.critical_discount else "warning"
        return Fire(
            severity,
            f"{where} is {discount:.2f} below par ({money(loss, tranche.currency)} mark-to-market on "
            f"{money(terms.face_value, tranche.currency)} face)",
            evidence,
        )
    firing = current is not None and current.status == "firing"
    if firing and discount < cfg.resolve_discount:
        return Resolve(f"{where} is back within {cfg.resolve_discount:.2f} of par", evidence)
    return KEEP  # between the resolve and warning levels: hold whatever state it is in
