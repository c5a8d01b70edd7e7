"""The alert of the wire contract, its fingerprint, and the verdicts rules hand to the lifecycle."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["info", "warning", "critical"]
Status = Literal["firing", "resolved"]
# THE list of rules, in the order the engine judges them: each name is the module streams/rules/<name>.py
# (found by streams/rules/registry.py, which says how to add one) and the table [<name>] of the rules file.
RuleName = Literal[
    "below_par",
    "price_drop",
    "issuer_loss_widening",
    "issuer_deep_loss",
    "distressed_tranche",
    "missed_payment",
    "support_drawn",
    "distribution_overdue",
    "coverage_shortfall",
    "trigger_breach",
    "reserve_shortfall",
    "stressed_collateral",
    "rating_downgrade",
    "issuing_into_weakness",
    "issuance_record",
    "issuance_value_record",
    "stale_quote",
    "family_stress",
]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class Subject(BaseModel):
    """What an alert is about. Only the fields that apply are set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tranche_id: str | None = None
    issuer_id: str | None = None
    deal_id: str | None = None
    year: int | None = None
    entity_id: str | None = None  # v2: the family root of family_stress (abs.entities)


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
    """The subject's identity: a tranche, else a deal, else an issuer, else an entity, else a year. A subject
    without `entity_id` keys (and fingerprints) exactly as before the field existed."""
    return (
        subject.tranche_id or subject.deal_id or subject.issuer_id or subject.entity_id or str(subject.year)
    )


@lru_cache(maxsize=32_768)  # asked for on every rule judgement, i.e. several times per quote
def fingerprint(rule: str, subject_key: str) -> str:
    """Stable in rule and subject identity only, so an escalation keeps its fingerprint."""
    return hashlib.sha256(f"{rule}\x00{subject_key}".encode()).hexdigest()[:20]


Details = tuple[str, dict[str, Any]]  # a verdict's summary and evidence
Describe = Callable[[], Details]


class _Told:
    """A verdict's summary and evidence: given, or built by `describe` when first read.

    Most verdicts change nothing (a quote that keeps a firing alert at its severity) and the lifecycle reads
    the summary and evidence only when it emits, so rules judged on every quote pass `describe` and pay for
    the formatting only then. `describe` runs within the record() call that judges the verdict, so it sees
    the state the verdict was judged on.
    """

    __slots__ = ("_describe", "_details")

    def __init__(
        self,
        summary: str | None = None,
        evidence: dict[str, Any] | None = None,
        *,
        describe: Describe | None = None,
    ) -> None:
        if (summary is None) == (describe is None):
            raise TypeError("a verdict takes either a summary (and evidence) or describe")
        self._details: Details | None = (
            None if summary is None else (summary, {} if evidence is None else evidence)
        )
        self._describe = describe

    def _told(self) -> Details:
        if self._details is None:
            assert self._describe is not None
            self._details = self._describe()
        return self._details

    @property
    def summary(self) -> str:
        return self._told()[0]

    @property
    def evidence(self) -> dict[str, Any]:
        return self._told()[1]


class Fire(_Told):
    __slots__ = ("severity",)

    def __init__(
        self,
        severity: Severity,
        summary: str | None = None,
        evidence: dict[str, Any] | None = None,
        *,
        describe: Describe | None = None,
    ) -> None:
        super().__init__(summary, evidence, describe=describe)
        self.severity: Severity = severity


class Resolve(_Told):
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Keep:
    """Nothing changes: inside a hysteresis band, or nothing to judge yet."""


Verdict = Fire | Resolve | Keep
KEEP = Keep()
