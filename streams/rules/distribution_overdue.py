"""distribution_overdue (tranche, contract v2): a scheduled payment date is more than N China trading days
(default 5) behind the stream's event-time clock and the trustee has not reported it. Warning; resolves when
the report arrives. Judged only once the tranche has at least one distribution report (before that, the
desk has nothing to expect a report against) and its terms are known (the schedule comes from them).

Which date is expected. The tranche's scheduled payment dates are its coupon dates (streams/model/schedule.py:
rolled back from maturity by 12/f months, unadjusted, maturity last). The one judged is the newest scheduled
date that lies more than N trading days behind the clock, counted as stale_quote counts (the trading days
after the date up to and including the clock's date, on the Shanghai exchange's calendar of
alerts/core/china.py), so with N = 5 a 2026-01-15 (Thursday) payment is overdue from the clock's 2026-01-23.
A report counts for the scheduled date nearest its `payment_date` (ties: the earlier), since a payment due
on a holiday is made, and reported, on a business day next to it. The tranche's newest report (latest
payment date) covers its scheduled date and every one before; the next scheduled date after it is the one
that falls due (`due_date`). A report for a date already reported replaces it and changes nothing here.

The clock is stale_quote's: the newest quote time committed (one value beside the documents that only moves
forward; streams/state/snapshot.py), so this rule reads event time only, never the wall clock.

Its index, as stale_quote's and apart from it (`StateKeys.overdue`): the tranches with a report that are not
overdue yet, each filed under its due date (midnight China time). Derived from each tranche's document
(`watched_at`) and rewritten with it, so it never disagrees with the documents; bounded by the tranches with
a report and a payment still to come (a tranche whose maturity was reported leaves it, and a firing one is
out of it until its report arrives). A batch that moves the clock loads only the tranches filed before its
final clock's cutoff, the only ones it can make overdue, and fires for those the clock leaves behind; the
commit's checks (as stale_quote's) make it judge again when another worker moved the clock past a tranche it
filed or filed one it did not load. A tranche's own events (a report, its deal's terms) judge it against the
clock as loaded.

Order of events. The verdict is a function of the tranche's terms, its newest report and the clock, each
independent of the order the topics were read in (the newest report is the latest payment date, the clock
only moves forward), so the final firing set is the same for every interleaving.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any, Final

import QuantLib as ql

from alerts.core.china import CALENDAR, CALENDAR_NAME, CHINA_TIME, china_date, ql_date
from alerts.core.model import Fire, Resolve, Subject, Verdict
from streams.model.state import TrancheState
from streams.rules.config import DistributionOverdueConfig
from streams.rules.due_index import Index, file, overdue, unwatch
from streams.rules.payments import newest_report
from streams.rules.spec import Judge, Rule
from streams.rules.stale_quote import cutoff_date, trading_days_since

RULE: Final = "distribution_overdue"


def midnight(day: dt.date) -> dt.datetime:
    """A date as the index files it: its start in China time."""
    return dt.datetime.combine(day, dt.time(0), CHINA_TIME)


def cutoff(clock: dt.datetime, cfg: DistributionOverdueConfig) -> dt.datetime:
    """A scheduled date before this instant's date is overdue at `clock` (if unreported)."""
    return midnight(cutoff_date(china_date(clock), cfg.trading_days))


def overdue_from(due: dt.date, cfg: DistributionOverdueConfig) -> dt.datetime:
    """The earliest clock at which a payment due on `due` is overdue: midnight of the N-th trading day after
    the first trading day following it (the first clock date whose cutoff passes it)."""
    next_open = CALENDAR.adjust(ql_date(due + dt.timedelta(days=1)), ql.Following)
    day = CALENDAR.advance(next_open, cfg.trading_days, ql.Days)
    return midnight(dt.date(day.year(), day.month(), day.dayOfMonth()))


def covered(tranche: TrancheState) -> tuple[tuple[dt.date, ...], int] | None:
    """The tranche's scheduled dates and the index of the newest one its newest report covers (-1: none yet,
    a report nearer its issue date than its first coupon date); None before terms or reports."""
    terms, report = tranche.terms, newest_report(tranche)
    if terms is None or report is None:
        return None
    dates = terms.coupon_dates
    paid = report.payment_date
    i = bisect.bisect_left(dates, paid)  # dates[i - 1] < paid <= dates[i]
    if i == len(dates):
        return dates, i - 1
    before = dates[i - 1] if i > 0 else terms.issue_date
    # The nearest scheduled date (or the issue date, which no report is for): ties go to the earlier one.
    return dates, (i if dates[i] - paid < paid - before else i - 1)


def due_date(tranche: TrancheState) -> dt.date | None:
    """The next scheduled payment date without a report; None before terms or reports, or once the newest
    report covers maturity."""
    found = covered(tranche)
    if found is None:
        return None
    dates, last = found
    return dates[last + 1] if last + 1 < len(dates) else None


