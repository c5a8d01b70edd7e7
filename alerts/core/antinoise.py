"""Anti-noise on event time, per rule: a pending period, keep-firing-for, and flap detection. Pure: the rule's
verdict, the alert and this small state in; the alert's next state and the notice (if any) out.

- pending_minutes: a Fire must hold that long (between the first and a later event) before it fires.
- keep_firing_for_minutes: a Resolve must hold that long before the alert resolves.
- flap_threshold / flap_window_minutes: more than K fire/resolve changes within the window hold the alert as
  flapping: one notice says so, further changes update its state silently, and once no change happened for
  a whole window the current state is notified again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from alerts.core.model import KEEP, Alert, Fire, Resolve, RuleName, Verdict


class AntiNoiseRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pending_minutes: float = Field(0.0, ge=0)
    keep_firing_for_minutes: float = Field(0.0, ge=0)
    flap_threshold: int = Field(0, ge=0)  # 0: no flap detection
    flap_window_minutes: float = Field(60.0, gt=0)


class AntiNoisePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[RuleName, AntiNoiseRule] = Field(default_factory=dict)


class NoiseState(BaseModel):
    pending_since: dt.datetime | None = None
    clear_since: dt.datetime | None = None
    changes: list[dt.datetime] = Field(default_factory=list)  # event times of fire/resolve changes
    flapping: bool = False
    notified_seq: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    state: Alert | None  # the alert's new state, or None if unchanged
    notice: Alert | None  # what to tell receivers, or None


def _held(since: dt.datetime | None, when: dt.datetime, minutes: float) -> bool:
    return since is not None and when - since >= dt.timedelta(minutes=minutes)


def _gate(
    cfg: AntiNoiseRule, noise: NoiseState, current: Alert | None, verdict: Verdict, when: dt.datetime
) -> Verdict:
    firing = current is not None and current.status == "firing"
    if isinstance(verdict, Fire):
        noise.clear_since = None
        if not firing and cfg.pending_minutes > 0:
            noise.pending_since = noise.pending_since or when
            if not _held(noise.pending_since, when, cfg.pending_minutes):
                return KEEP
        noise.pending_since = None
    elif isinstance(verdict, Resolve):
        noise.pending_since = None
        if firing and cfg.keep_firing_for_minutes > 0:
            noise.clear_since = noise.clear_since or when
            if not _held(noise.clear_since, when, cfg.keep_firing_for_minutes):
                return KEEP
        noise.clear_since = None
    return verdict


def govern(
    cfg: AntiNoiseRule | None,
    noise: NoiseState,
    current: Alert | None,
    verdict: Verdict,
    when: dt.datetime,
    transition: Callable[[Verdict], Alert | None],
) -> Outcome:
    if cfg is None:
        changed = transition(verdict)
        return Outcome(changed, changed)
    changed = transition(_gate(cfg, noise, current, verdict, when))
    window = dt.timedelta(minutes=cfg.flap_window_minutes)
    if changed is not None and (current is None or current.status != changed.status):
        noise.changes = [t for t in noise.changes if when - t < window] + [when]
    if cfg.flap_threshold <= 0:
        return Outcome(changed, changed)
    if noise.flapping:
        if noise.changes and when - noise.changes[-1] < window:
            return Outcome(changed, None)  # still flapping: held
        noise.flapping = False
        latest = changed or current
        if latest is not None and latest.seq > noise.notified_seq:
            noise.notified_seq = latest.seq
            return Outcome(changed, latest.model_copy(update={"summary": f"settled: {latest.summary}"}))
        return Outcome(changed, None)
    if changed is not None and len(noise.changes) > cfg.flap_threshold:
        noise.flapping = True
        noise.notified_seq = changed.seq
        summary = (
            f"FLAPPING: changed {len(noise.changes)} times in {cfg.flap_window_minutes:g} min; "
            f"holding notices until it settles. Now: {changed.summary}"
        )
        return Outcome(changed, changed.model_copy(update={"summary": summary}))
    if changed is not None:
        noise.notified_seq = changed.seq
    return Outcome(changed, changed)


@dataclass(frozen=True, slots=True)
class Applied:
    state: Alert | None
    notice: Alert | None
    dirty: bool  # the document changed (alert state or anti-noise state) and must be written


def apply_rule(
    policy: AntiNoisePolicy,
    alerts: dict[str, Alert],
    noise_by_rule: dict[str, NoiseState],
    rule: RuleName,
    verdict: Verdict,
    when: dt.datetime,
    transition: Callable[[Alert | None, Verdict], Alert | None],
) -> Applied:
    """The one call streams/engine/apply.py's record() makes: updates a document's alerts and anti-noise state in
    place and says what to notify. Rules without a policy keep no state and behave as before."""
    current = alerts.get(rule)
    cfg = policy.rules.get(rule)
    if cfg is None:
        # The common case, once per rule per quote: no anti-noise state to copy and compare.
        changed = transition(current, verdict)
        if changed is not None:
            alerts[rule] = changed
        return Applied(changed, changed, changed is not None)
    noise = noise_by_rule.get(rule, NoiseState())
    before = noise.model_copy(deep=True)
    outcome = govern(cfg, noise, current, verdict, when, lambda v: transition(current, v))
    if outcome.state is not None:
        alerts[rule] = outcome.state
    noise_changed = noise != before
    if noise_changed:
        noise_by_rule[rule] = noise
    return Applied(outcome.state, outcome.notice, outcome.state is not None or noise_changed)
