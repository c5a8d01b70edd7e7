"""Hysteresis as a latch: a value at or above the warning level sets a severity, one below the resolve level
clears it, one in between leaves it as it was.

The latch lives on the tranche and moves with every quote, known terms or not, so its state is a function of
the quote topic's own sequence alone; the alert is then read off the latch. That is what makes a quote read
before its deal end in the same alert as one read after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alerts.core.model import KEEP, Details, Fire, Resolve, Severity, Verdict
from streams.model.state import Latch, QuoteMark


def moved(
    latch: Latch | None, value: float, mark: QuoteMark, *, warning: float, critical: float, resolve: float
) -> Latch | None:
    """The latch after observing `value` (a discount, a drop) carried by quote `mark`."""
    if value >= warning:
        severity: Severity = "critical" if value >= critical else "warning"
        return Latch(severity=severity, event_id=mark.event_id, ts=mark.ts, value=value)
    if value < resolve:
        return Latch(severity=None, event_id=mark.event_id, ts=mark.ts, value=value)
    return latch


def verdict(latch: Latch | None, describe: Callable[[bool], Details]) -> Verdict:
    """The alert read off the latch. `describe(firing)` gives the summary and evidence of a firing (True) or a
    resolution (False); it is called only if the lifecycle emits (see alerts.core.model.Fire)."""
    if latch is None:
        return KEEP  # never left the band: nothing to say

    def told(firing: bool) -> Details:
        summary, evidence = describe(firing)
        return summary, {**evidence, "latched_by": latch_evidence(latch)}

    if latch.severity is None:
        return Resolve(describe=lambda: told(False))
    return Fire(latch.severity, describe=lambda: told(True))


def latch_evidence(latch: Latch) -> dict[str, Any]:
    """The quote that last crossed a threshold; differs from the current quote inside the band."""
    return {"event_id": latch.event_id, "ts": latch.ts.isoformat(), "value": latch.value}
