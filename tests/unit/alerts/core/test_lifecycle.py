from __future__ import annotations

import datetime as dt

from alerts.core.lifecycle import transition
from alerts.core.model import KEEP, Alert, Fire, Resolve, Subject, fingerprint

T0 = dt.datetime(2025, 9, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SUBJECT = Subject(tranche_id="A", issuer_id="i", deal_id="d")
FP = fingerprint("below_par", "A")


def step(current: Alert | None, verdict: Fire | Resolve, minutes: int = 0) -> Alert | None:
    return transition(
        current,
        verdict,
        rule="below_par",
        fingerprint=FP,
        subject=SUBJECT,
        event_time=T0 + dt.timedelta(minutes=minutes),
    )


def test_fire_escalate_resolve() -> None:
    first = step(None, Fire("warning", "w", {"price": 97}))
    assert first is not None and (first.status, first.severity, first.seq) == ("firing", "warning", 1)
    assert step(first, Fire("warning", "w again")) is None  # same severity: nothing to say
    up = step(first, Fire("critical", "c"), minutes=5)
    assert up is not None and up.severity == "critical" and up.seq == 2
    assert up.fingerprint == first.fingerprint and up.starts_at == first.starts_at == T0
    done = step(up, Resolve("back", {"price": 99}), minutes=10)
    assert done is not None and done.status == "resolved" and done.ends_at == T0 + dt.timedelta(minutes=10)
    assert done.severity == "critical" and done.seq == 3 and done.evidence == {"price": 99}


def test_resolve_without_firing_and_keep_say_nothing() -> None:
    assert step(None, Resolve("x")) is None
    assert transition(None, KEEP, rule="below_par", fingerprint=FP, subject=SUBJECT, event_time=T0) is None


def test_refiring_after_resolution_starts_anew() -> None:
    first = step(None, Fire("warning", "w"))
    done = step(first, Resolve("r"), minutes=1)
    again = step(done, Fire("warning", "w"), minutes=2)
    assert again is not None and again.starts_at == T0 + dt.timedelta(minutes=2) and again.seq == 3


def test_fingerprint_is_stable_and_ignores_severity() -> None:
    assert fingerprint("below_par", "A") == fingerprint("below_par", "A")
    assert fingerprint("below_par", "A") != fingerprint("price_drop", "A")
