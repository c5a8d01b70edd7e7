"""The watchlist's columns, sorting, filtering and staleness, on the state the demo scenario leaves."""

from __future__ import annotations

import pytest

from streams.backtest.replay import run_backtest
from streams.backtest.sources import read_jsonl
from streams.demo.run import scenario_path
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from streams.views.watchlist import MarketView, WatchQuery, watchlist


@pytest.fixture(scope="module")
def view() -> MarketView:
    run = run_backtest(list(read_jsonl(scenario_path())), RulesConfig())
    return run.view()


def _ids(view: MarketView, cfg: StaleQuoteConfig | None = None, **query: object) -> list[str]:
    result = watchlist(view, cfg or StaleQuoteConfig(), WatchQuery.model_validate(query))
    return [r.tranche_id for r in result.rows]


def test_row_columns(view: MarketView) -> None:
    rows = {r.tranche_id: r for r in watchlist(view, StaleQuoteConfig(), WatchQuery()).rows}
    whbus = rows["WHBUS-2025-A"]
    assert whbus.price == 94.8 and whbus.discount == pytest.approx(5.2)
    assert whbus.mark_to_market_loss == 31_200_000
    assert whbus.issuer_name == "Wuhan Public Transport Group" and whbus.province == "Hubei"
    assert whbus.asset_type == "transport_revenue" and whbus.ytm_pct is not None
    assert whbus.issuer_loss_trend == pytest.approx(-13e6 * 365 / 366 + 821e6 * 365 / 181)
    assert whbus.quote_age_trading_days == 0 and not whbus.stale  # quoted on the clock's day, 10 Dec
    assert {"below_par", "distressed_tranche", "issuer_loss_widening"} <= set(whbus.alerts)
    assert rows["NJWATER-2024-A"].price is None and not rows["NJWATER-2024-A"].stale  # never quoted
    cq = rows["CQTOWER-2025-A"]  # last quoted 15 Sep
    assert cq.quote_age_trading_days == 56 and cq.stale and "stale_quote" in cq.alerts


def test_sorting(view: MarketView) -> None:
    # Rows without the value (tranches never quoted) come last in either order, by id.
    never = ["NJWATER-2024-A", "SZPARK-2024-A"]
    quoted = ["WHBUS-2025-A", "CQTOWER-2025-B", "CQTOWER-2025-A", "WHBUS-2025-B", "GZFLOOD-2025-A"]
    assert _ids(view) == [*quoted, *never]
    assert _ids(view, order="asc")[:2] == ["GZFLOOD-2025-A", "WHBUS-2025-B"]
    assert _ids(view, order="asc")[-2:] == never
    assert _ids(view, sort="mtm_loss")[:3] == ["WHBUS-2025-A", "CQTOWER-2025-B", "CQTOWER-2025-A"]
    assert _ids(view, sort="loss_trend")[:2] == ["WHBUS-2025-A", "WHBUS-2025-B"]  # ties by id
    assert _ids(view, sort="quote_age")[:3] == ["CQTOWER-2025-B", "CQTOWER-2025-A", "GZFLOOD-2025-A"]
    assert _ids(view, sort="tranche", order="asc")[0] == "CQTOWER-2025-A"


def test_filters_and_paging(view: MarketView) -> None:
    assert _ids(view, province="hubei") == ["WHBUS-2025-A", "WHBUS-2025-B"]
    assert _ids(view, issuer="chongqing") == ["CQTOWER-2025-B", "CQTOWER-2025-A"]  # part of the name
    assert _ids(view, issuer="guangzhou-venues") == ["GZFLOOD-2025-A"]
    assert _ids(view, asset_type="office_rent", sort="tranche", order="asc") == [
        "CQTOWER-2025-A",
        "CQTOWER-2025-B",
    ]
    assert _ids(view, stale=True) == ["CQTOWER-2025-B", "CQTOWER-2025-A", "GZFLOOD-2025-A"]
    result = watchlist(view, StaleQuoteConfig(), WatchQuery(limit=2, offset=1))
    assert result.total == 7 and [r.tranche_id for r in result.rows] == ["CQTOWER-2025-B", "CQTOWER-2025-A"]


def test_staleness_follows_the_configured_threshold(view: MarketView) -> None:
    # 56 trading days since 15 September for two of them, 66 since 1 September for CQTOWER-2025-B.
    assert _ids(view, StaleQuoteConfig(trading_days=66), stale=True) == []
    assert _ids(view, StaleQuoteConfig(trading_days=65), stale=True) == ["CQTOWER-2025-B"]
    assert _ids(view, StaleQuoteConfig(trading_days=55), stale=True) == [
        "CQTOWER-2025-B",
        "CQTOWER-2025-A",
        "GZFLOOD-2025-A",
    ]


def test_the_watchlist_flags_what_the_rule_fires_on(view: MarketView) -> None:
    stale_rows = {r.tranche_id for r in watchlist(view, StaleQuoteConfig(), WatchQuery(stale=True)).rows}
    firing = {
        t
        for t, tranche in view.tranches.items()
        for a in tranche.alerts.values()
        if a.rule == "stale_quote" and a.status == "firing"
    }
    assert stale_rows == firing
