"""Exposures by family, province and asset type: every known tranche once, money at the stream's clock."""

from __future__ import annotations

import asyncio

import pytest

from streams.engine.families import settle_families
from streams.model.positions import Positions, parse_positions
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from streams.views.exposures import OTHER, bounded, exposures
from streams.views.scan import ParsedView
from streams.views.state_api import StateApi
from streams.views.watchlist import MarketView
from tests.unit.rules.scenario import deal, entity, quote, replay, terms


def view() -> MarketView:
    snap = replay(
        [
            entity("e-1", "wuhan-gov", "hubei-gov", kind="government"),
            entity("e-2", "wuhan-bus", "wuhan-gov"),
            entity("e-3", "hongshan-tower", "wuhan-gov"),
            deal(
                "d-1", "D-1", "2025-01-10", [terms("T-1", 600e6), terms("T-2", 400e6)], issuer_id="wuhan-bus"
            ),
            deal("d-2", "D-2", "2025-01-10", [terms("T-3", 500e6)], issuer_id="hongshan-tower"),
            deal("d-3", "D-3", "2025-01-10", [terms("T-4", 300e6)], issuer_id="lonely"),
            quote("q-1", "T-1", "2025-09-01", 90.0),
            quote("q-2", "T-3", "2025-09-01", 99.0),
            quote("q-3", "T-9", "2025-09-01", 80.0),  # no deal: not a known tranche
        ]
    )
    asyncio.run(settle_families(snap, MemoryStore(), None, RulesConfig()))
    return MarketView(
        tranches=snap.tranches,
        issuers=snap.issuers,
        deals=snap.deals,
        clock=snap.clock,
        entities=snap.entities,
    )


def test_by_family_every_known_tranche_once_in_its_issuers_family() -> None:
    got = exposures(view(), "family")
    rows = {r.key: r for r in got.rows}
    assert set(rows) == {"hubei-gov", "lonely"}
    hubei = rows["hubei-gov"]
    assert (hubei.issuers, hubei.tranches, hubei.face_value) == (2, 3, 1.5e9)
    assert hubei.outstanding_principal == pytest.approx(1.5e9)  # bullets: factor 1
    assert hubei.mark_to_market_loss == pytest.approx(600e6 * 0.10 + 500e6 * 0.01)
    assert hubei.firing.critical == 1 and hubei.firing.warning == 0  # below_par on T-1
    assert hubei.holding_face is None
    assert rows["lonely"].tranches == 1 and rows["lonely"].mark_to_market_loss == 0.0
    assert [r.key for r in got.rows] == ["hubei-gov", "lonely"]  # largest outstanding first
    assert sum(r.tranches for r in got.rows) == 4


@pytest.mark.parametrize(
    ("group_by", "keys"), [("province", {"Hubei"}), ("asset_type", {"transport_revenue"})]
)
def test_by_province_and_asset_type(group_by: str, keys: set[str]) -> None:
    got = exposures(view(), group_by)  # type: ignore[arg-type]
    assert {r.key for r in got.rows} == keys
    assert got.rows[0].tranches == 4 and got.rows[0].issuers == 3


class _Reader:
    def __init__(self) -> None:
        self.built = view()

    async def raw_view(self) -> ParsedView:
        return ParsedView(self.built)


def test_the_api_refuses_an_unknown_grouping() -> None:
    api = StateApi(_Reader(), RulesConfig().stale_quote)  # type: ignore[arg-type]
    bad = asyncio.run(api.exposures({"group_by": "fund"}))
    assert (
        bad.status == 400 and "group_by is one of family, province, asset_type, portfolio" in bad.body.error
    )
    good = asyncio.run(api.exposures({}))
    assert good.status == 200 and good.body.group_by == "family"


def test_the_command_prints_the_same_table() -> None:
    from streams.cli.watchlist import render_exposures

    text = render_exposures(exposures(view(), "family"))
    assert text.startswith("2 groups by family; market clock 2025-09-01")
    assert "hubei-gov" in text and "1/0/0" in text


