"""The backtest replays through the worker's BatchHandler: its alerts are the rules' alerts, in file order,
independent of batch size, and two rules files compare alert by alert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.backtest.compare import compare, episodes
from streams.backtest.replay import run_backtest
from streams.backtest.sources import read_jsonl
from streams.backtest.tranches import COLUMNS as TRANCHE_COLUMNS
from streams.cli.main import main
from streams.demo.run import scenario_path
from streams.rules.registry import RulesConfig


def _timeline(batch_size: int) -> list[tuple[str, str, str, str, str]]:
    run = run_backtest(list(read_jsonl(scenario_path())), RulesConfig(), batch_size=batch_size)
    return [(n.rule, n.fingerprint, n.severity, n.status, n.event_time.isoformat()) for n in run.notices]


def test_batch_size_changes_nothing() -> None:
    # family_stress is judged once a batch's events are applied (streams/engine/families.py), so its notice
    # comes after the rest of its batch: the same notice with the same stamp, in another place. Every other
    # notice comes in the same order.
    timelines = [_timeline(size) for size in (1, 7, 500)]
    families = [[n for n in t if n[0] == "family_stress"] for t in timelines]
    others = [[n for n in t if n[0] != "family_stress"] for t in timelines]
    assert others[0] == others[1] == others[2]
    assert families[0] == families[1] == families[2]
    assert [(n[2], n[4]) for n in families[0]] == [("warning", "2025-10-24T18:00:00+08:00")]


def test_demo_scenario_counts_and_dead_letters() -> None:
    run = run_backtest(list(read_jsonl(scenario_path())), RulesConfig())
    assert run.counts["bond.quotes"] == {"processed": 37, "invalid": 4, "duplicate": 1}
    assert run.counts["abs.deals"]["processed"] == 9
    assert run.counts["abs.distributions"] == {"processed": 5, "invalid": 0, "duplicate": 0}
    assert run.counts["abs.servicer_reports"]["processed"] == 5
    assert run.counts["abs.ratings"]["processed"] == 3
    assert run.counts["abs.entities"]["processed"] == 9
    assert len(run.dead_letters) == 4 and all(t == "bond.quotes" for t, _ in run.dead_letters)
    # a year typed 2052 for 2025: refused, so the market clock stays in 2025 and floods no stale_quote
    assert "ahead of its Kafka record" in run.dead_letters[-1][1]
    assert run.store.event_clock is not None and run.store.event_clock.year == 2025
    firing = {(a.rule, a.severity) for a in run.firing().values()}
    assert ("distressed_tranche", "critical") in firing and ("issuing_into_weakness", "warning") in firing


def test_demo_scenario_tells_the_payment_collateral_rating_and_family_story() -> None:
    """Issues 14 and 15 in the demo: the bus company's Q3 fares below its debt service, the October
    distribution topped up from the shortfall undertaking, one agency's downgrade; the Hubei family (the bus
    company and Hongshan's tower owner) stressed, the Jiangsu family quiet."""
    run = run_backtest(
        list(read_jsonl(scenario_path())), RulesConfig.load(scenario_path().with_name("rules.toml"))
    )
    firing = {
        (a.rule, a.subject.tranche_id or a.subject.deal_id or a.subject.issuer_id or a.subject.entity_id): a
        for a in run.firing().values()
    }
    assert firing["coverage_shortfall", "WHBUS-2025"].severity == "critical"
    assert "Q3 2025 collections Rmb15.1mn covered debt service Rmb18.9mn 0.80x" in (
        firing["coverage_shortfall", "WHBUS-2025"].summary
    )
    assert firing["trigger_breach", "WHBUS-2025"].evidence["breached"] == ["dscr_below_1_1"]
    assert firing["support_drawn", "WHBUS-2025-A"].summary == (
        "WHBUS-2025-A: the 2025-10-15 distribution paid Rmb3.90mn of Rmb3.90mn interest due; "
        "Rmb3.80mn drawn from the shortfall undertaking"
    )
    downgrade = firing["rating_downgrade", "WHBUS-2025-A"]
    assert downgrade.severity == "warning" and list(downgrade.evidence["agencies"]) == [
        "CCXI",
        "China Lianhe",
    ]
    assert (
        "CCXI AAA(sf) to AA(sf) (2 notches" in downgrade.summary and "China Lianhe" not in downgrade.summary
    )
    assert firing["stressed_collateral", "WHBUS-2025-A"].severity == "critical"
    assert firing["coverage_shortfall", "HSTOWER-2025"].severity == "critical"
    family = firing["family_stress", "hubei-gov"]
    assert (family.severity, family.starts_at.isoformat()) == ("warning", "2025-10-24T18:00:00+08:00")
    assert sorted(family.evidence["stressed"]) == ["hongshan-property", "wuhan-bus"]
    assert family.evidence["stressed"]["hongshan-property"]["chain"] == [
        "hongshan-property",
        "hongshan-gov",
        "wuhan-gov",
        "hubei-gov",
    ]
    # The healthy family elsewhere: nothing fires on Jiangsu's issuers or tranches.
    quiet = {"jiangsu-gov", "nanjing-water", "jiangsu-comms", "NJWATER-2024", "NJWATER-2024-A"}
    quiet |= {"JSCOMM-2025", "JSCOMM-2025-A"}
    assert not [
        n for n in run.notices if {n.subject.tranche_id, n.subject.deal_id, n.subject.issuer_id} & quiet
    ]
    assert not [n for n in run.notices if n.subject.entity_id == "jiangsu-gov"]
    # Nothing else: in particular no distribution overdue (the trustee reports every payment date the
    # schedules have before the story's end: WHBUS-2025-A quarterly from April, HZMETRO-2025-A from June),
    # no payment missed, no reserve short.
    assert {n.rule for n in run.notices} == {
        "issuance_value_record",
        "issuance_record",
        "below_par",
        "price_drop",
        "issuer_loss_widening",
        "issuer_deep_loss",
        "distressed_tranche",
        "issuing_into_weakness",
        "support_drawn",
        "coverage_shortfall",
        "trigger_breach",
        "stressed_collateral",
        "rating_downgrade",
        "stale_quote",
        "family_stress",
    }


