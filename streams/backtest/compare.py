"""Two backtests of the same events under two rules files, alert by alert.

Alerts are matched by fingerprint (rule and subject, never severity), so a threshold change shows as the
same alert firing earlier, later, more severely, or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from alerts.core.model import SEVERITY_RANK, Alert, RuleName, Severity

ChangeKind = Literal["gained", "lost", "earlier", "later", "severity", "episodes"]


def subject_label(alert: Alert) -> str:
    s = alert.subject
    return (
        s.tranche_id
        or s.deal_id
        or s.issuer_id
        or s.entity_id
        or (str(s.year) if s.year is not None else "-")
    )


@dataclass(frozen=True, slots=True)
class Episode:
    """One stretch of an alert from its firing to its resolution (None while still firing)."""

    fingerprint: str
    rule: RuleName
    subject: str
    started: dt.datetime
    peak: Severity
    ended: dt.datetime | None
    summary: str  # of the first firing: the evidence that raised it


def episodes(notices: Iterable[Alert]) -> list[Episode]:
    """Folds notices (firings, escalations, resolutions) into episodes, in the order they started."""
    open_: dict[str, Episode] = {}
    done: list[Episode] = []
    for n in notices:
        current = open_.get(n.fingerprint)
        if n.status == "firing":
            if current is None:
                open_[n.fingerprint] = Episode(
                    n.fingerprint, n.rule, subject_label(n), n.event_time, n.severity, None, n.summary
                )
            elif SEVERITY_RANK[n.severity] > SEVERITY_RANK[current.peak]:
                open_[n.fingerprint] = _replace_peak(current, n.severity)
        elif current is not None:
            done.append(_close(current, n.event_time))
            del open_[n.fingerprint]
    return sorted([*done, *open_.values()], key=lambda e: (e.started, e.rule, e.subject))


def _replace_peak(e: Episode, peak: Severity) -> Episode:
    return Episode(e.fingerprint, e.rule, e.subject, e.started, peak, e.ended, e.summary)


def _close(e: Episode, ended: dt.datetime) -> Episode:
    return Episode(e.fingerprint, e.rule, e.subject, e.started, e.peak, ended, e.summary)


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    rule: RuleName
    subject: str
    before: Episode | None  # first episode under the first rules file
    after: Episode | None  # first episode under the second
    detail: str


def compare(before: Iterable[Alert], after: Iterable[Alert]) -> list[Change]:
    """What the second rules file changes: alerts gained or lost, first firings moved, peaks changed."""
    old, new = _by_fingerprint(episodes(before)), _by_fingerprint(episodes(after))
    changes: list[Change] = []
    # Ties on the start are broken by rule and subject, so the table is the same on every run.
    for fp in sorted(old.keys() | new.keys(), key=lambda f: _first_start(old.get(f), new.get(f))):
        a, b = old.get(fp), new.get(fp)
        if a is None and b is not None:
            changes.append(
                Change("gained", b[0].rule, b[0].subject, None, b[0], f"fires {b[0].started:%Y-%m-%d %H:%M}")
            )
        elif b is None and a is not None:
            changes.append(
                Change("lost", a[0].rule, a[0].subject, a[0], None, f"fired {a[0].started:%Y-%m-%d %H:%M}")
            )
        elif a is not None and b is not None:
            changes.extend(_moved(a, b))
    return changes


def _moved(a: list[Episode], b: list[Episode]) -> list[Change]:
    first_a, first_b = a[0], b[0]
    out: list[Change] = []
    if first_a.started != first_b.started:
        kind: ChangeKind = "earlier" if first_b.started < first_a.started else "later"
        shift = _days(first_b.started - first_a.started)
        detail = f"{first_a.started:%Y-%m-%d %H:%M} -> {first_b.started:%Y-%m-%d %H:%M} ({shift})"
        out.append(Change(kind, first_a.rule, first_a.subject, first_a, first_b, detail))
    peak_a = max((e.peak for e in a), key=SEVERITY_RANK.__getitem__)
    peak_b = max((e.peak for e in b), key=SEVERITY_RANK.__getitem__)
    if peak_a != peak_b:
        out.append(
            Change("severity", first_a.rule, first_a.subject, first_a, first_b, f"peak {peak_a} -> {peak_b}")
        )
    if len(a) != len(b):
        out.append(
            Change(
                "episodes", first_a.rule, first_a.subject, first_a, first_b, f"episodes {len(a)} -> {len(b)}"
            )
        )
    return out


def _by_fingerprint(eps: list[Episode]) -> dict[str, list[Episode]]:
    grouped: dict[str, list[Episode]] = {}
    for e in eps:
        grouped.setdefault(e.fingerprint, []).append(e)
    return grouped


def _first_start(a: list[Episode] | None, b: list[Episode] | None) -> tuple[dt.datetime, str, str]:
    starts = [eps[0] for eps in (a, b) if eps]
    first = min(starts, key=lambda e: e.started)
    return first.started, first.rule, first.subject


def _days(delta: dt.timedelta) -> str:
    sign = "+" if delta >= dt.timedelta(0) else "-"
    seconds = abs(delta.total_seconds())
    return f"{sign}{seconds / 86400:.1f} days" if seconds >= 86400 else f"{sign}{seconds / 3600:.1f} h"
