"""The generated market does what the reliability suites count on: on the v2 topics, every rule of theirs
fires and resolves, the family's count walks 2, 3, back below 2, and each bad message is dead-lettered once.

In process (the reference run alone): the suites that replay the scenario on the broker compare with this
run, so a scenario that stopped exercising a rule would make them pass without proving anything about it.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from streams.ingest.parse import Rejected, parse
from tests.reliability.scenario import generate, is_bad, reference_run
from tests.reliability.v2_events import BAD

pytestmark = [pytest.mark.reliability]

V2_RULES = (
    "missed_payment",
    "support_drawn",
    "coverage_shortfall",
    "trigger_breach",
    "reserve_shortfall",
    "rating_downgrade",
    "stressed_collateral",
    "family_stress",
)


async def test_the_v2_rules_fire_and_resolve_and_the_bad_messages_are_dead_lettered() -> None:
    scenario = generate(5_000, seed=6, bad=100)  # the crash replay's market, at its CI size
    reference = await reference_run(scenario)
    seen: Counter[tuple[str, str]] = Counter((a.rule, a.status) for a in reference.notices)
    for rule in V2_RULES:
        assert seen[(rule, "firing")] and seen[(rule, "resolved")], (rule, seen)
    family = [(a.status, a.severity) for a in reference.notices if a.rule == "family_stress"]
    assert family == [
        ("firing", "warning"),  # 2 of the family in trouble
        ("firing", "critical"),  # 3
        ("resolved", "critical"),  # 1, after 2 held the severity
    ]
    assert any(a.rule == "issuing_into_weakness" for a in reference.notices)

    bad = [(topic, value) for phase in scenario.phases for topic, value in phase.records if is_bad(value)]
    v2_ids = [str(value["event_id"]).split("-") for _, value in bad if str(value["event_id"]).count("-") == 3]
    assert {int(kind) for _, _, kind, _ in v2_ids} == set(range(len(BAD)))  # bad-<phase>-<kind>-<n>
    for topic, value in bad:
        assert isinstance(parse(topic, json.dumps(value).encode()), Rejected), value
    assert len(reference.dead_letters) == len(bad)
