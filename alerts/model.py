"""The alert of the wire contract, its fingerprint, and the verdicts rules hand to the lifecycle."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["info", "warning", "critical"]
Status = Literal["firing", "resolved"]
RuleName = Literal[
    "below_par",
    "price_drop",
    "issuer_loss_widening",
    "distressed_tranche",
    "issuing_into_weakness",
    "issuance_record",
    "stale_quote",
]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class Subject(BaseModel):
    """What an alert is about. Only the fields that apply are set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tranche_id: str | None = None
    issuer_id: str | None = None
    deal_id: str | None = None
    year: int | None = None


class Alert(BaseModel):
    """One message on `abs.alerts`: a firing, an escalation or a resolution."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    rule: RuleName
    severity: Severity
    status: Status
    subject: Subject
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    event_time: dt.datetime
    summary: str
    evidence: dict[str, Any]
    seq: int = 1  # transition number within this fingerprint: the notification log's idempotency key


def subject_key(subject: Subject) -> str:
    """The subject's identity: a tranche, else a deal, else an issuer, else a year."""
    return subject.tranche_id or subject.deal_id or subject.issuer_id or str(subject.year)


def fingerprint(rule: str, subject_key: str) -> str:
    """Stable in rule and subject identity only, so an escalation keeps its fingerprint."""
    return hashlib.sha256(f"{rule}\x00{subject_key}".encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Fire:
    severity: Severity
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resolve:
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Keep:
    """Nothing changes: inside a hysteresis band, or nothing to judge yet."""


Verdict = Fire | Resolve | Keep
KEEP = Keep()
