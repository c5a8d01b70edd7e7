"""Pending period, keep-firing-for and flap detection, on event time, as pure functions."""

from __future__ import annotations

import datetime as dt

from alerts.core.antinoise import AntiNoisePolicy, AntiNoiseRule, NoiseState, apply_rule
from alerts.core.lifecycle import transition
from alerts.core.model import Alert, Fire, Resolve, Subject, Verdict

T0 = dt.datetime(2025, 9, 1, 9, 30, tzinfo=dt.UTC)
FIRE, RESOLVE = Fire("critical", "below par"), Resolve("back near par")


class Tranche:
    """A document's alert and anti-noise state, and the notices it produced."""

    def __init__(self, **cfg: float) -> None:
        self.policy = AntiNoisePolicy(rules={"below_par": AntiNoiseRule(**cfg)})
        self.alerts: dict[str, Alert] = {}
        self.noise: dict[str, NoiseState] = {}
        self.notices: list[Alert] = []

    def judge(self, verdict: Verdict, minute: float) -> None:
        when = T0 + dt.timedelta(minutes=minute)

        def step(current: Alert | None, v: Verdict) -> Alert | None:
            return transition(
                current,
                v,
                rule="below_par",
                fingerprint="fp",
                subject=Subject(tranche_id="T"),
                event_time=when,
            )

        applied = apply_rule(self.policy, self.alerts, self.noise, "below_par", verdict, when, step)
        if applied.notice is not None:
            self.notices.append(applied.notice)

    @property
    def statuses(self) -> list[str]:
        return [n.status for n in self.notices]


def test_pending_period_must_hold_in_event_time() -> None:
    t = Tranche(pending_minutes=10)
    t.judge(FIRE, 0)
    t.judge(FIRE, 5)
    assert t.notices == []
    t.judge(FIRE, 10)
    assert t.statuses == ["firing"]


def test_a_resolve_inside_the_pending_period_starts_it_again() -> None:
    t = Tranche(pending_minutes=10)
    t.judge(FIRE, 0)
    t.judge(RESOLVE, 5)
    t.judge(FIRE, 11)
    assert t.notices == []
    t.judge(FIRE, 21)
    assert t.statuses == ["firing"]


def test_keep_firing_for_holds_the_alert_until_the_clear_lasts() -> None:
    t = Tranche(keep_firing_for_minutes=30)
    t.judge(FIRE, 0)
    t.judge(RESOLVE, 10)
    t.judge(FIRE, 20)  # back before the 30 minutes: nothing resolved, nothing refired
    t.judge(RESOLVE, 25)
    t.judge(RESOLVE, 50)
    assert t.statuses == ["firing"]
    t.judge(RESOLVE, 56)
    assert t.statuses == ["firing", "resolved"]


def test_flapping_is_notified_once_then_held_until_it_settles() -> None:
    t = Tranche(flap_threshold=3, flap_window_minutes=60)
    verdicts: list[Verdict] = [FIRE, RESOLVE, FIRE, RESOLVE, FIRE, RESOLVE, FIRE]
    for minute, verdict in enumerate(verdicts):
        t.judge(verdict, minute * 5)
    assert t.statuses == ["firing", "resolved", "firing", "resolved"]
    assert t.notices[-1].summary.startswith("FLAPPING: changed 4 times")
    assert t.alerts["below_par"].status == "firing" and t.alerts["below_par"].seq == 7  # state kept
    t.judge(FIRE, 30 + 61)  # a quiet window later: the current state, once
    assert t.statuses[-1] == "firing" and t.notices[-1].summary.startswith("settled:")
    assert len(t.notices) == 5


def test_rules_without_a_policy_behave_as_before_and_keep_no_state() -> None:
    t = Tranche()
    t.policy = AntiNoisePolicy()
    t.judge(FIRE, 0)
    t.judge(RESOLVE, 1)
    assert t.statuses == ["firing", "resolved"] and t.noise == {}


def test_policy_lives_in_the_validated_rules_file(tmp_path: object) -> None:
    import pathlib

    import pytest
    from pydantic import ValidationError

    from streams.rules.registry import RulesConfig

    path = pathlib.Path(str(tmp_path)) / "rules.toml"
    path.write_text("[antinoise.rules.below_par]\npending_minutes = 15\nflap_threshold = 4\n")
    assert RulesConfig.load(path).antinoise.rules["below_par"].pending_minutes == 15
    path.write_text("[antinoise.rules.below_par]\npending_minute = 15\n")
    with pytest.raises(ValidationError):
        RulesConfig.load(path)
