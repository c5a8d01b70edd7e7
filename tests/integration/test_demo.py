"""`tranchewatch demo` as a user runs it: the story's alerts print, and Ctrl-C stops worker and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.kafka.broker import free_port

pytestmark = pytest.mark.integration


def test_demo_prints_the_story_and_stops_cleanly(tmp_path: Path, redis_prefix: str) -> None:
    log = tmp_path / "demo.out"
    env = {
        **os.environ,
        "TRANCHEWATCH_REDIS_PREFIX": redis_prefix,
        "TRANCHEWATCH_HTTP_PORT": str(free_port()),
    }
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "demo", "--pace", "0.05"], env=env, stdout=out, stderr=out
        )
    expected = [
        "Distressed tranche: WHBUS-2025-A",
        "Issuing into weakness",
        "Issuer loss widening",
        "[CRITICAL] Below par: WHBUS-2025-A at 95.00",
        "Issuance record",
        "Stale quote: GZFLOOD-2025-A",
        # Issue 14: the October distribution topped up, the Q3 fares below the debt service, one agency's cut.
        "[WARNING] Support drawn: WHBUS-2025-A: the 2025-10-15 distribution paid Rmb3.90mn of Rmb3.90mn interest"
        " due; Rmb3.80mn drawn from the shortfall undertaking",
        "[CRITICAL] Coverage shortfall: WHBUS-2025: Q3 2025 collections Rmb15.1mn covered debt service Rmb18.9mn"
        " 0.80x",
        "[CRITICAL] Trigger breach: WHBUS-2025: Q3 2025 triggers breached: dscr_below_1_1",
        "[CRITICAL] Stressed collateral: WHBUS-2025-A",
        "[WARNING] Rating downgrade: WHBUS-2025-A downgraded: CCXI AAA(sf) to AA(sf)",
        # Issue 15: the district's tower owner in trouble too, so the Hubei family is.
        "[CRITICAL] Coverage shortfall: HSTOWER-2025",
        "[WARNING] Family stress: 2 issuers of the Hubei Provincial Government family have critical alerts:"
        " hongshan-property",
        # The demo's positions (streams/demo/positions.csv): who holds the paper an alert is about.
        "[CRITICAL] Coverage shortfall: WHBUS-2025: Q3 2025 collections Rmb15.1mn covered debt service Rmb18.9mn"
        " 0.80x (critical below 1.00x); held: Rmb50.0mn in fund-a, Rmb20.0mn in fund-b",
        "events published",
    ]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(e in log.read_text() for e in expected):
        assert demo.poll() is None, log.read_text()
        time.sleep(0.5)
    text = log.read_text()
    assert all(e in text for e in expected), text
    assert "Logging error" not in text and "Traceback" not in text, text
    assert "no longer distressed" not in text, text  # the bus company's troubles outlast the story
    # The healthy family elsewhere, Jiangsu's toll roads and Nanjing's water, fires nothing.
    assert not [
        line for line in text.splitlines() if "ALERT" in line and ("JSCOMM" in line or "NJWATER" in line)
    ]
    assert "Jiangsu" not in text, text
    children = children_of(demo.pid)
    assert children, "the demo should run the embedded broker as a child process"
    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=60) == 0, log.read_text()[-3000:]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.2)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "left running after Ctrl-C"


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