def is_firing(tranche: TrancheState) -> bool:
    alert = tranche.alerts.get(RULE)
    return alert is not None and alert.status == "firing"


def watched_at(tranche: TrancheState) -> dt.datetime | None:
    """Where the tranche is filed in the index: under its due date, unless it is overdue already (its firing
    alert lives on its own document) or expects nothing. Derived from the document alone."""
    if is_firing(tranche):
        return None
    due = due_date(tranche)
    return midnight(due) if due is not None else None


def watch(index: Index, tranche: TrancheState) -> None:
    """Files the tranche by the midnight its next payment falls due."""
    file(index, tranche.tranche_id, watched_at(tranche))


def refile(index: Index, tranche: TrancheState) -> None:
    unwatch(index, tranche.tranche_id)
    watch(index, tranche)


def evaluate(tranche: TrancheState, clock: dt.datetime, cfg: DistributionOverdueConfig) -> Verdict | None:
    """Fire while the newest scheduled date behind the cutoff has no report, Resolve otherwise; None when the
    tranche expects nothing (no terms or no report yet)."""
    found = covered(tranche)
    if found is None:
        return None
    dates, last = found
    limit = cutoff_date(china_date(clock), cfg.trading_days)
    behind = bisect.bisect_left(dates, limit) - 1  # the newest scheduled date before the cutoff
    report = newest_report(tranche)
    assert report is not None
    if behind > last:
        missing = dates[behind]
        return Fire("warning", describe=lambda: _overdue(tranche, dates, last, missing, clock, cfg))
    return Resolve(describe=lambda: _reported(tranche, dates, last, clock))


def _overdue(
    tranche: TrancheState,
    dates: tuple[dt.date, ...],
    last: int,
    missing: dt.date,
    clock: dt.datetime,
    cfg: DistributionOverdueConfig,
) -> tuple[str, dict[str, Any]]:
    report = newest_report(tranche)
    assert report is not None
    days = trading_days_since(midnight(missing), clock)
    unreported = [d for d in dates[last + 1 :] if d <= missing]
    evidence: dict[str, Any] = {
        "payment_date_missing": missing.isoformat(),
        "trading_days_overdue": days,
        "last_reported_payment_date": report.payment_date.isoformat(),
        "last_report_event_id": report.event_id,
        "scheduled_dates_unreported": [d.isoformat() for d in unreported],
        "market_clock": clock.isoformat(),
        "threshold_trading_days": cfg.trading_days,
        "calendar": CALENDAR_NAME,
    }
    summary = (
        f"{tranche.tranche_id}: the {missing.isoformat()} distribution is {days} trading days overdue "
        f"(last report {report.payment_date.isoformat()}"
    )
    if len(unreported) > 1:
        summary += f"; {len(unreported)} scheduled distributions unreported since"
    return summary + ")", evidence


def _reported(
    tranche: TrancheState, dates: tuple[dt.date, ...], last: int, clock: dt.datetime
) -> tuple[str, dict[str, Any]]:
    report = newest_report(tranche)
    assert report is not None
    evidence = {
        "payment_date": report.payment_date.isoformat(),
        "scheduled_date": dates[last].isoformat() if last >= 0 else None,
        "report_event_id": report.event_id,
        "reported_at": report.reported_at.isoformat(),
        "market_clock": clock.isoformat(),
    }
    return (
        f"{tranche.tranche_id}: the {report.payment_date.isoformat()} distribution was reported "
        f"on {china_date(report.reported_at).isoformat()}",
        evidence,
    )


def _judge_tranche(
    judge: Judge, tranche: TrancheState, subject: Subject, when: dt.datetime, cfg: DistributionOverdueConfig
) -> None:
    """A tranche's own events (a report, its deal's terms, a quote): judged against the clock as loaded."""
    if not tranche.reports:
        return  # most tranches on the quote path: nothing expected of them
    snap = judge.snap
    clock = snap.market_clock
    if clock is not None:
        verdict = evaluate(tranche, clock, cfg)
        if verdict is not None:
            judge.tranche(tranche, RULE, verdict, when, subject)
    refile(snap.overdue_index, tranche)


def _on_quote(judge: Judge, tranche: TrancheState, previous: Any, cfg: DistributionOverdueConfig) -> None:
    """The clock moves with quotes alone: fires for the tranches it has left behind, and only for those."""
    snap = judge.snap
    clock = snap.clock
    index = snap.overdue_index
    if clock is None or not index.entries:
        return
    for tranche_id in overdue(index, cutoff(clock, cfg)):
        left = snap.tranches[tranche_id]
        verdict = evaluate(left, clock, cfg)
        if verdict is not None:
            judge.tranche(left, RULE, verdict, clock)
        watch(index, left)  # still watched if an anti-noise pending period held the alert


SPEC = Rule(RULE, DistributionOverdueConfig, on_quote=_on_quote, judge_tranche=_judge_tranche)
