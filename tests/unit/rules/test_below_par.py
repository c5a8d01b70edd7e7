"""below_par: thresholds at their edges, hysteresis, escalation and a quote read before its deal."""

from __future__ import annotations

import pytest

from tests.unit.rules.scenario import deal, quote, replay, severity, terms

DEAL = deal("d-1", "WHBUS-2025", "2025-01-10", [terms("A")])


def _after_deal(*prices: float) -> str | None:
    quotes = [quote(f"q-{i}", "A", f"2025-09-{i + 1:02d}", p) for i, p in enumerate(prices)]
    return severity(replay([DEAL, *quotes]), "below_par", "A")


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ((98.01,), None),
        ((98.0,), "warning"),  # discount exactly 2.0
        ((95.01,), "warning"),
        ((95.0,), "critical"),  # discount exactly 5.0
        ((97.9, 98.4), "warning"),  # inside the band: holds
        ((97.9, 98.5), "warning"),  # 1.5 is not below 1.5
        ((97.9, 98.51), "resolved"),
        ((97.0, 94.0), "critical"),  # escalates
        ((94.0, 97.0), "warning"),  # eases, still firing
        ((94.0, 98.4), "critical"),  # inside the band keeps the severity it had
        ((97.0, 99.0, 98.2), "resolved"),
    ],
)
def test_below_par_table(prices: tuple[float, ...], expected: str | None) -> None:
    assert _after_deal(*prices) == expected


def test_escalation_is_a_new_firing_message_with_the_same_fingerprint() -> None:
    snap = replay([DEAL, quote("q-1", "A", "2025-09-01", 97.0), quote("q-2", "A", "2025-09-02", 94.0)])
    notices = [n for n in snap.notices if n.rule == "below_par"]
    assert [(n.severity, n.status, n.seq) for n in notices] == [
        ("warning", "firing", 1),
        ("critical", "firing", 2),
    ]
    assert notices[0].fingerprint == notices[1].fingerprint
    assert notices[1].starts_at == notices[0].starts_at


@pytest.mark.parametrize(("prices", "expected"), [((97.0, 98.2), "warning"), ((97.0, 99.0), None)])
def test_quotes_read_before_their_deal_latch_as_if_read_after(
    prices: tuple[float, ...], expected: str | None
) -> None:
    quotes = [quote(f"q-{i}", "A", f"2025-09-{i + 1:02d}", p) for i, p in enumerate(prices)]
    assert severity(replay([*quotes, DEAL]), "below_par", "A") == expected
    # read after the deal, the same firing state; an episode that ended before the deal was never announced
    after = _after_deal(*prices)
    assert after == expected or (expected is None and after == "resolved")
