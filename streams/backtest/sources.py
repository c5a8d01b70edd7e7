"""Where backtest events come from: JSON Lines of {"topic", "value"}, or CSV exports (price histories,
trustee and servicer reports: streams/kafka/csv_records.py, shared with `publish`).

Records stay as (topic, value) pairs, the shape `tranchewatch publish` sends, so that the replay parses them
with the worker's own parser (an invalid row is a dead letter there too, not an error here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from streams.kafka.publish import iter_jsonl
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
