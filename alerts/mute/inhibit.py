"""Inhibition: a firing source alert mutes target notices about the same subject.

By default a firing distressed_tranche mutes below_par and price_drop for its tranche: the analyst already
has the bigger alert. Muted notices stay in the alert's state and history; only the notification is held.
The source counts if it was firing at the target notice's event time, so that a below_par heard before the
distress began is still sent, whenever the sender gets to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from alerts.core.model import Alert, RuleName, fingerprint, subject_key
from alerts.keys import AlertKeys


class InhibitRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source_rule: RuleName
    target_rules: list[RuleName] = Field(min_length=1)


DEFAULT_INHIBIT_RULES = (
    InhibitRule(source_rule="distressed_tranche", target_rules=["below_par", "price_drop"]),
)


class Inhibitor:
    def __init__(self, redis: Redis, prefix: str, rules: tuple[InhibitRule, ...] | list[InhibitRule]) -> None:
        self.redis = redis
        self.latest = AlertKeys(prefix).latest
        self.rules = tuple(rules)

    async def inhibiting_each(self, alerts: Sequence[Alert]) -> list[Alert | None]:
        """For each notice, the firing source alert that mutes it, if any (resolutions are never inhibited);
        one Redis round trip for the batch: a storm of notices used to cost one each."""
        wanted = [
            (i, fingerprint(rule.source_rule, subject_key(alert.subject)))
            for i, alert in enumerate(alerts)
            if alert.status == "firing"
            for rule in self.rules
            if alert.rule in rule.target_rules
        ]
        found: list[Alert | None] = [None] * len(alerts)
        if not wanted:
            return found
        raws = await self.redis.hmget(self.latest, [fp for _, fp in wanted])
        for (i, _), raw in zip(wanted, raws, strict=True):
            if found[i] is not None or raw is None:
                continue
            source = Alert.model_validate_json(raw)
            if source.status == "firing" and source.starts_at <= alerts[i].event_time:
                found[i] = source
        return found
