"""CSV exports with a column mapping, for `publish` and `backtest`: price histories, trustee distribution
reports and servicer reports become the records a JSON Lines file gives; unreadable rows are named by line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from streams.ingest.parse import parse
from streams.kafka.csv_records import CsvSpec, Kind, parse_mapping, parse_tz, read_csv
from streams.kafka.publish import PublishError
from streams.model.events import Distribution, ServicerReport

QUOTES_CSV = """Code,Date,Close,Volume
WHBUS-2025-A,2025/09/01,"95.10",100
WHBUS-2025-A,2025-09-02,,0
CQTOWER-2025-A,2025-09-02 10:15,97.5,3
"""
TRUSTEE_CSV = """Tranche,Pay Date,Published,Int Due,Int Paid,Prin Due,Prin Paid,Undertaking,Factor
BISHUI-24-A,2024-07-15,2024-07-16 18:00,"10,000,000",6000000,0,0,4000000,1.0
BISHUI-24-A,2024/01/15,2024-01-16,0,0,0,0,,
"""
SERVICER_CSV = """Deal,From,To,Published,Collected,Debt Service,Reserve,Reserve Req,DQ %,DSCR<1.1
BISHUI-24,2024-04-01,2024-06-30,2024-07-20 18:00,30000000,40000000,5000000,20000000,3.5,Y
BISHUI-24,2024-01-01,2024-03-31,2024-04-20 18:00,50000000,40000000,,,,
"""
TRUSTEE_MAP = (
    "tranche_id=Tranche,payment_date=Pay Date,reported_at=Published,interest_due=Int Due,"
    "interest_paid=Int Paid,principal_due=Prin Due,principal_paid=Prin Paid,support_drawn=Undertaking,"
    "factor_after=Factor"
)
SERVICER_MAP = (
    "deal_id=Deal,period_start=From,period_end=To,reported_at=Published,collections=Collected,"
    "debt_service_due=Debt Service,reserve_balance=Reserve,reserve_required=Reserve Req,"
    "delinquency_pct=DQ %,trigger.dscr_below_1_1=DSCR<1.1"
)


def _parse(topic: str, value: dict[str, Any]) -> object:
    """What the worker makes of the record's bytes, as publish sends them."""
    return parse(topic, json.dumps(value).encode())


