"""`tranchewatch bench` end to end at a tiny size: it completes, reports every figure, and the naive
baseline, the worker and two workers decide the same alerts. No timing is asserted: this VM is noisy."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from streams.bench.procs import REPO_ROOT

pytestmark = pytest.mark.integration

FIGURES = (
    "raw aiokafka",
    "faust-default",
    "faust-tuned",
    "naive",
    "worker",
    "two-workers",
    "fixed",
    "half-capacity",
    "saturation",
    "B per tranche",
    "alert sets:",
    "targets:",
)


@pytest.mark.timeout(900)
def test_tiny_bench_reports_every_figure_and_equal_alert_sets(tmp_path: Path) -> None:
    args = ["--quotes", "3000", "--tranches", "60", "--latency-quotes", "1500", "--rate", "1000"]
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", *args, "--workdir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=880,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    for figure in FIGURES:
        assert figure in out, f"{figure!r} missing from:\n{out}"
    assert "equal: True" in out
    assert "[met] naive and worker alert sets equal" in out
    for line in out.splitlines():
        if line.strip().startswith(("fixed", "half-capacity", "saturation")):
            p99 = float(line.split("p99 ")[1].split(" ms")[0])
            assert not math.isnan(p99), line  # alerts were matched to their quotes
