"""`tranchewatch bench --only scale` at a tiny size: two workers on an 8-partition quote topic with a
redis-server of their own, and the worker's handler alone on full batches, report every figure and decide the
same alerts. No timing is asserted."""

from __future__ import annotations

import pytest

from streams.bench.scale import run_scale

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_two_workers_and_the_handler_alone_decide_the_same_alerts_and_report_redis_cost() -> None:
    report = run_scale(quotes=1_000, tranches=20, workers=(2,), partitions=8)
    text = report.render()
    print("\n" + text)
    assert [run.workers for run in report.runs] == [2]
    assert report.same_alerts, {run.workers: len(run.alerts) for run in report.runs}
    for run in report.runs:
        assert run.throughput.events >= 1_000
        # Every quote batch costs the commit script and a few reads: commands are counted, never zero.
        assert run.redis.commands > 0 and run.redis.cpu_seconds > 0
    assert report.full is not None and report.full.redis.scripts > 0
    two = report.runs[0].throughput.per_process
    assert len(two) == 2 and all(n > 0 for n in two), f"both workers took partitions: {two}"
    for figure in (
        "cmds/event",
        "scripts/event",
        "Redis µs/event",
        "full batches",
        "the same in every run: True",
    ):
        assert figure in text
