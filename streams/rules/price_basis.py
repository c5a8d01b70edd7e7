"""The price block of every tranche alert's evidence: the quote as quoted and per 100 of outstanding principal.

A price quoted per 100 of original face is judged divided by the factor at its settlement date
(streams/engine/structure.py); the evidence shows both, the factor and where it came from, and says so when
nothing told the factor (no amortisation schedule, no report stating one) and 1 was used.
"""

from __future__ import annotations

from typing import Any

from streams.model.events import TrancheTerms
from streams.model.schedule import settlement_date
from streams.model.state import QuoteMark, TrancheState

NO_FACTOR = "no amortisation schedule and no distribution report states a factor: factor 1 used"


def outstanding(tranche: TrancheState, terms: TrancheTerms, quote: QuoteMark) -> float:
    """Principal outstanding at the quote's settlement, in currency units."""
    return terms.face_value * tranche.factor_at(settlement_date(quote.ts)).value


def price_evidence(tranche: TrancheState, terms: TrancheTerms, quote: QuoteMark) -> dict[str, Any]:
    factor = tranche.factor_at(settlement_date(quote.ts))
    out: dict[str, Any] = {
        "price": quote.price,
        "price_basis": "remaining" if quote.clean is None else "original",
        "clean_price": quote.clean_price,
        "factor": factor.value,
        "factor_source": factor.source,
        "face_value": terms.face_value,
        "outstanding_principal": terms.face_value * factor.value,
    }
    if factor.report_date is not None:
        out["factor_report_date"] = factor.report_date.isoformat()
    if quote.clean is not None and factor.source != "report" and not terms.amortisation:
        out["factor_note"] = NO_FACTOR  # a bullet by its terms, but nothing confirms what is outstanding
    return out
