"""The web pages rendered from the state the demo scenario leaves (replayed in memory), read as HTML: every
tranche and firing alert listed, sort and filter links, the chart, the issuer's periods, 404s, the token,
and event text that cannot become markup."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import pytest

from alerts.core.model import Alert
from streams.backtest.replay import BacktestRun, run_backtest
from streams.backtest.sources import read_jsonl
from streams.demo.run import scenario_path
from streams.model.positions import parse_positions
from streams.model.state import DealState, IssuerState, TrancheState
from streams.rules.registry import RulesConfig
from streams.views import web_format
from streams.views.exposures import exposures
from streams.views.scan import ParsedView
from streams.views.watchlist import MarketView, WatchRow, part_of
from streams.views.web_pages import WebPages
from tests.support.web import INJECTED


class ReplaySource:
    """The PageSource over a replay's final state (the worker reads the same from Redis)."""

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
        return sorted(self.run.store.prices.get(tranche_id, {}).values())[-limit:]

    async def firing_alerts(self) -> list[Alert]:
        return list(self.run.firing().values())

    async def alert_history(self, fingerprint: str) -> list[Alert]:
        return [n for n in self.run.notices if n.fingerprint == fingerprint]


@pytest.fixture(scope="module")
def run() -> BacktestRun:
    events: list[tuple[str, Any]] = list(read_jsonl(scenario_path()))
    return run_backtest([*events, ("abs.deals", INJECTED)], RulesConfig())


@pytest.fixture
def pages(run: BacktestRun) -> WebPages:
    return WebPages(ReplaySource(run), RulesConfig())


def _tranche_links(html: str) -> list[str]:
    """The tranche ids of the watchlist's rows, in order (after the firing alerts, which link too)."""
    return re.findall(r'<td><a href="/tranche/([^"]+)">', html.split('id="tranches"')[-1])


async def test_the_watchlist_lists_tranches_by_discount_and_the_firing_alerts(pages: WebPages) -> None:
    page = await pages.watchlist({})
    assert page.status == 200
    assert _tranche_links(page.html)[:2] == ["WHBUS-2025-A", "CQTOWER-2025-B"]
    firing = page.html.split('id="firing"')[1].split('id="tranches"')[0]
    assert "distressed_tranche" in firing and "issuer_loss_widening" in firing
    assert 'href="/issuer/wuhan-bus">Wuhan Public Transport Group</a>' in firing
    assert "Rmb31.2mn" in page.html  # WHBUS-2025-A's mark-to-market loss, as money
    assert 'href="/?sort=discount&amp;order=asc"' in page.html  # sorted by discount: the link flips it


async def test_filters_and_sort_come_from_the_query_and_empty_fields_mean_any(pages: WebPages) -> None:
    page = await pages.watchlist({"province": "Hubei", "sort": "tranche", "order": "asc", "asset_type": ""})
    assert _tranche_links(page.html) == ["HSTOWER-2025-A", "WHBUS-2025-A", "WHBUS-2025-B"]
    assert '<option value="Hubei" selected>' in page.html
    bad = await pages.watchlist({"sort": "colour"})
    assert bad.status == 400 and "sort" in bad.html


async def test_a_tranche_page_draws_its_price_history_against_par_with_alert_markers(pages: WebPages) -> None:
    page = await pages.tranche("WHBUS-2025-A")
    assert page.status == 200
    points = re.search(r'<polyline points="([^"]+)"', page.html)
    assert page.html.count('r="2.6"') == 6  # a dot for each of its six quotes
    assert points is not None and len(points.group(1).split()) == 11  # stepping from one to the next
    assert "par 100" in page.html and "below_par critical: price ≤ 95" in page.html
    assert page.html.count("<g><title>") >= 2  # below_par fired, then escalated
    assert 'href="/issuer/wuhan-bus"' in page.html
    assert (await pages.tranche("NOPE")).status == 404


async def test_an_issuer_page_shows_its_periods_newest_first_and_its_tranches(pages: WebPages) -> None:
    page = await pages.issuer("wuhan-bus")
    assert page.status == 200
    assert page.html.index("2025-01-01 \N{EN DASH} 2025-06-30") < page.html.index(
        "2024-01-01 \N{EN DASH} 2024-12-31"
    )
    assert "-Rmb821mn" in page.html
    assert _tranche_links(page.html) == ["WHBUS-2025-A", "WHBUS-2025-B"]
    assert (await pages.issuer("nobody")).status == 404


