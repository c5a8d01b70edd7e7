"""Payments, collateral and ratings in the views: the watchlist's rows (JSON and text), the web pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pytest

from alerts.core.model import Alert
from streams.backtest.replay import BacktestRun, run_backtest
from streams.cli.watchlist import render
from streams.model.state import DealState, IssuerState, TrancheState
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from streams.views.scan import ParsedView
from streams.views.watchlist import MarketView, WatchQuery, WatchRow, part_of, watchlist
from streams.views.web_pages import WebPages
from tests.support.credit_story import records


@pytest.fixture(scope="module")
def run() -> BacktestRun:
    return run_backtest(records(), RulesConfig())


def _rows(run: BacktestRun) -> dict[str, WatchRow]:
    return {r.tranche_id: r for r in watchlist(run.view(), StaleQuoteConfig(), WatchQuery()).rows}


def test_a_row_carries_the_newest_distribution_whatever_the_arrival_order(run: BacktestRun) -> None:
    paid = _rows(run)["BISHUI-24-A"].last_distribution
    assert paid is not None
    assert paid.payment_date == dt.date(2024, 7, 15)  # not the January report that arrived after it
    assert (paid.interest_due, paid.interest_paid, paid.shortfall) == (1e7, 6e6, 4e6)
    assert (paid.support_drawn, paid.factor_after) == (4e6, 1.0)
    assert paid.brief() == "2024-07-15 short Rmb4.00mn, drawn Rmb4.00mn"
    assert _rows(run)["BISHUI-24-B"].last_distribution is None


def test_every_tranche_of_a_deal_carries_its_newest_coverage(run: BacktestRun) -> None:
    rows = _rows(run)
    for tranche_id in ("BISHUI-24-A", "BISHUI-24-B"):
        cover = rows[tranche_id].deal_coverage
        assert cover is not None and cover.deal_id == "BISHUI-24"
        assert (cover.period, cover.coverage) == ("Q2 2024", 0.75)
        assert (cover.reserve_balance, cover.reserve_required, cover.triggers_breached) == (
            5e6,
            2e7,
            ["dscr_below_1_1"],
        )
    assert rows["BISHUI-24-A"].deal_coverage.brief() == (  # type: ignore[union-attr]
        "0.75x Q2 2024, reserve 25%, breached dscr_below_1_1"
    )
    # The deal's collateral alerts are the tranches' concern too.
    assert {"coverage_shortfall", "trigger_breach", "reserve_shortfall"} <= set(rows["BISHUI-24-B"].alerts)


def test_ratings_per_agency_against_their_reference(run: BacktestRun) -> None:
    row = _rows(run)["BISHUI-24-A"]
    ccxi, dagong = row.ratings
    assert (ccxi.agency, ccxi.rating, ccxi.outlook, ccxi.reference_rating, ccxi.notches_down) == (
        "CCXI",
        "AA-",
        "negative",
        "AA+",
        2,
    )
    assert (dagong.rating, dagong.reference_rating, dagong.notches_down) == ("AA", "AA", 0)
    assert [r.brief() for r in row.ratings] == ["CCXI AA- negative (from AA+)", "Dagong AA"]
    assert [r.brief() for r in row.issuer_ratings] == ["CCXI AA stable"]
    assert "rating_downgrade" in row.alerts


def test_the_text_watchlist_shows_them_briefly(run: BacktestRun) -> None:
    text = render(watchlist(run.view(), StaleQuoteConfig(), WatchQuery(sort="tranche", order="asc")))
    header, _, a_row, b_row = text.splitlines()[2:6]
    for title in ("LAST PAYMENT", "COVERAGE", "RATINGS"):
        assert title in header
    assert "2024-07-15 short Rmb4.00mn, drawn Rmb4.00mn" in a_row
    assert "CCXI AA- negative (from AA+); Dagong AA" in a_row
    assert "0.75x Q2 2024" in b_row and "issuer: CCXI AA stable" in b_row  # B is not rated itself


class _Source:
    """The web pages' PageSource over the replay's final state."""

    def __init__(self, run: BacktestRun) -> None:
        self.run = run

    async def raw_view(self) -> ParsedView:
        return ParsedView(self.run.view())

    async def view_of(
        self, tranche_ids: Iterable[str], issuer_ids: Iterable[str] = (), deal_ids: Iterable[str] = ()
    ) -> MarketView:
        return part_of(self.run.view(), tranche_ids, issuer_ids, deal_ids)

    async def tranche(self, tranche_id: str) -> TrancheState | None:
        return self.run.tranches().get(tranche_id)

    async def issuer(self, issuer_id: str) -> IssuerState | None:
        return self.run.issuers().get(issuer_id)

    async def deal(self, deal_id: str) -> DealState | None:
        return self.run.deals().get(deal_id)

    async def clock(self) -> dt.datetime | None:
        return self.run.store.event_clock

    async def price_history(self, tranche_id: str, limit: int = 1000) -> list[tuple[dt.datetime, float]]:
        return []

    async def firing_alerts(self) -> list[Alert]:
        return list(self.run.firing().values())

    async def alert_history(self, fingerprint: str) -> list[Alert]:
        return [n for n in self.run.notices if n.fingerprint == fingerprint]


async def test_the_web_pages_show_distributions_coverage_and_ratings(run: BacktestRun) -> None:
    pages = WebPages(_Source(run), RulesConfig())
    home = (await pages.watchlist({})).html
    assert "Last distribution" in home and "2024-07-15 short Rmb4.00mn, drawn Rmb4.00mn" in home
    assert "0.75x Q2 2024" in home and "CCXI AA- negative (from AA+)" in home
    assert '<td><a href="/deal/BISHUI-24">BISHUI-24</a></td>' in home
    tranche = (await pages.tranche("BISHUI-24-A")).html
    assert '<a href="/deal/BISHUI-24">BISHUI-24</a>' in tranche
    distributions = tranche.split("<h2>Distributions</h2>")[1].split("<h2>")[0]
    assert distributions.index("2024-07-15") < distributions.index("2024-01-15")  # newest first
    assert "Rmb4.00mn" in distributions
    ratings = tranche.split("<h2>Ratings</h2>")[1].split("<h2>")[0]
    assert "AA-" in ratings and "negative" in ratings and "AA+" in ratings
    deal = await pages.deal("BISHUI-24")
    assert deal.status == 200
    reports = deal.html.split("servicer reports</h2>")[1].split("<h2>")[0]
    assert reports.index("Q2 2024") < reports.index("Q1 2024") and "0.75x" in reports and "1.25x" in reports
    assert "dscr_below_1_1" in reports and "coverage_shortfall" in deal.html
    assert "Rmb20.0mn" in reports  # the reserve required, as money
    assert (await pages.deal("NOPE")).status == 404
    issuer = (await pages.issuer("bishui-bus")).html
    assert "CCXI" in issuer.split("<h2>Ratings</h2>")[1].split("<h2>")[0]