def test_bounded_names_the_top_n_and_sums_the_rest_as_other() -> None:
    result = exposures(view(), "family")
    got = bounded(result, top=1)
    assert set(got) == {"hubei-gov", OTHER}
    assert got["hubei-gov"].outstanding_principal == pytest.approx(1.5e9)
    assert got[OTHER].outstanding_principal == pytest.approx(300e6)  # lonely's T-4, never quoted
    assert got[OTHER].mark_to_market_loss == 0.0
    total = sum(r.outstanding_principal for r in result.rows)
    assert sum(m.outstanding_principal for m in got.values()) == pytest.approx(total)
    assert bounded(result, top=10)[OTHER] == (0.0, 0.0)  # always there, so its series never goes away


def test_bounded_configured_keys_replace_the_top_n_and_a_missing_one_is_zero() -> None:
    got = bounded(exposures(view(), "family"), top=1, keys=("lonely", "guizhou-gov"))
    assert set(got) == {"lonely", "guizhou-gov", OTHER}
    assert got["guizhou-gov"] == (0.0, 0.0)
    assert got[OTHER].outstanding_principal == pytest.approx(1.5e9)  # hubei-gov, not configured
    assert got[OTHER].mark_to_market_loss == pytest.approx(600e6 * 0.10 + 500e6 * 0.01)


POSITIONS = parse_positions(
    "portfolio,tranche_id,holding_face\n"
    "fund-a,T-1,50000000\n"
    "fund-b,T-1,20000000\n"
    "fund-b,T-4,10000000\n"
    "fund-c,T-3,0\n"  # listed at zero: holds nothing
    "fund-a,T-9,1000\n"  # quoted, but no deal describes it: not a known tranche
    "fund-a,LATER-A,5000\n"  # no document at all yet
)


def held_view() -> MarketView:
    built = view()
    built.positions = POSITIONS
    return built


def test_holding_face_sums_every_portfolio_in_each_group() -> None:
    rows = {r.key: r for r in exposures(held_view(), "family").rows}
    assert rows["hubei-gov"].holding_face == 70e6  # T-1, both funds; T-3 held at zero
    assert rows["lonely"].holding_face == 10e6
    by_province = exposures(held_view(), "province").rows
    assert [r.holding_face for r in by_province] == [80e6]


def test_by_portfolio_a_tranche_held_twice_counts_in_both_rows_and_unheld_ones_in_none() -> None:
    got = exposures(held_view(), "portfolio")
    rows = {r.key: r for r in got.rows}
    assert set(rows) == {"fund-a", "fund-b"}  # fund-c holds nothing; T-2 and T-3 are in no row
    a, b = rows["fund-a"], rows["fund-b"]
    assert (a.tranches, a.issuers, a.face_value, a.holding_face) == (1, 1, 600e6, 50e6)
    assert (b.tranches, b.issuers, b.face_value, b.holding_face) == (2, 2, 900e6, 30e6)
    assert a.mark_to_market_loss == pytest.approx(60e6) and b.mark_to_market_loss == pytest.approx(60e6)
    assert a.firing.critical == 1 and b.firing.critical == 1  # below_par on T-1, in both
    assert [(h.portfolio, h.tranche_id) for h in got.unknown_tranches] == [
        ("fund-a", "T-9"),
        ("fund-a", "LATER-A"),
    ]


def test_without_positions_no_portfolio_rows_and_null_holdings() -> None:
    assert exposures(view(), "portfolio").rows == []
    assert exposures(view(), "portfolio").unknown_tranches == []


def test_the_api_and_the_command_show_the_holdings_in_force() -> None:
    from streams.cli.watchlist import render_exposures

    current: list[Positions | None] = [None]
    api = StateApi(_Reader(), RulesConfig().stale_quote, lambda: current[0])  # type: ignore[arg-type]
    assert asyncio.run(api.exposures({"group_by": "portfolio"})).body.rows == []
    current[0] = POSITIONS  # a reload: the next request sees it
    answer = asyncio.run(api.exposures({"group_by": "portfolio"}))
    assert answer.status == 200 and [r.key for r in answer.body.rows] == ["fund-b", "fund-a"]
    text = render_exposures(answer.body)
    assert "Rmb30.0mn" in text and "Rmb50.0mn" in text
    assert "positions on unknown tranches" in text and "LATER-A: Rmb5.00k in fund-a" in text
