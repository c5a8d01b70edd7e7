"""The rule registry: one module per name of RuleName, the rules file's tables in that order, titles."""

from __future__ import annotations

from typing import get_args

import pytest

from alerts.core.model import RuleName
from alerts.notify.templates import title
from streams.rules import registry
from streams.rules.registry import RULES, RulesConfig


def test_every_rule_name_has_its_module_and_table_in_order() -> None:
    names = list(get_args(RuleName))
    assert [rule.name for rule in RULES] == names
    assert list(RulesConfig.model_fields) == [*names, "future_timestamp", "after_maturity", "antinoise"]
    rules = RulesConfig()
    for rule in RULES:
        assert isinstance(rules.table(rule), rule.config)


def test_a_name_without_a_module_fails_at_start() -> None:
    with pytest.raises(ImportError):
        registry._load("no_such_rule")


def test_a_module_must_declare_the_rule_it_is_named_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.rules import below_par, price_drop

    monkeypatch.setattr(below_par, "SPEC", price_drop.SPEC)
    with pytest.raises(ImportError, match="SPEC = Rule"):
        registry._load("below_par")


def test_titles_are_names_in_words() -> None:
    assert [title(n) for n in get_args(RuleName)] == [
        "Below par",
        "Price drop",
        "Issuer loss widening",
        "Issuer deep loss",
        "Distressed tranche",
        "Missed payment",
        "Support drawn",
        "Distribution overdue",
        "Coverage shortfall",
        "Trigger breach",
        "Reserve shortfall",
        "Stressed collateral",
        "Rating downgrade",
        "Issuing into weakness",
        "Issuance record",
        "Issuance value record",
        "Stale quote",
        "Family stress",
    ]
