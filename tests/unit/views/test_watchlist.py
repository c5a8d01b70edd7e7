"""The watchlist's columns, sorting, filtering and staleness, on the state the demo scenario leaves."""

from __future__ import annotations

import pytest

from streams.backtest.replay import run_backtest
from streams.backtest.sources import read_jsonl
from streams.demo.run import scenario_path
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from streams.views.exposures import exposures
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
    assert (whbus.factor, whbus.outstanding_principal, whbus.ytp_pct) == (1.0, 600e6, None)


def test_an_amortising_tranche_quoted_per_original_face(view: MarketView) -> None:
    # HZMETRO-2025-A: Rmb300mn, 25% repaid on 20 Jun 2025 (the trustee reports factor_after 0.75); quoted
    # 72.45 per 100 original on 10 Dec: 72.45 / 0.75 = 96.60 per 100 outstanding, 3.40 below par, and the
    # loss is on Rmb225mn outstanding: Rmb7.65mn.
    row = next(
        r for r in watchlist(view, StaleQuoteConfig(), WatchQuery()).rows if r.tranche_id.startswith("HZ")
    )
    assert (row.price, row.price_basis, row.factor) == (72.45, "original", 0.75)
    assert row.clean_price == pytest.approx(96.6) and row.discount == pytest.approx(3.4)
    assert row.outstanding_principal == pytest.approx(225e6)
    assert row.mark_to_market_loss == pytest.approx(225e6 * 3.4 / 100)
    # Principal left per 100 outstanding: 33.33 on 20 Dec 2025 (10 days), 33.33 on 20 Jun 2026 (192 days),
    # 33.33 at maturity on 20 Mar 2028 (831 days): WAL = (10 + 192 + 831) / 3 / 365.
    assert row.wal_years == pytest.approx((10 + 192 + 831) / 3 / 365)
    assert row.ytm_pct is not None and row.ytp_pct is None and row.alerts == ["below_par"]


def test_sorting(view: MarketView) -> None:
    # Rows without the value (tranches never quoted) come last in either order, by id.
    never = ["NJWATER-2024-A", "SZPARK-2024-A"]
    quoted = [
        "WHBUS-2025-A",
        "CQTOWER-2025-B",
        "HSTOWER-2025-A",
        "HZMETRO-2025-A",
        "CQTOWER-2025-A",
        "WHBUS-2025-B",
        "GZFLOOD-2025-A",
        "JSCOMM-2025-A",
    ]
    assert _ids(view) == [*quoted, *never]
    assert _ids(view, order="asc")[:3] == ["JSCOMM-2025-A", "GZFLOOD-2025-A", "WHBUS-2025-B"]
    assert _ids(view, order="asc")[-2:] == never
    # On what is outstanding: HZMETRO's 3.40 on Rmb225mn (7.65mn) passes CQTOWER-A's 0.90 on Rmb800mn (7.2mn).
    assert _ids(view, sort="mtm_loss")[:5] == [
        "WHBUS-2025-A",
        "HSTOWER-2025-A",
        "CQTOWER-2025-B",
        "HZMETRO-2025-A",
        "CQTOWER-2025-A",
    ]
    assert _ids(view, sort="loss_trend")[:2] == ["WHBUS-2025-A", "WHBUS-2025-B"]  # ties by id
    assert _ids(view, sort="quote_age")[:4] == [
        "CQTOWER-2025-B",
        "CQTOWER-2025-A",
        "GZFLOOD-2025-A",
        "HSTOWER-2025-A",  # last quoted 27 October
    ]
    assert _ids(view, sort="tranche", order="asc")[0] == "CQTOWER-2025-A"


def test_filters_and_paging(view: MarketView) -> None:
    assert _ids(view, province="hubei") == ["WHBUS-2025-A", "HSTOWER-2025-A", "WHBUS-2025-B"]
    assert _ids(view, issuer="chongqing") == ["CQTOWER-2025-B", "CQTOWER-2025-A"]  # part of the name
    assert _ids(view, issuer="guangzhou-venues") == ["GZFLOOD-2025-A"]
    assert _ids(view, asset_type="office_rent", sort="tranche", order="asc") == [
        "CQTOWER-2025-A",
        "CQTOWER-2025-B",
        "HSTOWER-2025-A",
    ]
    assert _ids(view, stale=True) == ["CQTOWER-2025-B", "HSTOWER-2025-A", "CQTOWER-2025-A", "GZFLOOD-2025-A"]
    result = watchlist(view, StaleQuoteConfig(), WatchQuery(limit=2, offset=1))
    assert result.total == 10 and [r.tranche_id for r in result.rows] == ["CQTOWER-2025-B", "HSTOWER-2025-A"]