def _read(tmp_path: Path, name: str, text: str, kind: Kind, mapping: str | None) -> list[dict[str, Any]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    spec = CsvSpec(kind, None if mapping is None else parse_mapping(mapping, kind), parse_tz("+08:00"))
    records = read_csv(path, spec)
    return [value for _, value in records]


def test_quote_rows_become_quotes_with_stable_ids_and_the_close_time(tmp_path: Path) -> None:
    first, second = _read(tmp_path, "quotes.csv", QUOTES_CSV, "quotes", "tranche_id=Code,ts=Date,price=Close")
    # The empty price row (a holiday in some exports) is skipped.
    assert first == {
        "event_id": "quotes.csv:WHBUS-2025-A:2025-09-01T15:00:00+08:00",
        "tranche_id": "WHBUS-2025-A",
        "ts": "2025-09-01T15:00:00+08:00",
        "price": 95.1,
        "source": "csv",
    }
    assert second["ts"] == "2025-09-02T10:15:00+08:00"


def test_a_one_security_file_and_other_zones(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("Date,Close\n2025-09-01,99\n", encoding="utf-8")
    spec = CsvSpec("quotes", parse_mapping("ts=Date,price=Close"), parse_tz("UTC"), subject_id="X-A")
    ((_, quote),) = read_csv(path, spec)
    assert quote["tranche_id"] == "X-A" and quote["ts"] == "2025-09-01T15:00:00+00:00"


def test_trustee_rows_become_distribution_reports_the_worker_accepts(tmp_path: Path) -> None:
    july, january = _read(tmp_path, "trustee.csv", TRUSTEE_CSV, "distributions", TRUSTEE_MAP)
    assert july == {
        "event_id": "trustee.csv:BISHUI-24-A:2024-07-15:2024-07-16T18:00:00+08:00",
        "tranche_id": "BISHUI-24-A",
        "payment_date": "2024-07-15",
        "reported_at": "2024-07-16T18:00:00+08:00",
        "interest_due": 1e7,  # thousands separators read
        "interest_paid": 6e6,
        "principal_due": 0.0,
        "principal_paid": 0.0,
        "support_drawn": 4e6,
        "factor_after": 1.0,
    }
    # Empty optional cells are left out (support_drawn then defaults to 0, factor_after to unknown); a date
    # alone publishes at the close.
    assert "support_drawn" not in january and "factor_after" not in january
    assert january["payment_date"] == "2024-01-15" and january["reported_at"] == "2024-01-16T15:00:00+08:00"
    for value in (july, january):
        assert isinstance(_parse("abs.distributions", value), Distribution)


def test_servicer_rows_become_reports_with_one_column_per_trigger(tmp_path: Path) -> None:
    q2, q1 = _read(tmp_path, "servicer.csv", SERVICER_CSV, "servicer", SERVICER_MAP)
    assert q2["triggers"] == [{"name": "dscr_below_1_1", "breached": True}]
    assert (q2["collections"], q2["debt_service_due"], q2["delinquency_pct"]) == (3e7, 4e7, 3.5)
    assert q2["event_id"] == "servicer.csv:BISHUI-24:2024-04-01:2024-06-30:2024-07-20T18:00:00+08:00"
    assert "triggers" not in q1 and "reserve_balance" not in q1  # not reported that quarter
    for value in (q2, q1):
        assert isinstance(_parse("abs.servicer_reports", value), ServicerReport)


def test_without_a_mapping_the_columns_named_as_the_fields_are_read(tmp_path: Path) -> None:
    text = "deal_id,period_start,period_end,reported_at,collections,debt_service_due,trigger.oc_test,notes\n"
    text += "D,2025-01-01,2025-03-31,2025-04-20,1,2,no,ignored\n"
    (value,) = _read(tmp_path, "s.csv", text, "servicer", None)
    assert value["triggers"] == [{"name": "oc_test", "breached": False}] and "notes" not in value


def test_a_contract_violation_is_left_for_the_worker_to_dead_letter(tmp_path: Path) -> None:
    # Readable but invalid (a negative amount, a factor above 1): passed on as JSON would be, so the worker
    # dead-letters it with the contract's reason, not the CSV reader with another.
    text = TRUSTEE_CSV.splitlines()[0] + "\nBISHUI-24-A,2024-07-15,2024-07-16,-1,0,0,0,0,1.5\n"
    (value,) = _read(tmp_path, "bad.csv", text, "distributions", TRUSTEE_MAP)
    assert value["interest_due"] == -1 and value["factor_after"] == 1.5
    assert not isinstance(_parse("abs.distributions", value), Distribution)


def test_unreadable_rows_are_each_named_by_file_line_and_column(tmp_path: Path) -> None:
    header = TRUSTEE_CSV.splitlines()[0]
    rows = [
        "BISHUI-24-A,2024-07-15,2024-07-16,10,10,0,0,0,1",  # line 2: fine
        "BISHUI-24-A,15/07/2024,2024-07-16,10,10,0,0,0,1",  # line 3: not an ISO date
        "BISHUI-24-A,2024-10-15,2024-10-16,ten,10,0,0,0,1",  # line 4: not a number
        "BISHUI-24-A,2025-01-15,2025-01-16,10,,0,0,0,1",  # line 5: a required cell empty
    ]
    with pytest.raises(PublishError) as caught:
        _read(tmp_path, "t.csv", "\n".join([header, *rows]) + "\n", "distributions", TRUSTEE_MAP)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("3 bad rows in ") and lines[0].endswith("t.csv:")
    assert lines[1].endswith(
        "t.csv:3: column 'Pay Date' (payment_date): date '15/07/2024' is not an ISO date (2025-09-01)"
    )
    assert lines[2].endswith("t.csv:4: column 'Int Due' (interest_due): 'ten' is not a number")
    assert lines[3].endswith(
        "t.csv:5: column 'Int Paid' (interest_paid): empty, and interest_paid is required"
    )
    with pytest.raises(PublishError, match=r"bad.csv:2: column 'Date' \(ts\): date 'yesterday'"):
        _read(
            tmp_path,
            "bad.csv",
            "Code,Date,Close\nA,yesterday,99\n",
            "quotes",
            "tranche_id=Code,ts=Date,price=Close",
        )
    with pytest.raises(
        PublishError, match=r"t.csv:2: column 'DSCR<1.1' \(trigger.dscr_below_1_1\): 'maybe' is not yes or no"
    ):
        text = SERVICER_CSV.splitlines()[0] + "\nD,2024-04-01,2024-06-30,2024-07-20,1,1,,,,maybe\n"
        _read(tmp_path, "t.csv", text, "servicer", SERVICER_MAP)


def test_mapping_and_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("Code,Date,Price\n", encoding="utf-8")
    with pytest.raises(PublishError, match="no column Close"):
        read_csv(path, CsvSpec("quotes", parse_mapping("tranche_id=Code,ts=Date,price=Close"), dt.UTC))
    with pytest.raises(PublishError, match="lacks price"):
        CsvSpec("quotes", parse_mapping("tranche_id=Code,ts=Date"), dt.UTC)
    with pytest.raises(PublishError, match=r"lacks deal_id, period_end .*--deal-id"):
        CsvSpec(
            "servicer",
            parse_mapping("period_start=A,reported_at=B,collections=C,debt_service_due=D", "servicer"),
            dt.UTC,
        )
    with pytest.raises(PublishError, match="not a quotes field"):
        parse_mapping("colour=Red")
    with pytest.raises(PublishError, match="not a distributions field"):
        parse_mapping("trigger.x=Y", "distributions")
    with pytest.raises(PublishError, match="expected field=Column"):
        parse_mapping("price", "quotes")
    with pytest.raises(PublishError):
        parse_tz("Mars/Olympus")


def test_parse_tz_offsets() -> None:
    assert parse_tz("+08:00").utcoffset(None) == dt.timedelta(hours=8)
    assert parse_tz("-05:30").utcoffset(None) == -dt.timedelta(hours=5, minutes=30)
