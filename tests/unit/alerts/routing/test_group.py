from __future__ import annotations

import datetime as dt

from alerts.core.model import Alert, Subject
from alerts.routing.group import Entry, group_entries

T0 = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def entry(n: int, issuer: str, group_by: tuple[str, ...] = ("issuer",), seq: int = 1) -> Entry:
    alert = Alert(
        fingerprint=f"fp{n}",
        rule="below_par",
        severity="warning",
        status="firing",
        subject=Subject(tranche_id=f"T{n}", issuer_id=issuer),
        starts_at=T0,
        event_time=T0,
        summary=f"T{n}",
        evidence={},
        seq=seq,
    )
    return Entry(f"{n}-0", alert, {"issuer": issuer, "tranche": f"T{n}"}, group_by)


def test_a_storm_of_one_issuer_is_one_group_in_order() -> None:
    entries = [entry(1, "a"), entry(2, "b"), entry(3, "a"), entry(4, "a")]
    groups = group_entries(entries)
    assert [[a.fingerprint for a in g.alerts] for g in groups] == [["fp1", "fp3", "fp4"], ["fp2"]]
    assert groups[0].title == "issuer a"


def test_without_group_by_each_notice_is_alone() -> None:
    groups = group_entries([entry(1, "a", ()), entry(2, "a", ())])
    assert [len(g.entries) for g in groups] == [1, 1]


def test_groups_are_capped_and_each_incident_stays_in_order() -> None:
    entries = [entry(1, "a", seq=s) for s in range(1, 6)]
    groups = group_entries(entries, max_size=2)
    assert [[a.seq for a in g.alerts] for g in groups] == [[1, 2], [3, 4], [5]]
