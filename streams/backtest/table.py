"""Plain-text tables for the terminal: the alert timeline of one run, and the changes between two."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from alerts.core.model import Alert
from streams.cli.texttable import render

from .compare import Change, subject_label
from .replay import BacktestRun


def when(stamp: dt.datetime) -> str:
    """Event time as the event wrote it (its own offset), to the minute."""
    return stamp.isoformat(sep=" ", timespec="minutes")


def alerts_table(notices: Sequence[Alert]) -> str:
    if not notices:
        return "(no alerts)"
    rows = [[when(n.event_time), n.rule, n.severity, n.status, subject_label(n), n.summary] for n in notices]
    return render(["EVENT TIME", "RULE", "SEVERITY", "STATUS", "SUBJECT", "EVIDENCE"], rows)


def counts_line(run: BacktestRun) -> str:
    parts = []
    for topic, row in run.counts.items():
        extra = ", ".join(f"{n} {outcome}" for outcome, n in row.items() if outcome != "processed" and n)
        parts.append(f"{topic} {row['processed']}" + (f" ({extra})" if extra else ""))
    firing = len(run.firing())
    return f"events: {'; '.join(parts) or 'none'}. {len(run.notices)} notices, {firing} alerts firing at the end."


def changes_table(changes: Sequence[Change]) -> str:
    if not changes:
        return "(no differences)"
    rows = [[c.kind, c.rule, c.subject, c.detail] for c in changes]
    return render(["CHANGE", "RULE", "SUBJECT", "DETAIL"], rows)
