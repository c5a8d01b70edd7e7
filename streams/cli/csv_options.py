"""The CSV options `publish` and `backtest` share: price histories, trustee and servicer reports, each with
its own column mapping (streams/kafka/csv_records.py reads them)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from streams.kafka.csv_records import CsvSpec, Kind, parse_mapping, parse_tz, read_csv
from streams.kafka.publish import PublishError

# Option stem -> (kind, what its files hold).
CSV_OPTIONS: dict[str, tuple[Kind, str]] = {
    "csv": ("quotes", "price histories (bond.quotes)"),
    "distributions-csv": ("distributions", "trustee distribution reports (abs.distributions)"),
    "servicer-csv": ("servicer", "servicer reports (abs.servicer_reports)"),
}
MAP_OPTION = {"csv": "map", "distributions-csv": "distributions-map", "servicer-csv": "servicer-map"}
CSV_EPILOG = """\
CSV input: each --*-csv FILE has its mapping, field=Column,... (default: the columns named as the fields).
  quotes:        tranche_id, ts, price; optional bid, ask, source, event_id
  distributions: tranche_id, payment_date, reported_at, interest_due, interest_paid, principal_due,
                 principal_paid; optional support_drawn, factor_after, currency, event_id
  servicer:      deal_id, period_start, period_end, reported_at, collections, debt_service_due; optional
                 reserve_balance, reserve_required, delinquency_pct, default_pct, currency, event_id, and
                 one trigger.<name>=Column per trigger (yes/no)
A row that cannot be read (not a date, not a number, a required cell empty) stops the command with its
file and line, every such row listed; a value the contract rejects is dead-lettered as from JSON.
"""


def add_csv_arguments(p: argparse.ArgumentParser) -> None:
    for stem, (_, holds) in CSV_OPTIONS.items():
        p.add_argument(f"--{stem}", action="append", type=Path, default=[], metavar="FILE", help=holds)
        p.add_argument(
            f"--{MAP_OPTION[stem]}", default=None, metavar="MAP", help=f"field=Column,... for --{stem}"
        )
    p.add_argument("--tz", default="+08:00", help="zone of CSV times without an offset (default +08:00)")
    p.add_argument(
        "--close-time", default="15:00", help="time of a date-only CSV timestamp (default 15:00, the close)"
    )
    p.add_argument(
        "--tranche-id", default=None, help="tranche of a one-tranche CSV without a tranche_id column"
    )
    p.add_argument("--deal-id", default=None, help="deal of a one-deal servicer CSV without a deal_id column")


def _clock(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError as exc:
        raise PublishError(f"--close-time {text!r}: expected HH:MM") from exc


def csv_files(args: argparse.Namespace) -> int:
    return sum(len(getattr(args, stem.replace("-", "_"))) for stem in CSV_OPTIONS)


def csv_records(args: argparse.Namespace) -> list[list[tuple[str, Any]]]:
    """The records of each CSV file given, one list per file. Raises PublishError (a ValueError)."""
    found: list[list[tuple[str, Any]]] = []
    tz, close = parse_tz(args.tz), _clock(args.close_time)
    for stem, (kind, _) in CSV_OPTIONS.items():
        paths: list[Path] = getattr(args, stem.replace("-", "_"))
        if not paths:
            continue
        text = getattr(args, MAP_OPTION[stem].replace("-", "_"))
        spec = CsvSpec(
            kind,
            None if text is None else parse_mapping(text, kind),
            tz,
            close_time=close,
            subject_id=args.deal_id if kind == "servicer" else args.tranche_id,
        )
        found.extend(read_csv(path, spec) for path in paths)
    return found
