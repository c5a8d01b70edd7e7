"""family_stress (contract v2): several issuers of one credit family in trouble at once.

Subject: the family root entity (streams/model/family.py; `Subject.entity_id`). The count is the number of
distinct issuers of the family with at least one firing critical alert of the COUNTED rules; an alert belongs
to the issuer of its tranche, deal or issuer. ≥ `warning_issuers` (2) warns, ≥ `critical_issuers` (3) is
critical, fewer than `warning_issuers` resolves; while firing the severity never steps down (lifecycle).

When it is judged, and what it costs. The counted alerts are recorded on their own documents; each one that
changes (a notice of a counted rule), each tranche a deal re-attributes, and each entity record marks the
batch (`Snapshot.family_changed`). Only such a batch pays, after its events are applied
(streams/engine/families.py): one round trip for the `families` document, which holds the stressed issuers'
marks (`FamilyState.stressed`, fingerprint by fingerprint) and every family_stress alert, then one round trip
per level of the entity chains of the stressed issuers and of the roots with a firing alert (a handful: the
documents are cached like the others). A quote batch that moves no counted alert loads nothing more. Every
family with a stressed issuer, or a firing alert, is then judged again from the marks and the entity records,
so the result depends on the final state alone, not on the order the topics were read in or the batch sizes.
The `families` document is one for all workers: two batches that change it at once conflict and one is
judged again (rare: only batches that move a counted alert).

Enabling the rule later counts the alerts as they change from then on; the marks are kept only while it is on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, get_args

from alerts.core.model import SEVERITY_RANK, Alert, Fire, Resolve, RuleName, Severity, Verdict
from streams.model.family import family_chain
from streams.model.state import EntityState, FamilyState, StressMark
from streams.rules.config import FamilyStressConfig
from streams.rules.spec import Rule

RULE: Final = "family_stress"
WANTED: Final = (
    "below_par",
    "distressed_tranche",
    "missed_payment",
    "issuer_loss_widening",
    "coverage_shortfall",
    "trigger_breach",
    "stressed_collateral",
    "rating_downgrade",
)
COUNTED: Final = frozenset(r for r in WANTED if r in get_args(RuleName))
"""The contract's list, as far as those rules exist yet: a rule added later counts once it is in RuleName."""


def marks_of(doc: str, alerts: Mapping[str, Alert]) -> dict[str, StressMark]:
    """The counted alerts of one document that are firing critical, by fingerprint."""
    return {
        a.fingerprint: StressMark(
            rule=a.rule,
            doc=doc,
            subject=a.subject.tranche_id or a.subject.deal_id or a.subject.issuer_id or "",
            starts_at=a.starts_at,
            summary=a.summary,
            # A firing alert changes only with its severity (alerts/core/lifecycle.py), so a critical one's
            # event_time is when it became critical: a warning since September that turned critical in
            # October made its issuer stressed in October.
            critical_since=a.event_time,
        )
        for a in alerts.values()
        if a.rule in COUNTED and a.status == "firing" and a.severity == "critical"
    }


def reconcile(state: FamilyState, doc: str, issuer_id: str | None, marks: dict[str, StressMark]) -> bool:
    """Replaces the marks of `doc` (wherever they were filed) with `marks`, filed under `issuer_id`; True if
    anything changed. An issuer left without a mark is no longer stressed."""
    before = {i: dict(m) for i, m in state.stressed.items()}
    for issuer, held in list(state.stressed.items()):
        for fp in [fp for fp, mark in held.items() if mark.doc == doc]:
            del held[fp]
        if not held:
            del state.stressed[issuer]
    if issuer_id is not None and marks:
        state.stressed.setdefault(issuer_id, {}).update(marks)
    if state.stressed == before:
        # Nothing changed, but the marks were taken out and put back at the end: restore the order as loaded,
        # so the document, which is not written, also serialises as loaded (a rating_downgrade warning on a
        # tranche with critical marks got here).
        state.stressed.clear()
        state.stressed.update(before)
        return False
    return True


def families(state: FamilyState, parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Stressed issuers by family root, each list sorted."""
    out: dict[str, list[str]] = {}
    for issuer in sorted(state.stressed):
        out.setdefault(family_chain(issuer, parents)[-1], []).append(issuer)
    return out


def evaluate(
    root: str,
    members: list[str],
    state: FamilyState,
    entities: Mapping[str, EntityState],
    parents: Mapping[str, str | None],
    cfg: FamilyStressConfig,
    current: Alert | None = None,
) -> Verdict:
    count = len(members)
    severity: Severity | None = (
        "critical" if count >= cfg.critical_issuers else "warning" if count >= cfg.warning_issuers else None
    )
    # The contract: severity never steps down while firing (critical holds until fewer than warning_issuers).
    firing = current is not None and current.status == "firing"
    if (
        severity is not None
        and firing
        and current
        and SEVERITY_RANK[current.severity] > SEVERITY_RANK[severity]
    ):
        severity = current.severity
    known = entities.get(root)
    name = known.name if known is not None and known.name else root

    def evidence() -> dict[str, Any]:
        return {
            "root": root,
            "root_name": name,
            "issuers": count,
            "stressed": {
                issuer: {
                    "chain": family_chain(issuer, parents),
                    "alerts": [
                        {
                            "fingerprint": fp,
                            "rule": m.rule,
                            "subject": m.subject,
                            "starts_at": m.starts_at.isoformat(),
                            "critical_since": (m.critical_since or m.starts_at).isoformat(),
                            "summary": m.summary,
                        }
                        for fp, m in sorted(state.stressed[issuer].items())
                    ],
                }
                for issuer in members
            },
            "thresholds": {"warning_issuers": cfg.warning_issuers, "critical_issuers": cfg.critical_issuers},
        }

    def described() -> tuple[str, dict[str, Any]]:
        who = ", ".join(
            f"{i} ({'/'.join(sorted({m.rule for m in state.stressed[i].values()}))})" for i in members
        )
        return f"{count} issuers of the {name} family have critical alerts: {who}", evidence()

    if severity is None:
        return Resolve(
            describe=lambda: (
                f"{name} family: {count} issuer{'s' if count != 1 else ''} with critical alerts, "
                f"below {cfg.warning_issuers}",
                evidence(),
            )
        )
    return Fire(severity, describe=described)


def when_fired(members: list[str], state: FamilyState, fallback: dt.datetime) -> dt.datetime:
    """The family reached its count when the latest of its members became stressed: each member's earliest
    mark counted from when that alert turned critical, not from its first warning."""
    firsts = [min(m.critical_since or m.starts_at for m in state.stressed[i].values()) for i in members]
    return max(firsts) if firsts else fallback


SPEC = Rule(
    RULE, FamilyStressConfig
)  # no per-event hook: judged after the batch (streams/engine/families.py)
