"""RulesConfig: contract defaults, clear errors for misspelt names and inverted levels, the example file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.rules.registry import RulesConfig

EXAMPLE = Path(__file__).parents[3] / "deploy" / "rules.example.toml"


def _load(tmp_path: Path, text: str) -> RulesConfig:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return RulesConfig.load(path)


def test_defaults_are_the_contracts() -> None:
    rules = RulesConfig.load(None)
    assert (rules.below_par.warning_discount, rules.below_par.critical_discount) == (2.0, 5.0)
    assert rules.below_par.resolve_discount == 1.5
    assert (rules.price_drop.warning_drop, rules.price_drop.critical_drop) == (2.0, 4.0)
    assert rules.price_drop.lookback_days == 7
    assert rules.stale_quote.trading_days == 5
    m = rules.issuer_loss_widening
    assert (m.warning_multiple, m.critical_multiple) == (5.0, 10.0)
    assert m.like_for_like and m.like_for_like_tolerance_days == 7
    assert rules.price_drop.compare_previous_quote
    d = rules.issuer_deep_loss
    assert (d.warning_loss_pct_of_revenue, d.resolve_loss_pct_of_revenue) == (50.0, 40.0)


def test_example_file_loads_and_keeps_the_defaults() -> None:
    rules = RulesConfig.load(EXAMPLE)
    baselines = {"issuance_record", "issuance_value_record"}
    assert rules.model_dump(exclude=baselines) == RulesConfig().model_dump(exclude=baselines)
    assert rules.issuance_record.baseline and rules.issuance_value_record.baseline  # how one is written


def test_baseline_years_come_from_toml_keys(tmp_path: Path) -> None:
    rules = _load(tmp_path, "[issuance_record.baseline]\n2023 = 1200\n")
    assert rules.issuance_record.baseline == {2023: 1200}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[below_par]\nwarning_discont = 2.0\n", "warning_discont"),
        ("[price_dorp]\nwarning_drop = 2.0\n", "price_dorp"),
        (
            "[price_drop]\nwarning_drop = 5.0\n",
            "price_drop needs resolve_drop <= warning_drop <= critical_drop",
        ),
        ("[below_par]\nwarning_discount = 6.0\n", "below_par needs"),
        ("[issuer_loss_widening]\nwarning_multiple = 12\n", "warning_multiple <= critical_multiple"),
        ("[issuer_loss_widening]\nwarning_multiple = 0.5\n", "greater than 1"),
        ("[price_drop]\nlookback_days = 0\n", "lookback_days"),
        ("[issuer_deep_loss]\nresolve_loss_pct_of_revenue = 60\n", "issuer_deep_loss needs"),
    ],
)
def test_mistakes_are_clear_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        _load(tmp_path, text)
