"""`tranchewatch bench --only soak` at CI size: it reports every figure, and the event ids kept for duplicate
detection are bounded by the retention (7 days of event time), not by the stream. No timing is asserted."""

from __future__ import annotations

import pytest

from streams.bench.soak import run_soak
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration


def test_the_soak_keeps_the_ids_of_the_retention_only() -> None:
    report = run_soak(quotes=6_000, tranches=50, days=120.0, redis_url=REDIS_URL)
    text = report.render()
    for figure in ("B per tranche", "B per event after warm-up", "event ids kept", "RSS MB over time"):
        assert figure in text
    print("\n" + text)
    # 120 quote rounds a day apart: the ids of about 8 rounds are kept, never the whole stream.
    assert 0 < report.ids_kept <= 50 * 9
    assert len(report.rss_mb) >= 5 and report.warm and report.end


def test_the_rolling_soak_retires_matured_tranches_and_stays_flat_per_tranche() -> None:
    """Tranches living 60 days over 240 days of event time: most mature and retire. What each leaves behind
    is printed (BENCHMARKS.md); asserted is only what retirement promises: tombstones, no index entry."""
    report = run_soak(quotes=8_000, tranches=100, days=240.0, redis_url=REDIS_URL, life_days=60)
    text = report.render()
    print("\n" + text)
    for figure in ("B per tranche announced", "left per tranche retired", "RSS MB over time"):
        assert figure in text
    warm, end = report.census["warm"], report.census["end"]
    assert 0 < warm["retired"] < end["retired"] < end["documents"]
    # Outstanding: the tranches alive and those in their 30 days of grace, never every tranche announced.
    assert end["outstanding"] == end["documents"] - end["retired"] < 2 * 100
