"""One way for tests to make an alert: a firing critical below_par on tranche T{n}, with what a test names
changed (validated like any alert)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.core.model import Alert, Subject

T0 = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def an_alert(n: int = 1, **changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "fingerprint": f"fp{n}",
        "rule": "below_par",
        "severity": "critical",
        "status": "firing",
        "subject": Subject(tranche_id=f"T{n}"),
        "starts_at": T0,
        "event_time": T0,
        "summary": f"T{n} at 94.00 is 6.00 below par",
        "evidence": {"price": 94.0, "discount": 6.0},
    }
    return Alert(**{**fields, **changes})
