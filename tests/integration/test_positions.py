"""Holdings on the real broker and Redis: a worker with a positions file puts what each fund holds in the
alert's evidence and the watchlist; SIGHUP reads the file again, keeping the old holdings when the new file
is invalid; an invalid file at start stops the worker naming the line."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ALERTS, DEALS, QUOTES
from tests.support.kafka_io import produce, read_json
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration
HEADER = "portfolio,tranche_id,holding_face\n"
DEAL = {
    "event_id": "d-1",
    "deal_id": "WHBUS-2025",
    "issuer_id": "wuhan-bus",
    "issuer_name": "Wuhan Public Transport Group",
    "province": "Hubei",
    "announced_at": "2025-01-10T10:00:00+08:00",
    "asset_type": "transport_revenue",
    "tranches": [
        {
            "tranche_id": "WHBUS-2025-A",
            "face_value": 600e6,
            "coupon_pct": 2.6,
            "issue_date": "2025-01-15",
            "maturity_date": "2035-01-15",
        }
    ],
}
QUOTE = {"event_id": "q-1", "tranche_id": "WHBUS-2025-A", "ts": "2025-09-01T09:30:00+08:00", "price": 94.0}


def _watchlist(worker: WorkerProcess) -> dict[str, Any] | None:
    """The API's watchlist, or None while it does not answer (on a loaded machine a request can time out)."""
    status, body = worker.http("/api/v1/watchlist")
    return json.loads(body) if status == 200 else None


def _shows(worker: WorkerProcess, holdings: dict[str, float]) -> bool:
    listing = _watchlist(worker)
    rows = {r["tranche_id"]: r for r in listing["rows"]} if listing is not None else {}
    return "WHBUS-2025-A" in rows and rows["WHBUS-2025-A"]["holdings"] == holdings


def test_holdings_in_evidence_and_watchlist_and_a_sighup_reload(
    broker: EmbeddedBroker, worker_factory: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    positions = tmp_path / "positions.csv"
    positions.write_text(
        HEADER + "fund-a,WHBUS-2025-A,50000000\nfund-b,WHBUS-2025-A,20000000\nfund-a,LATER-A,1\n"
    )
    worker = worker_factory(TRANCHEWATCH_POSITIONS_FILE=str(positions))
    worker.wait_ready()
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    produce(broker.bootstrap, QUOTES, [QUOTE], key_field="tranche_id")

    fired = wait_for(
        lambda: [a for a in read_json(broker.bootstrap, ALERTS) if a["rule"] == "below_par"],
        what="below_par on abs.alerts",
    )
    assert fired[0]["evidence"]["holdings"] == {"fund-a": 50e6, "fund-b": 20e6}
    held = {"fund-a": 50e6, "fund-b": 20e6}
    wait_for(lambda: _shows(worker, held), what="the holdings in the watchlist")
    listing = wait_for(lambda: _watchlist(worker), what="the watchlist")
    unknown = [(h["portfolio"], h["tranche_id"]) for h in listing["unknown_tranches"]]
    assert unknown == [("fund-a", "LATER-A")]
    wait_for(lambda: "LATER-A" in worker.log(), what="the unknown tranche reported (kept: its deal may come)")

    # An invalid file is refused, with its line, and the holdings in force stay.
    positions.write_text(HEADER + "fund-c,WHBUS-2025-A,-5\n")
    assert worker.process is not None
    worker.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "positions reload refused" in worker.log(), what="the refused reload logged")
    assert "line 2: holding_face" in worker.log()
    wait_for(lambda: worker.metric("tranchewatch_positions_refused") == 1, what="the refused gauge")
    wait_for(lambda: _shows(worker, held), what="the holdings still in force")

    positions.write_text(HEADER + "fund-c,WHBUS-2025-A,30000000\n")
    worker.process.send_signal(signal.SIGHUP)
    wait_for(lambda: _shows(worker, {"fund-c": 30e6}), what="the reloaded holdings in the watchlist")
    assert "tranchewatch_positions_refused 0.0" in wait_for(worker.metrics, what="/metrics")
    _, body = wait_for(
        lambda: (answer := worker.http("/api/v1/exposures?group_by=portfolio"))[0] == 200 and answer,
        what="the exposures by portfolio",
    )
    assert [r["key"] for r in json.loads(body)["rows"]] == ["fund-c"]
    # A reload alone re-fires nothing: abs.alerts still holds the one below_par notice.
    assert [a["rule"] for a in read_json(broker.bootstrap, ALERTS)].count("below_par") == 1
    assert worker.process.poll() is None  # the running worker took both signals


def test_an_invalid_file_stops_the_worker_at_start_naming_the_line(
    worker_factory: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    positions = tmp_path / "positions.csv"
    positions.write_text(HEADER + "fund-a,T-1,5\nfund-a,T-1,6\n")
    worker = worker_factory(TRANCHEWATCH_POSITIONS_FILE=str(positions))
    assert worker.process is not None
    assert worker.process.wait(timeout=60) != 0
    assert "line 3: duplicate of line 2" in worker.log()
