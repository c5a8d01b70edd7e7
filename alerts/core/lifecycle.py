"""Turns a rule's verdict and the alert's current state into the next state and, if any, a notice."""

from __future__ import annotations

import datetime as dt

from alerts.core.model import Alert, Fire, Keep, Resolve, RuleName, Subject, Verdict


def changes_nothing(current: Alert | None, verdict: Verdict) -> bool:
    """A keep, or a resolve of an alert not firing: `transition` returns None for these whatever else it
    is given, so a caller may skip building its arguments (most verdicts on most quotes are these)."""
    if isinstance(verdict, Keep):
        return True
    return isinstance(verdict, Resolve) and (current is None or current.status != "firing")


def transition(
    current: Alert | None,
    verdict: Verdict,
    *,
    rule: RuleName,
    fingerprint: str,
    subject: Subject,
    event_time: dt.datetime,
) -> Alert | None:
    """The new alert state when the verdict changes something the user must hear about, else None.

    A firing alert whose severity changes (escalation or easing) is a new `firing` message with the same
    fingerprint; a resolution is a `resolved` message carrying the evidence that ended it.
    """
    if changes_nothing(current, verdict):
        return None
    firing = current is not None and current.status == "firing"
    seq = (current.seq + 1) if current is not None else 1
    if isinstance(verdict, Resolve):
        assert current is not None
        return current.model_copy(
            update={
                "status": "resolved",
                "ends_at": event_time,
                "event_time": event_time,
                "summary": verdict.summary,
                "evidence": verdict.evidence,
                "seq": seq,
                "subject": subject,
            }
        )
    assert isinstance(verdict, Fire)
    if firing and current is not None and current.severity == verdict.severity:
        return None
    return Alert(
        fingerprint=fingerprint,
        rule=rule,
        severity=verdict.severity,
        status="firing",
        subject=subject,
        starts_at=current.starts_at if firing and current is not None else event_time,
        ends_at=None,
        event_time=event_time,
        summary=verdict.summary,
        evidence=verdict.evidence,
        seq=seq,
    )
