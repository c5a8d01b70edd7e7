"""The bench market made amortising and quoted per 100 of original face (`python -m streams.bench.rules
--structured`): what the quote path costs when every quote is divided by its tranche's factor.

Each tranche becomes quarterly and repays 10% of its original face on every fourth coupon date after its
first year (half at most); each quote's price is multiplied by the factor at its settlement and sent with
`price_basis: original`, so the prices per 100 outstanding, and the alerts, are the generated market's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.model.analytics import factor_at
from streams.model.events import Deal, Event, Quote, TrancheTerms
from streams.model.schedule import coupon_dates, settlement_date


def _amortising(terms: TrancheTerms) -> TrancheTerms:
    dates = coupon_dates(terms.issue_date, terms.maturity_date, 4)
    repaid = [{"date": d, "pct_of_original": 10.0} for d in dates[3:-1:4][:5]]
    return TrancheTerms.model_validate({**terms.model_dump(), "coupon_frequency": 4, "amortisation": repaid})


def structured(stream: Sequence[tuple[str, Event]]) -> list[tuple[str, Event]]:
    terms: dict[str, TrancheTerms] = {}
    out: list[tuple[str, Event]] = []
    for topic, event in stream:
        if isinstance(event, Deal):
            tranches = [_amortising(t) for t in event.tranches]
            terms.update((t.tranche_id, t) for t in tranches)
            event = event.model_copy(update={"tranches": tranches})
        elif isinstance(event, Quote) and event.tranche_id in terms:
            factor = factor_at(terms[event.tranche_id], (), settlement_date(event.ts)).value
            update: dict[str, Any] = {"price": round(event.price * factor, 6), "price_basis": "original"}
            event = event.model_copy(update=update)
        out.append((topic, event))
    return out
