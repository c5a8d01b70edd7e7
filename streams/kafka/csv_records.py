"""Records from CSV exports with a column mapping: price histories (bond.quotes), trustee distribution reports
(abs.distributions) and servicer reports (abs.servicer_reports), for `publish` and `backtest` alike.

One reader for every kind: a kind names its topic, the fields a mapping may fill and how each is read (text,
number, ISO date, timestamp, yes/no). A mapping is `field=Column,...`; a servicer report's triggers are one
column each, `trigger.<name>=Column`, holding yes/no. Rows become the (topic, value) pairs a JSON Lines file
gives, so the worker's own parser validates them: a value the contract rejects (a negative amount, a factor
above 1) is a dead letter there, as it would be from JSON. What cannot be read as its field's type at all (a
date that is not a date, a number that is not a number, a required cell left empty) is an error that names
the file, the line and the column, every such row of the file at once, before anything is published.
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from streams.kafka.publish import PublishError
from streams.model.topics import DISTRIBUTIONS, QUOTES, SERVICER_REPORTS

Kind = Literal["quotes", "distributions", "servicer"]
FieldType = Literal["text", "number", "date", "time", "flag"]
TRIGGER = "trigger."  # prefix of a servicer report's trigger columns in a mapping
MAX_LISTED = 20  # bad rows listed in one error; the count says how many more


@dataclass(frozen=True)
class CsvKind:
    topic: str
    subject: str  # the field that keys the topic
    fields: dict[str, FieldType]
    required: tuple[str, ...]  # besides the subject
    id_fields: tuple[str, ...]  # with the subject, what makes a row's stable event_id
    skip_without: str | None = None  # rows with this cell empty are skipped (a holiday in a price export)


KINDS: dict[Kind, CsvKind] = {
    "quotes": CsvKind(
        QUOTES,
        "tranche_id",
        {
            "tranche_id": "text",
            "ts": "time",
            "price": "number",
            "bid": "number",
            "ask": "number",
            "source": "text",
            "event_id": "text",
        },
        ("ts", "price"),
        ("ts",),
        skip_without="price",
    ),
    "distributions": CsvKind(
        DISTRIBUTIONS,
        "tranche_id",
        {
            "tranche_id": "text",
            "payment_date": "date",
            "reported_at": "time",
            "interest_due": "number",
            "interest_paid": "number",
            "principal_due": "number",
            "principal_paid": "number",
            "support_drawn": "number",
            "factor_after": "number",
            "currency": "text",
            "event_id": "text",
        },
        ("payment_date", "reported_at", "interest_due", "interest_paid", "principal_due", "principal_paid"),
        ("payment_date", "reported_at"),
    ),
    "servicer": CsvKind(
        SERVICER_REPORTS,
        "deal_id",
        {
            "deal_id": "text",
            "period_start": "date",
            "period_end": "date",
            "reported_at": "time",
            "collections": "number",
            "debt_service_due": "number",
            "reserve_balance": "number",
            "reserve_required": "number",
            "delinquency_pct": "number",
            "default_pct": "number",
            "currency": "text",
            "event_id": "text",
        },
        ("period_start", "period_end", "reported_at", "collections", "debt_service_due"),
        ("period_start", "period_end", "reported_at"),
    ),
}
FLAGS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}


def parse_tz(text: str) -> dt.tzinfo:
    """'+08:00', '-05:30', 'UTC' or an IANA name such as 'Asia/Shanghai'."""
    if text and text[0] in "+-":
        try:
            hours, _, minutes = text[1:].partition(":")
            offset = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        except ValueError as exc:
            raise PublishError(f"--tz {text!r}: expected an offset like +08:00") from exc
        return dt.timezone(-offset if text[0] == "-" else offset)
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise PublishError(f"--tz {text!r}: not an offset nor a known time zone") from exc


def parse_mapping(text: str, kind: Kind = "quotes") -> dict[str, str]:
    """'tranche_id=Code,ts=Date,price=Close' -> {field: CSV column}."""
    spec, mapping = KINDS[kind], {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = (s.strip() for s in part.partition("="))
        if not sep or not column:
            raise PublishError(f"--map {part!r}: expected field=Column")
        trigger = kind == "servicer" and name.startswith(TRIGGER) and len(name) > len(TRIGGER)
        if name not in spec.fields and not trigger:
            extra = f", {TRIGGER}<name>" if kind == "servicer" else ""
            raise PublishError(f"--map {name!r}: not a {kind} field ({', '.join(spec.fields)}{extra})")
        mapping[name] = column
    return mapping


def default_mapping(kind: Kind, columns: list[str]) -> dict[str, str]:
    """Without a mapping: every field whose name is a column, and `trigger.<name>` columns as they are."""
    fields = KINDS[kind].fields
    return {c: c for c in columns if c in fields or (kind == "servicer" and c.startswith(TRIGGER))}


@dataclass(frozen=True)
class CsvSpec:
    """How one CSV export maps onto its kind's topic. `mapping` None: default_mapping of the header."""

    kind: Kind
    mapping: dict[str, str] | None
    tz: dt.tzinfo
    # A row stamped with a date only is a closing price: 15:00 is the Shanghai exchange's close. A report
    # published on a date only is taken as published then too.
    close_time: dt.time = dt.time(15, 0)
    subject_id: str | None = None  # the tranche or deal of a one-subject file without that column
    source: str = "csv"  # quotes' source when the file has none

    def __post_init__(self) -> None:
        if self.mapping is not None:
            self.check(self.mapping)

    def check(self, mapping: dict[str, str]) -> None:
        spec = KINDS[self.kind]
        needed = set(spec.required) | (set() if self.subject_id else {spec.subject})
        absent = sorted(needed - mapping.keys())
        if absent:
            one = "--tranche-id" if spec.subject == "tranche_id" else "--deal-id"
            raise PublishError(
                f"--map lacks {', '.join(absent)} (or give {one} for a one-{spec.subject[:-3]} file)"
            )


