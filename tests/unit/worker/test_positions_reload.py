"""SIGHUP's reload in a running worker: a bad file is refused and logged with its lines, the old positions
kept; a bad file at start is the message the worker exits with."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streams.metrics import Metrics
from streams.model.positions import PositionBook
from streams.worker.positions import load_at_start, reload

HEADER = "portfolio,tranche_id,holding_face\n"


def test_a_bad_reload_is_logged_with_its_lines_and_the_old_positions_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "positions.csv"
    path.write_text(HEADER + "fund-a,T-1,5\n")
    book = PositionBook.load(path)
    path.write_text(HEADER + "fund-a,T-1,5\nfund-a,T-1,6\nfund-b,T-2,x\n")
    metrics = Metrics()
    with caplog.at_level(logging.ERROR):
        assert reload(book, metrics) is False
    message = caplog.text
    assert metrics.registry.get_sample_value("tranchewatch_positions_refused") == 1
    assert "positions reload refused, the previous positions stay in force (1 rows)" in message
    assert "line 3: duplicate of line 2" in message and "line 4: holding_face" in message
    assert book.current is not None and book.current.of_tranche("T-1") == {"fund-a": 5.0}
    path.write_text(HEADER + "fund-b,T-1,7\n")
    assert reload(book, metrics) is True and book.current.of_tranche("T-1") == {"fund-b": 7.0}
    assert metrics.registry.get_sample_value("tranchewatch_positions_refused") == 0


def test_at_start_a_bad_file_is_the_exit_message_and_unset_is_no_positions(tmp_path: Path) -> None:
    path = tmp_path / "positions.csv"
    path.write_text("portfolio,tranche_id\nfund-a,T-1\n")
    refused = load_at_start(path)
    assert isinstance(refused, str) and refused.startswith("TRANCHEWATCH_POSITIONS_FILE: positions file")
    assert "line 1: header" in refused and "holding_face" in refused
    unset = load_at_start(None)
    assert isinstance(unset, PositionBook) and unset.current is None
