"""Every rule, found from the one list of rule names, and the rules file (`RulesConfig`) built from them.

The list is `RuleName` in alerts/core/model.py. It lives on the alert side because that side validates rule
names (an alert on the wire, anti-noise tables, inhibit rules, backtest comparisons) and titles them in its
templates, and `alerts` never imports `streams`; this side finds each named rule's module by its name. So a
rule is listed once, and the engine, the rules file and the Slack templates all follow from that line.

How to add a rule `my_rule`:
1. Add "my_rule" to `RuleName` (alerts/core/model.py), at the point of the engine's order where it should be
   judged. Its Slack title is its name in words ("My rule", alerts/notify/templates.py).
2. Write streams/rules/my_rule.py: pure functions from state to a verdict, its table (a `RuleConfig`
   subclass, in streams/rules/config.py beside the others) and `SPEC = Rule(name=RULE, config=...)` with the
   hooks of streams/rules/spec.py it needs (when it is judged; `record` through the judge it is lent).
3. Its table `[my_rule]` in the rules file now exists (defaults if absent); document it in
   deploy/rules.example.toml and the wire contract. Test it with tests/unit/rules/scenario.py.
No change to the engine, the config loader or the templates. Registration checks every module at import:
a name without a module, or a module whose SPEC names another rule, fails at start.
"""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict, create_model

from alerts.core.antinoise import AntiNoisePolicy
from alerts.core.model import RuleName
from streams.rules.config import AfterMaturityConfig, FutureTimestampConfig, RuleConfig
from streams.rules.spec import AnyRule, Rule

C = TypeVar("C", bound=RuleConfig)


def _load(name: str) -> AnyRule:
    module = importlib.import_module(f"{__package__}.{name}")
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, Rule) or spec.name != name:
        raise ImportError(f"streams/rules/{name}.py must define SPEC = Rule(name={name!r}, ...)")
    return spec


# In the order of RuleName: the engine calls each hook in this order, and notices keep it.
RULES: tuple[AnyRule, ...] = tuple(_load(name) for name in get_args(RuleName))


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def table(self, rule: Rule[C]) -> C:
        return cast(C, getattr(self, rule.name))

    @classmethod
    def load(cls, path: Path | None) -> Self:
        if path is None:
            return cls()
        with path.open("rb") as fh:
            return cls.model_validate(tomllib.load(fh))


if TYPE_CHECKING:

    class RulesConfig(_RulesFile):
        """One table per rule (`rules.below_par`), the input checks, then `antinoise`."""

        future_timestamp: FutureTimestampConfig
        after_maturity: AfterMaturityConfig
        antinoise: AntiNoisePolicy

        def __init__(self, **tables: Any) -> None: ...

        def __getattr__(self, name: str) -> Any: ...

else:
    RulesConfig = create_model(
        "RulesConfig",
        __base__=_RulesFile,
        __module__=__name__,
        __doc__="One table per rule (`rules.below_par`), the input checks, then `antinoise`.",
        **{rule.name: (rule.config, rule.config()) for rule in RULES},
        # Input checks of contract v2 that dead-letter a quote (streams/engine/quote_checks.py): not rules,
        # but their thresholds belong with the others.
        future_timestamp=(FutureTimestampConfig, FutureTimestampConfig()),
        after_maturity=(AfterMaturityConfig, AfterMaturityConfig()),
        # Pending period, keep-firing-for and flap detection per rule ([antinoise.rules.below_par] ...).
        antinoise=(AntiNoisePolicy, AntiNoisePolicy()),
    )
