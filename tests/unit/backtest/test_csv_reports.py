"""Trustee and servicer reports exported as CSV backtest and publish to exactly what their JSON form does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streams.cli.main import main
from tests.support import credit_story

TRUSTEE = """ID,Tranche,Pay Date,Published,Int Due,Int Paid,Prin Due,Prin Paid,Undertaking,Factor
p-1,BISHUI-24-A,2024-07-15,2024-07-16 18:00,"10,000,000","6,000,000",0,0,"4,000,000",1.0
p-0,BISHUI-24-A,2024-01-15,2024-01-16 18:00,0,0,0,0,,
"""
TRUSTEE_MAP = (
    "event_id=ID,tranche_id=Tranche,payment_date=Pay Date,reported_at=Published,interest_due=Int Due,"
    "interest_paid=Int Paid,principal_due=Prin Due,principal_paid=Prin Paid,support_drawn=Undertaking,"
    "factor_after=Factor"
)
# Without --servicer-map: the columns are named as the fields, one trigger.<name> column per trigger.
SERVICER = (
    "event_id,deal_id,period_start,period_end,reported_at,collections,debt_service_due,reserve_balance,"
    "reserve_required,delinquency_pct,trigger.dscr_below_1_1,trigger.rating_below_aa\n"
    "s-1,BISHUI-24,2024-04-01,2024-06-30,2024-07-20T18:00:00+08:00,30000000,40000000,5000000,20000000,3.5,yes,no\n"
    "s-0,BISHUI-24,2024-01-01,2024-03-31,2024-04-20T18:00:00+08:00,50000000,40000000,,,,,\n"
)


def _write(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """The story as one JSON Lines file, and as the deal and ratings in JSON plus the reports in CSV."""
    full, rest = tmp_path / "story.jsonl", tmp_path / "deal_and_ratings.jsonl"
    records = credit_story.records()
    full.write_text("".join(json.dumps({"topic": t, "value": v}) + "\n" for t, v in records))
    rest.write_text(
        "".join(
            json.dumps({"topic": t, "value": v}) + "\n"
            for t, v in records
            if t not in ("abs.distributions", "abs.servicer_reports")
        )
    )
    trustee, servicer = tmp_path / "trustee.csv", tmp_path / "servicer.csv"
    trustee.write_text(TRUSTEE)
    servicer.write_text(SERVICER)
    return full, rest, trustee, servicer


def _backtest(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["backtest", *args, "--json", "--progress-every", "0"]) == 0
    run: dict[str, Any] = json.loads(capsys.readouterr().out)["runs"][0]
    return run


def test_csv_reports_backtest_to_the_alerts_of_their_json_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full, rest, trustee, servicer = _write(tmp_path)
    from_json = _backtest(capsys, str(full), "--sort-by-event-time")
    from_csv = _backtest(
        capsys,
        str(rest),
        "--distributions-csv",
        str(trustee),
        "--distributions-map",
        TRUSTEE_MAP,
        "--servicer-csv",
        str(servicer),
    )
    assert {"missed_payment", "support_drawn", "coverage_shortfall", "trigger_breach"} <= {
        n["rule"] for n in from_json["notices"]
    }
    # Every notice, evidence included, and every count: the CSV rows are the JSON events.
    assert from_csv["notices"] == from_json["notices"]
    assert from_csv["counts"] == from_json["counts"] and from_csv["firing"] == from_json["firing"]


def test_csv_reports_publish_as_their_json_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import streams.kafka.publish as publish

    sent: list[list[tuple[str, Any]]] = []

    def record(bootstrap: str, records: Any, **kw: Any) -> dict[str, int]:
        sent.append(list(records))
        return {}

    monkeypatch.setattr(publish, "publish_records", record)
    full, rest, trustee, servicer = _write(tmp_path)
    assert main(["publish", str(full)]) == 0
    csv_args = ["--distributions-csv", str(trustee), "--distributions-map", TRUSTEE_MAP]
    assert main(["publish", str(rest), *csv_args, "--servicer-csv", str(servicer)]) == 0
    from_json, from_csv = sent

    def reports(records: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        return [r for r in records if r[0] in ("abs.distributions", "abs.servicer_reports")]

    assert reports(from_csv) == reports(from_json) and len(from_csv) == len(from_json)


def test_publish_refuses_a_csv_with_bad_rows_before_sending_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import streams.kafka.publish as publish

    monkeypatch.setattr(publish, "publish_records", lambda *a, **kw: pytest.fail("published"))
    bad = tmp_path / "trustee.csv"
    bad.write_text(TRUSTEE.replace("2024-01-15", "Jan 15"))
    with pytest.raises(SystemExit) as stopped:
        main(["publish", "--distributions-csv", str(bad), "--distributions-map", TRUSTEE_MAP])
    assert "trustee.csv:3: column 'Pay Date' (payment_date): date 'Jan 15'" in str(stopped.value)
