"""Reading backtest input: JSON Lines as published, merged by event time (CSV: tests/unit/kafka/test_csv_records.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.backtest import sources
from streams.backtest.sources import by_event_time
from streams.kafka.publish import PublishError


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
