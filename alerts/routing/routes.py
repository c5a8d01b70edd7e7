"""The routing file: receivers, routes from matchers to receivers, grouping and inhibition. Validated at start
(pydantic, extra=forbid), so a misspelt key, an unknown label or a route to a missing receiver stops the
worker with a message naming the file and the field, instead of silently dropping notices.

Secrets may be written as `env:NAME` to be read from the environment; they are SecretStr either way.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from alerts.core.labels import Labels, variants
from alerts.core.validation import problems
from alerts.exceptions import AlertsError
from alerts.mute.inhibit import DEFAULT_INHIBIT_RULES, InhibitRule
from alerts.routing.matchers import LABEL_NAMES, Matcher, all_match, parse_all


class RoutingError(AlertsError):
    pass


def _from_env(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]
    return value


class _Receiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Mutes (silences, acks, inhibition) hold pages; a receiver may opt out to see everything.
    honour_mutes: bool = True


class _Digestible(_Receiver):
    # "HH:MM", China time: hold this receiver's notices and send them once a day as one digest message.
    digest_at: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class SlackWebhookReceiver(_Digestible):
    type: Literal["slack_webhook"]
    url: SecretStr
    min_interval_seconds: float = Field(1.0, ge=0)  # Slack allows about one message per second per webhook

    _env = field_validator("url", mode="before")(_from_env)


class SlackBotReceiver(_Receiver):
    type: Literal["slack_bot"]
    token: SecretStr
    channel: str = Field(min_length=1)
    base_url: str | None = None  # Slack's Web API by default; a local stand-in in tests
    min_interval_seconds: float = Field(1.0, ge=0)

    _env = field_validator("token", mode="before")(_from_env)


class KafkaReceiver(_Receiver):
    type: Literal["kafka"]
    topic: str = "abs.alerts"
    # abs.alerts is the record other systems read: by default it carries every transition, muted or not.
    honour_mutes: bool = False


class AlertmanagerReceiver(_Receiver):
    type: Literal["alertmanager"]
    url: SecretStr  # the base URL (…:9093); it may carry credentials
    # Firing alerts are re-posted this often (each valid for four intervals), so they stay active.
    repost_seconds: float = Field(60.0, gt=0, le=3600)
    # Alertmanager has its own silences and inhibition: by default it sees every transition.
    honour_mutes: bool = False

    _env = field_validator("url", mode="before")(_from_env)


class LogReceiver(_Digestible):
    type: Literal["log"]


ReceiverConfig = Annotated[
    SlackWebhookReceiver | SlackBotReceiver | KafkaReceiver | AlertmanagerReceiver | LogReceiver,
    Field(discriminator="type"),
]
GroupLabel = Literal[
    "issuer",
    "programme",
    "deal",
    "tranche",
    "rule",
    "province",
    "asset_type",
    "severity",
    "family",
    "portfolio",
]


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    receiver: str
    matchers: list[str] = Field(default_factory=list)
    group_by: list[GroupLabel] = Field(default_factory=list)
    # Wall-clock wait before a new batch goes out, so a storm arriving over a few seconds is one message.
    group_wait_seconds: float = Field(0.0, ge=0, le=600)
    continue_: bool = Field(False, alias="continue")

    @field_validator("matchers")
    @classmethod
    def _parse(cls, value: list[str]) -> list[str]:
        parse_all(value)
        return value

    def parsed(self) -> list[Matcher]:
        return parse_all(self.matchers)


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    receivers: dict[str, ReceiverConfig] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    default_receiver: str | None = None
    inhibit: list[InhibitRule] = Field(default_factory=lambda: list(DEFAULT_INHIBIT_RULES))

    @model_validator(mode="after")
    def _receivers_exist(self) -> RoutingConfig:
        named = [r.receiver for r in self.routes] + ([self.default_receiver] if self.default_receiver else [])
        missing = sorted({n for n in named if n not in self.receivers})
        if missing:
            raise ValueError(f"routes name undefined receivers {missing}; defined: {sorted(self.receivers)}")
        for route in self.routes:
            kind = self.receivers[route.receiver].type
            if route.group_by and kind not in ("slack_webhook", "log"):
                # A bot keeps one message per incident; Kafka one record per notice (the wire contract).
                raise ValueError(f"route to {route.receiver!r} ({kind}) cannot group_by")
        return self

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        """Routes in order; the first match ends the walk unless it says `continue`; none: the default. With
        several portfolios, one walk per portfolio (alerts/core/labels.py), each route chosen once."""
        chosen: list[Route] = []
        for variant in variants(dict(labels)):
            chosen += [r for r in self._walk(variant) if not any(r is c for c in chosen)]
        return chosen

    def _walk(self, labels: Mapping[str, str]) -> list[Route]:
        chosen: list[Route] = []
        for route in self.routes:
            if all_match(route.parsed(), labels):
                chosen.append(route)
                if not route.continue_:
                    break
        if not chosen and self.default_receiver:
            chosen.append(Route(receiver=self.default_receiver))
        return chosen

    def route_to(self, receiver: str, labels: Mapping[str, str]) -> Route | None:
        found = self.routed(receiver, labels)
        return found[0] if found is not None else None

    def routed(self, receiver: str, labels: Mapping[str, str]) -> tuple[Route, Labels] | None:
        """The route that sends the alert to `receiver` and the labels it was chosen by (for several
        portfolios: the first portfolio whose walk reaches the receiver), or None."""
        for variant in variants(dict(labels)):
            route = next((r for r in self._walk(variant) if r.receiver == receiver), None)
            if route is not None:
                return route, variant
        return None

    @classmethod
    def default(cls, webhook_url: str | None) -> RoutingConfig:
        """No routing file: every notice to the log, the Kafka topic and (if set) the webhook, unmuted by
        inhibition and ungrouped, as before routing existed."""
        receivers: dict[str, Any] = {"log": {"type": "log"}, "kafka": {"type": "kafka"}}
        if webhook_url:
            receivers["slack"] = {"type": "slack_webhook", "url": webhook_url}
        routes = [{"receiver": name, "continue": True} for name in receivers]
        return cls.model_validate({"receivers": receivers, "routes": routes, "inhibit": []})

    def with_alertmanager(self, url: str, repost_seconds: float = 60.0) -> RoutingConfig:
        """TRANCHEWATCH_ALERTMANAGER_URL: every notice also to that Alertmanager, through a receiver named
        `alertmanager` on a first route that matches everything and continues. A routing file that already
        has an alertmanager receiver routes for itself and is returned as it is."""
        if any(isinstance(r, AlertmanagerReceiver) for r in self.receivers.values()):
            return self
        if "alertmanager" in self.receivers:
            raise RoutingError(
                "TRANCHEWATCH_ALERTMANAGER_URL is set, and the routing file has another receiver "
                "named 'alertmanager'"
            )
        receiver = {"type": "alertmanager", "url": url, "repost_seconds": repost_seconds}
        return RoutingConfig.model_validate(
            {
                "receivers": {**self.receivers, "alertmanager": receiver},
                "routes": [{"receiver": "alertmanager", "continue": True}, *self.routes],
                "default_receiver": self.default_receiver,
                "inhibit": self.inhibit,
            }
        )


def load_routing(path: Path) -> RoutingConfig:
    try:
        text = path.read_text()
        data = yaml.safe_load(text) if path.suffix in (".yml", ".yaml") else tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise RoutingError(f"routing file {path}: {exc}") from None
    try:
        return RoutingConfig.model_validate(data or {})
    except ValidationError as exc:
        lines = [f"  {line}" for line in problems(exc)]
        raise RoutingError(f"routing file {path} is invalid:\n" + "\n".join(lines)) from None


assert set(GroupLabel.__args__) <= LABEL_NAMES  # type: ignore[attr-defined]
