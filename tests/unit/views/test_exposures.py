"""Exposures by family, province and asset type: every known tranche once, money at the stream's clock."""

from __future__ import annotations

import asyncio

import pytest

from streams.engine.families import settle_families
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from streams.views.exposures import OTHER, bounded, exposures
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

    async def view(self) -> MarketView:
        return self.built


def test_the_api_refuses_an_unknown_grouping() -> None:
    api = StateApi(_Reader(), RulesConfig().stale_quote)  # type: ignore[arg-type]
    bad = asyncio.run(api.exposures({"group_by": "portfolio"}))
    assert bad.status == 400 and "group_by is one of family, province, asset_type" in bad.body.error
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
