"""Where backtest events come from: JSON Lines of {"topic", "value"}, or price histories exported as CSV.

Records stay as (topic, value) pairs, the shape `tranchewatch publish` sends, so that the replay parses them
with the worker's own parser (an invalid row is a dead letter there too, not an error here).
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.kafka.publish import PublishError, iter_jsonl
from streams.kafka.topics import (
    DEALS,
    DISTRIBUTIONS,
    ENTITIES,
    FINANCIALS,
    QUOTES,
    RATINGS,
    SERVICER_REPORTS,
)

Record = tuple[str, Any]  # (topic, value); a str value is sent as its raw bytes, like `publish` does
QUOTE_FIELDS = ("tranche_id", "ts", "price", "bid", "ask", "source", "event_id")
TIME_FIELD = {
    QUOTES: "ts",
    DEALS: "announced_at",
    FINANCIALS: "reported_at",
    DISTRIBUTIONS: "reported_at",
    SERVICER_REPORTS: "reported_at",
    RATINGS: "ts",
    ENTITIES: "updated_at",
}


def read_jsonl(path: Path) -> Iterator[Record]:
    """Streams the file (the publish command's reader), so a long history is not held twice."""
    return iter_jsonl(path)


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


def parse_mapping(text: str) -> dict[str, str]:
    """'tranche_id=Code,ts=Date,price=Close' -> {field: CSV column}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        if not sep or not column.strip():
            raise PublishError(f"--map {part!r}: expected field=Column")
        if name.strip() not in QUOTE_FIELDS:
            raise PublishError(f"--map {name.strip()!r}: not a quote field ({', '.join(QUOTE_FIELDS)})")
        mapping[name.strip()] = column.strip()
    return mapping


@dataclass(frozen=True)
class CsvQuotes:
    """How one CSV export maps onto bond.quotes."""

    mapping: dict[str, str]
    tz: dt.tzinfo
    # A row stamped with a date only is a closing price: 15:00 is the Shanghai exchange's close.
    close_time: dt.time = dt.time(15, 0)
    tranche_id: str | None = None  # for a file that holds one security and has no code column
    source: str = "csv"

    def __post_init__(self) -> None:
        needed = {"ts", "price"} | (set() if self.tranche_id else {"tranche_id"})
        absent = sorted(needed - self.mapping.keys())
        if absent:
            raise PublishError(
                f"--map lacks {', '.join(absent)} (or give --tranche-id for a one-security file)"
            )


def _timestamp(text: str, spec: CsvQuotes) -> str:
    cleaned = text.strip().replace("/", "-")
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


def _number(text: str) -> float | str:
    # Thousands separators are common in exports; anything else is left for the worker's parser to reject.
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text


def read_quotes_csv(path: Path, spec: CsvQuotes) -> Iterator[Record]:
    """One quote per row. Rows without a price (holidays in some exports) are skipped; a row that cannot be
    stamped raises with its line number, since every later row of that file would be wrong the same way."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        absent = [c for c in spec.mapping.values() if c not in (reader.fieldnames or [])]
        if absent:
            raise PublishError(f"{path}: no column {', '.join(absent)} (columns: {reader.fieldnames})")
        for row in reader:
            value = {name: (row[column] or "").strip() for name, column in spec.mapping.items()}
            if not value["price"]:
                continue
            tranche_id = value.get("tranche_id") or spec.tranche_id or ""
            try:
                ts = _timestamp(value["ts"], spec)
            except ValueError as exc:
                raise PublishError(f"{path}:{reader.line_num}: {exc}") from exc
            quote: dict[str, Any] = {
                # Stable ids: the same row read twice is a duplicate, as the contract wants.
                "event_id": value.get("event_id") or f"{path.name}:{tranche_id}:{ts}",
                "tranche_id": tranche_id,
                "ts": ts,
                "price": _number(value["price"]),
                "source": value.get("source") or spec.source,
            }
            for side in ("bid", "ask"):
                if value.get(side):
                    quote[side] = _number(value[side])
            yield QUOTES, quote


def event_time(record: Record) -> dt.datetime | None:
    """The event's own timestamp, or None for a record the worker would reject anyway."""
    topic, value = record
    name = TIME_FIELD.get(topic)
    if name is None or not isinstance(value, dict) or not isinstance(value.get(name), str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value[name])
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def by_event_time(records: Iterable[Record]) -> list[Record]:
    """A stable sort on event time. A record without one keeps the time of the record before it, so it
    stays where it was relative to its neighbours (and reaches the dead letters at the same point)."""
    keyed: list[tuple[dt.datetime, int, Record]] = []
    previous = dt.datetime.min.replace(tzinfo=dt.UTC)
    for position, record in enumerate(records):
        previous = event_time(record) or previous
        keyed.append((previous, position, record))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [record for _, _, record in keyed]
