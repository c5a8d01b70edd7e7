"""Reading backtest input: JSON Lines as published, CSV exports with a column mapping and a time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from streams.backtest import sources
from streams.backtest.sources import CsvQuotes, by_event_time, parse_mapping, parse_tz
from streams.kafka.publish import PublishError

CSV = """Code,Date,Close,Volume
WHBUS-2025-A,2025/09/01,"95.10",100
WHBUS-2025-A,2025-09-02,,0
CQTOWER-2025-A,2025-09-02 10:15,97.5,3
"""


def _spec(**kw: object) -> CsvQuotes:
    return CsvQuotes(parse_mapping("tranche_id=Code,ts=Date,price=Close"), parse_tz("+08:00"), **kw)  # type: ignore[arg-type]


def test_csv_rows_become_quotes_with_stable_ids_and_the_close_time(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(CSV, encoding="utf-8")
    records = list(sources.read_quotes_csv(path, _spec()))
    assert [r[0] for r in records] == ["bond.quotes", "bond.quotes"]  # the empty price row is skipped
    first, second = records[0][1], records[1][1]
    assert first == {
        "event_id": "quotes.csv:WHBUS-2025-A:2025-09-01T15:00:00+08:00",
        "tranche_id": "WHBUS-2025-A",
        "ts": "2025-09-01T15:00:00+08:00",
        "price": 95.1,
        "source": "csv",
    }
    assert second["ts"] == "2025-09-02T10:15:00+08:00"


def test_csv_for_one_security_and_other_zones(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("Date,Close\n2025-09-01,99\n", encoding="utf-8")
    spec = CsvQuotes(parse_mapping("ts=Date,price=Close"), parse_tz("UTC"), tranche_id="X-A")
    (record,) = sources.read_quotes_csv(path, spec)
    assert record[1]["tranche_id"] == "X-A" and record[1]["ts"] == "2025-09-01T15:00:00+00:00"


def test_csv_errors_say_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Code,Date,Close\nA,yesterday,99\n", encoding="utf-8")
    with pytest.raises(PublishError, match=r"bad.csv:2: date 'yesterday'"):
        list(sources.read_quotes_csv(path, _spec()))
    with pytest.raises(PublishError, match="no column Close"):
        path.write_text("Code,Date,Price\n", encoding="utf-8")
        list(sources.read_quotes_csv(path, _spec()))
    with pytest.raises(PublishError, match="lacks price"):
        CsvQuotes(parse_mapping("tranche_id=Code,ts=Date"), dt.UTC)
    with pytest.raises(PublishError, match="not a quote field"):
        parse_mapping("colour=Red")
    with pytest.raises(PublishError):
        parse_tz("Mars/Olympus")


def test_parse_tz_offsets() -> None:
    assert parse_tz("+08:00").utcoffset(None) == dt.timedelta(hours=8)
    assert parse_tz("-05:30").utcoffset(None) == -dt.timedelta(hours=5, minutes=30)


def test_sort_by_event_time_is_stable_and_keeps_invalid_records_in_place() -> None:
    def q(i: str, ts: str) -> tuple[str, object]:
        return ("bond.quotes", {"event_id": i, "ts": ts})

    records = [
        q("late", "2025-09-02T09:30:00+08:00"),
        ("bond.quotes", "{not json"),
        q("early", "2025-09-01T09:30:00+08:00"),
        ("abs.deals", {"event_id": "d", "announced_at": "2025-09-01T09:30:00+08:00"}),
        q("same-instant-utc", "2025-09-01T01:30:00+00:00"),
    ]
    ordered = [r[1]["event_id"] if isinstance(r[1], dict) else r[1] for r in by_event_time(records)]
    assert ordered == ["early", "d", "same-instant-utc", "late", "{not json"]


def test_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"topic": "bond.quotes", "value": {}}\n\n[1]\n', encoding="utf-8")
    with pytest.raises(PublishError, match=r"e.jsonl:3"):
        list(sources.read_jsonl(path))
