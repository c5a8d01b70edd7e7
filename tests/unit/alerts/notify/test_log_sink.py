"""The log sink's line (what `tranchewatch demo` prints): the headline, and who holds the subject when any
portfolio does, as Slack says it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from alerts.notify.log import LogSink
from tests.support.alerts import an_alert


def test_a_line_per_alert_with_its_holdings_when_held(caplog: pytest.LogCaptureFixture) -> None:
    held = an_alert(1, evidence={"price": 94.0, "holdings": {"fund-a": 50e6, "fund-b": 20e6}})
    with caplog.at_level(logging.WARNING, logger="tranchewatch.alerts"):
        asyncio.run(LogSink().notify([held, an_alert(2)], "title"))
    first, second = (r.getMessage() for r in caplog.records)
    assert first.startswith("ALERT [CRITICAL] Below par: T1 at 94.00 is 6.00 below par; held: ")
    assert "held: Rmb50.0mn in fund-a, Rmb20.0mn in fund-b (fingerprint fp1, event time" in first
    assert "held" not in second and second.startswith("ALERT [CRITICAL] Below par: T2 at 94.00")