async def test_event_text_is_escaped_never_markup(pages: WebPages) -> None:
    for page in (await pages.watchlist({}), await pages.issuer("evil"), await pages.tranche("EVIL-2025-A")):
        assert "<script>" not in page.html and "<b>Hubei" not in page.html
    issuer = await pages.issuer("evil")
    assert (
        "&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt;Evil &amp; &#34;Sons&#34;" in issuer.html
    )


async def test_with_a_token_every_page_needs_it_as_bearer_or_basic_password(run: BacktestRun) -> None:
    guarded = WebPages(ReplaySource(run), RulesConfig(), token="s3cret")
    basic = base64.b64encode(b"analyst:s3cret").decode()
    assert guarded.allows({"Authorization": "Bearer s3cret"})
    assert guarded.allows({"authorization": f"Basic {basic}"})
    for wrong in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic !!"},
        {"Authorization": "s3cret"},
    ):
        assert not guarded.allows(wrong)
    refused = guarded.refused()
    assert (
        refused.status == 401
        and ("WWW-Authenticate", 'Basic realm="tranchewatch", charset="UTF-8"') in refused.headers
    )
    assert WebPages(ReplaySource(run), RulesConfig()).allows({})


def test_every_watchlist_field_is_a_column_so_new_ones_appear_by_themselves() -> None:
    shown = {c.name for c in web_format.columns()}
    assert shown == set(WatchRow.model_fields) - web_format.HIDDEN
    assert web_format.show(600_000_000.0, "outstanding_principal") == "Rmb600mn"
    assert web_format.show(0.8, "factor") == "0.8000"
    assert web_format.show(3.456, "ytp_pct") == "3.46%"
    assert web_format.show(None) == "—"


async def test_the_watchlist_page_shows_the_exposures_of_each_grouping(
    pages: WebPages, run: BacktestRun
) -> None:
    page = await pages.watchlist({"province": "Hubei"})  # the filters narrow the tranches, not the exposures
    section = page.html.split('id="exposures"')[1]
    for group_by in ("family", "province", "asset_type"):
        assert f'id="exposures-{group_by}"' in section
    hubei = next(r for r in exposures(run.view(), "province").rows if r.key == "Hubei")
    row = section.split('<a href="/?province=Hubei">Hubei</a>')[1].split("</tr>")[0]
    assert web_format.show(hubei.outstanding_principal, "outstanding_principal") in row
    assert web_format.show(hubei.mark_to_market_loss, "mark_to_market_loss") in row
    assert 'href="/?asset_type=transport_revenue"' in section


async def test_with_positions_the_exposures_show_what_is_held_and_a_portfolio_table(run: BacktestRun) -> None:
    class HeldSource(ReplaySource):
        async def raw_view(self) -> ParsedView:
            view = self.run.view()
            view.positions = parse_positions(
                "portfolio,tranche_id,holding_face\nfund-a,WHBUS-2025-A,50000000\n"
            )
            return ParsedView(view)

    section = (await WebPages(HeldSource(run), RulesConfig()).watchlist({})).html.split('id="exposures"')[1]
    assert 'id="exposures-portfolio"' in section and ">Held</th>" in section
    assert "<td>fund-a</td>" in section and "Rmb50.0mn" in section


async def test_without_positions_no_portfolio_table(pages: WebPages) -> None:
    page = await pages.watchlist({})
    assert 'id="exposures-portfolio"' not in page.html and ">Held</th>" not in page.html


def test_holdings_show_by_portfolio_in_money_and_sort_by_holding() -> None:
    held = {c.name: c for c in web_format.columns()}["holdings"]
    assert held.title == "Holdings" and held.sort == "holding"
    assert (
        web_format.show({"fund-a": 50e6, "fund-b": 1.2e9}, "holdings") == "Rmb50.0mn fund-a, Rmb1.20bn fund-b"
    )
    assert web_format.show({}, "holdings") == "—"