def _timestamp(text: str, spec: CsvSpec) -> str:
    cleaned = text.replace("/", "-")
    try:
        if len(cleaned) <= 10:
            stamp = dt.datetime.combine(dt.date.fromisoformat(cleaned), spec.close_time)
        else:
            stamp = dt.datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise ValueError(f"date {text!r} is not ISO (2025-09-01 or 2025-09-01 15:00)") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=spec.tz)
    return stamp.isoformat()


def _date(text: str, spec: CsvSpec) -> str:
    try:
        return dt.date.fromisoformat(text.replace("/", "-")).isoformat()
    except ValueError as exc:
        raise ValueError(f"date {text!r} is not an ISO date (2025-09-01)") from exc


def _number(text: str, spec: CsvSpec) -> float:
    # Thousands separators are common in exports.
    try:
        return float(text.replace(",", ""))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a number") from exc


def _flag(text: str, spec: CsvSpec) -> bool:
    try:
        return FLAGS[text.casefold()]
    except KeyError as exc:
        raise ValueError(f"{text!r} is not yes or no") from exc


READERS: dict[FieldType, Callable[[str, CsvSpec], Any]] = {
    "text": lambda text, spec: text,
    "number": _number,
    "date": _date,
    "time": _timestamp,
    "flag": _flag,
}


def _value(cells: dict[str, str], mapping: dict[str, str], spec: CsvSpec, path: Path) -> dict[str, Any]:
    """One row's event; a ValueError names the column that could not be read."""
    kind = KINDS[spec.kind]
    value: dict[str, Any] = {}
    triggers = []
    for name, text in cells.items():
        where = f"column {mapping[name]!r}" + (f" ({name})" if mapping[name] != name else "")
        if not text:
            if name in kind.required:
                raise ValueError(f"{where}: empty, and {name} is required")
            continue
        reader = READERS["flag" if name.startswith(TRIGGER) else kind.fields[name]]
        try:
            read = reader(text, spec)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if name.startswith(TRIGGER):
            triggers.append({"name": name[len(TRIGGER) :], "breached": read})
        else:
            value[name] = read
    if triggers:
        value["triggers"] = triggers
    value[kind.subject] = value.get(kind.subject) or spec.subject_id or ""
    if kind.topic == QUOTES:
        value.setdefault("source", spec.source)
    # Stable ids: the same row read twice is a duplicate, as the contract wants; a restatement (a later
    # reported_at) is a new event that replaces.
    parts = [path.name, value[kind.subject], *(str(value.get(f, "")) for f in kind.id_fields)]
    return {"event_id": value.pop("event_id", None) or ":".join(parts), **value}


def read_csv(path: Path, spec: CsvSpec) -> list[tuple[str, Any]]:
    """Every row of the file as (topic, value), in file order; PublishError listing each unreadable row."""
    kind, records, bad = KINDS[spec.kind], [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        mapping = spec.mapping if spec.mapping is not None else default_mapping(spec.kind, columns)
        spec.check(mapping)
        absent = [c for c in mapping.values() if c not in columns]
        if absent:
            raise PublishError(f"{path}: no column {', '.join(absent)} (columns: {columns})")
        for row in reader:
            cells = {name: (row[column] or "").strip() for name, column in mapping.items()}
            if not any(cells.values()) or (kind.skip_without and not cells.get(kind.skip_without)):
                continue
            try:
                records.append((kind.topic, _value(cells, mapping, spec, path)))
            except ValueError as exc:
                bad.append(f"{path}:{reader.line_num}: {exc}")
    if bad:
        more = f"\n... and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
        rows = "row" if len(bad) == 1 else "rows"
        raise PublishError(f"{len(bad)} bad {rows} in {path}:\n" + "\n".join(bad[:MAX_LISTED]) + more)
    return records