def test_staleness_follows_the_configured_threshold(view: MarketView) -> None:
    # 56 trading days since 15 September for two of them, 66 since 1 September for CQTOWER-2025-B.
    assert _ids(view, StaleQuoteConfig(trading_days=66), stale=True) == []
    assert _ids(view, StaleQuoteConfig(trading_days=65), stale=True) == ["CQTOWER-2025-B"]
    assert _ids(view, StaleQuoteConfig(trading_days=55), stale=True) == [
        "CQTOWER-2025-B",
        "CQTOWER-2025-A",
        "GZFLOOD-2025-A",
    ]
    # HSTOWER-2025-A: 32 trading days since 27 October, stale under the default 5, not under the demo's 45.
    assert "HSTOWER-2025-A" in _ids(view, StaleQuoteConfig(trading_days=31), stale=True)
    assert "HSTOWER-2025-A" not in _ids(view, StaleQuoteConfig(trading_days=32), stale=True)


def test_the_watchlist_flags_what_the_rule_fires_on(view: MarketView) -> None:
    stale_rows = {r.tranche_id for r in watchlist(view, StaleQuoteConfig(), WatchQuery(stale=True)).rows}
    firing = {
        t
        for t, tranche in view.tranches.items()
        for a in tranche.alerts.values()
        if a.rule == "stale_quote" and a.status == "firing"
    }
    assert stale_rows == firing


def test_exposures_by_family_on_the_demo(view: MarketView) -> None:
    # The backtest's final state carries the entity records: the Hubei family (the bus company's two
    # tranches and Hongshan's tower) and the healthy Jiangsu family, each summed up to its government.
    rows = {r.key: r for r in exposures(view, "family").rows}
    hubei, jiangsu = rows["hubei-gov"], rows["jiangsu-gov"]
    assert (hubei.issuers, hubei.tranches, hubei.face_value) == (2, 3, 1.5e9)
    assert hubei.mark_to_market_loss == pytest.approx(31.2e6 + 1.5e6 + 400e6 * 5.05 / 100)
    assert hubei.firing.critical > 0
    assert (jiangsu.issuers, jiangsu.tranches, jiangsu.face_value) == (2, 2, 1.2e9)
    assert (jiangsu.firing.critical, jiangsu.firing.warning) == (0, 0)
    assert "wuhan-bus" not in rows and "hongshan-property" not in rows  # counted in their family, once


def test_holdings_column_portfolio_filter_and_unknown_tranches(view: MarketView) -> None:
    from dataclasses import replace

    from streams.cli.watchlist import render
    from streams.model.positions import parse_positions

    held = replace(
        view,
        positions=parse_positions(
            "portfolio,tranche_id,holding_face\n"
            "fund-a,WHBUS-2025-A,50000000\n"
            "fund-b,WHBUS-2025-A,20000000\n"
            "fund-b,CQTOWER-2025-A,0\n"
            "fund-a,NEXT-2026-A,1000000\n"
        ),
    )
    result = watchlist(held, StaleQuoteConfig(), WatchQuery())
    rows = {r.tranche_id: r for r in result.rows}
    assert rows["WHBUS-2025-A"].holdings == {"fund-a": 50e6, "fund-b": 20e6}
    assert rows["WHBUS-2025-A"].holding_face == 70e6
    assert (rows["CQTOWER-2025-A"].holdings, rows["CQTOWER-2025-A"].holding_face) == ({}, 0.0)
    assert rows["NJWATER-2024-A"].holding_face == 0.0  # positions configured, none on it
    assert [(h.portfolio, h.tranche_id) for h in result.unknown_tranches] == [("fund-a", "NEXT-2026-A")]
    assert _ids(held, portfolio="fund-b") == ["WHBUS-2025-A"]  # held at zero is not held
    assert _ids(held, sort="holding")[0] == "WHBUS-2025-A"
    text = render(result)
    assert "HELD" in text and "Rmb50.0mn fund-a, Rmb20.0mn fund-b" in text
    assert "NEXT-2026-A: Rmb1.00mn in fund-a" in text
    # Without a positions file: no holdings at all, not holdings of zero.
    plain = {r.tranche_id: r for r in watchlist(view, StaleQuoteConfig(), WatchQuery()).rows}
    assert plain["WHBUS-2025-A"].holding_face is None and plain["WHBUS-2025-A"].holdings == {}