def test_compare_reports_gained_lost_and_moved() -> None:
    records = list(read_jsonl(scenario_path()))
    strict = RulesConfig.model_validate(
        {"below_par": {"warning_discount": 1.0, "critical_discount": 4.0, "resolve_discount": 0.5}}
    )
    loose = RulesConfig.model_validate({"price_drop": {"enabled": False}})
    base, tight, off = (run_backtest(records, r) for r in (RulesConfig(), strict, loose))
    moved = {(c.kind, c.rule, c.subject) for c in compare(base.notices, tight.notices)}
    assert ("earlier", "below_par", "WHBUS-2025-A") in moved
    assert ("earlier", "below_par", "CQTOWER-2025-A") in moved
    lost = {(c.kind, c.rule, c.subject) for c in compare(base.notices, off.notices)}
    # WHBUS-2025-A: 97.60 on 1 Jul, 95.00 on 1 Sep, a drop from its previous quote (v2)
    assert lost == {("lost", "price_drop", "CQTOWER-2025-B"), ("lost", "price_drop", "WHBUS-2025-A")}
    assert compare(base.notices, base.notices) == []


def test_episodes_track_peaks_and_ends() -> None:
    run = run_backtest(list(read_jsonl(scenario_path())), RulesConfig())
    cq = [e for e in episodes(run.notices) if e.rule == "below_par" and e.subject == "CQTOWER-2025-B"]
    assert len(cq) == 1 and cq[0].peak == "critical" and cq[0].ended is None


def test_cli_prints_the_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["backtest", str(scenario_path()), "--progress-every", "10"]) == 0
    out, err = capsys.readouterr()
    assert "EVENT TIME" in out and "distressed_tranche" in out and "WHBUS-2025-A" in out
    assert "(file order)" in out
    assert "backtest [contract defaults]: 76 events" in err  # progress, on stderr
    other = tmp_path / "other.toml"
    other.write_text("[price_drop]\nenabled = false\n", encoding="utf-8")
    assert (
        main(["backtest", str(scenario_path()), "--rules", str(other), "--rules", str(other), "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in data["runs"]] == ["other.toml", "other.toml"] and data["changes"] == []
    tranches = data["runs"][0]["tranches"]
    assert set(tranches) == {
        "WHBUS-2025-A",
        "WHBUS-2025-B",
        "CQTOWER-2025-A",
        "CQTOWER-2025-B",
        "GZFLOOD-2025-A",
        "HZMETRO-2025-A",
        "HSTOWER-2025-A",
        "JSCOMM-2025-A",
    }  # every quoted tranche, none of the never-quoted ones
    for row in tranches.values():
        assert set(TRANCHE_COLUMNS) <= set(row)
    hz = tranches["HZMETRO-2025-A"]
    assert (hz["settlement"], hz["factor"], hz["outstanding_principal"]) == ("2025-12-10", 0.75, 225e6)
    assert hz["clean_price"] == pytest.approx(96.6) and hz["mark_to_market_loss"] == pytest.approx(7.65e6)
    # 2.8% quarterly: the quarter [20 Sep, 20 Dec 2025) holds 10 Dec, t = 10 + 31 + 30 + 10 = 81 of TS = 91.
    assert hz["accrued_interest"] == pytest.approx(0.7 * 81 / 91)


def test_cli_rejects_a_bad_rules_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[below_parr]\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="below_parr"):
        main(["backtest", str(scenario_path()), "--rules", str(bad)])
