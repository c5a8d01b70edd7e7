"""Runtime configuration, read once from TRANCHEWATCH_* variables and an optional TOML file."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from alerts.core.validation import problems

CONFIG_FILE_ENV = "TRANCHEWATCH_CONFIG"


class Settings(BaseSettings):
    """Every knob of the service. Secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_prefix="TRANCHEWATCH_", frozen=True, extra="forbid")

    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    redis_prefix: str = "tw:"
    slack_webhook_url: SecretStr | None = None
    # An Alertmanager's base URL: every notice is also posted to its v2 API (alerts/notify/alertmanager.py);
    # firing alerts are re-posted every alertmanager_repost_seconds so they stay active.
    alertmanager_url: SecretStr | None = None
    alertmanager_repost_seconds: float = Field(60.0, gt=0, le=3600)
    # Quotes kept per tranche for the web page's price chart (about 120 bytes of Redis each); 0: none.
    price_history_points: int = Field(250, ge=0, le=100_000)
    http_port: int = Field(6066, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    app_id: str = "tranchewatch"

    quotes_partitions: int = Field(4, ge=1)
    deals_partitions: int = Field(1, ge=1)
    financials_partitions: int = Field(1, ge=1)
    distributions_partitions: int = Field(1, ge=1)
    servicer_reports_partitions: int = Field(1, ge=1)
    ratings_partitions: int = Field(1, ge=1)
    entities_partitions: int = Field(1, ge=1)
    alerts_partitions: int = Field(1, ge=1)
    deadletter_partitions: int = Field(1, ge=1)
    replication_factor: int = Field(1, ge=1)

    batch_size: int = Field(1000, ge=1, le=100_000)
    batch_within_seconds: float = Field(0.02, gt=0)
    session_timeout_seconds: float = Field(10.0, gt=0)
    rebalance_timeout_seconds: float = Field(10.0, gt=0)
    heartbeat_interval_seconds: float = Field(1.0, gt=0)
    redis_retry_max_seconds: float = Field(5.0, gt=0)
    # Redis's maxmemory-policy is read at start and this often; anything but noeviction stops the worker
    # unless allowed here (streams/state/redis_policy.py).
    allow_evicting_redis: bool = False
    redis_policy_check_seconds: float = Field(60.0, gt=0)
    # How often an idle worker looks for the state marker (a commit checks it anyway; streams/state/marker.py).
    state_check_seconds: float = Field(5.0, gt=0)
    # Consumer and stream tuning (see BENCHMARKS.md for what each is worth). None/0 keeps faust's default.
    max_poll_records: int | None = Field(None, ge=1)  # records per fetch handed to faust
    max_fetch_bytes: int = Field(4 << 20, ge=1024)  # per partition and fetch
    stream_buffer_maxsize: int = Field(8192, ge=1)  # events a stream may hold ahead of its agent
    lean_monitor: bool = True  # keep only the arrival stamp of faust's per-event Monitor bookkeeping
    event_loop: Literal["asyncio", "uvloop"] = "uvloop"
    # faust's drain loop delivering each fetched batch in one coroutine, raced once against flow suspension
    # (streams/worker/faust_tuning/consumer.py)
    batch_drain: bool = True
    # faust's conductor handing raw-bytes events to their stream without a lock, flow-control or producer
    # await per message unless one would wait (streams/worker/faust_tuning/conductor.py)
    lean_conductor: bool = True
    # Deprecated: TRANCHEWATCH_FAST_DRAIN set both of the above; still does, unless they are set themselves.
    fast_drain: bool | None = None
    # faust's opt-in `cython_optimizations` (0.15.3): the stream iterator takes an event already in the
    # buffer without awaiting the channel. Opt-in upstream because it is new; a switch to turn it off.
    cython_fast_paths: bool = True
    # The fetch long-poll: faust's 1,500 ms delays every event by up to that much on a broker that answers
    # a fetch only when the wait ends (Tansu); None keeps faust's value.
    fetch_max_wait_ms: int | None = Field(20, ge=1, le=60_000)
    # Records of a partition that cannot be fetched or decoded are retried after 0.5 s, doubling up to this.
    fetch_retry_max_seconds: float = Field(10.0, gt=0, le=300)
    # read_committed: records of an upstream transaction are read only once it commits, never if it aborts.
    kafka_isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    # Documents kept in process between batches (version-checked against Redis on every load); 0: none.
    state_cache_entries: int = Field(100_000, ge=0)

    # Connection security (see README, Reliability): Redis AUTH/TLS and Kafka SASL/SSL.
    redis_password: SecretStr | None = None  # when the URL carries none
    redis_ssl_ca_file: Path | None = None  # rediss:// URLs only
    redis_ssl_cert_file: Path | None = None
    redis_ssl_key_file: Path | None = None
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_check_hostname: bool = True

    rules_file: Path | None = None
    # CSV `portfolio,tranche_id,holding_face` (streams/model/positions.py): holdings for the watchlist, the
    # exposures, alert evidence and routing; read at start (invalid: the worker exits) and on SIGHUP.
    positions_file: Path | None = None
    # Receivers, routes, grouping, inhibition (alerts/routing/routes.py); unset: log, abs.alerts and the webhook.
    routing_file: Path | None = None
    # Bearer token of the alerts API; unset, the API is read-only (mutating endpoints refuse). Set but empty
    # (Compose's `${X:-}`), the worker refuses to start (`empty_api_token`): never a token of "".
    api_token: SecretStr | None = None
    # With a token: the read-only state API (tranches, issuers, watchlist) needs it too (positions are sensitive).
    api_token_for_reads: bool = False
    notify_retry_max_seconds: float = Field(60.0, gt=0)
    # Notices per publish to abs.alerts; a restart reads back twice this many records per partition.
    notify_batch_size: int = Field(500, ge=1, le=10_000)
    # Records per partition of the dead-letter topic read back before re-publishing a redelivered message's
    # dead letter (streams/ingest/deadletter.py): must exceed what the topic takes in a second.
    deadletter_read_back: int = Field(10_000, ge=1)
    # Event ids are remembered this long (event time, before their topic's newest) to drop duplicates; a
    # redelivery from Kafka is known by its offset however old (streams/engine/pipeline.py).
    dedup_retention_days: float = Field(7.0, gt=0)
    # A matured tranche retires (alerts resolved, document compacted to a tombstone, price history deleted)
    # once the event-time clock passes midnight of its maturity date plus this (streams/engine/retire.py).
    retire_after_days: float = Field(30.0, ge=0)
    # n > 0: a batch's offsets move only after n replicas acknowledged its commit (WAIT, up to the timeout);
    # on a timeout the batch is retried, never acknowledged (README, Reliability).
    redis_min_replicas: int = Field(0, ge=0)
    redis_replica_wait_ms: int = Field(1000, ge=1)
    # Redis through Sentinel (streams/redis_client.py): `host:port,...` of the sentinels and the name they
    # monitor the primary under; the URL then gives only the database, credentials and scheme.
    redis_sentinels: str | None = None
    redis_sentinel_service: str | None = None
    log_level: str = "INFO"
    per_tranche_metrics: bool = False
    # Exposure gauges (streams/worker/gauges.py): every this many seconds a worker reads every state document,
    # as GET /api/v1/exposures does (O(tranches): see README, Metrics); 0: no exposure gauges.
    exposure_metrics_seconds: float = Field(60.0, ge=0, le=86_400)
    # Keys exported by name per grouping: these (comma-separated), else the `top` largest by outstanding
    # principal; the rest summed under `other`, so the series stay bounded whatever the market holds.
    exposure_metrics_top: int = Field(10, ge=1, le=100)
    exposure_metrics_provinces: str | None = None
    exposure_metrics_asset_types: str | None = None
    # Reads of every state document (the watchlist, tranche list, exposures, issuer and deal rows, the web
    # pages; streams/views/scan.py): one at a time per worker, parsed in a thread, each answer kept this many
    # seconds for the same request (a burst of page loads costs one read); 0: nothing kept.
    scan_cache_seconds: float = Field(3.0, ge=0, le=300)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object, info: ValidationInfo) -> object:
        # Compose and Kubernetes pass an unset variable as "", which means "no Slack", not a Slack at "":
        # an empty (or blank) value of any setting is unset, its default. The API token alone is kept as
        # given, so that the worker can refuse it by name (`empty_api_token`) instead of running open.
        if isinstance(value, str) and not value.strip() and info.field_name != "api_token":
            raise PydanticUseDefault()
        return value

    @model_validator(mode="before")
    @classmethod
    def _fast_drain_sets_both(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("fast_drain") is not None:
            warnings.warn(
                "TRANCHEWATCH_FAST_DRAIN is deprecated: set TRANCHEWATCH_BATCH_DRAIN and "
                "TRANCHEWATCH_LEAN_CONDUCTOR (it sets both, unless they are set themselves)",
                FutureWarning,  # shown by default: it is meant for whoever runs the service
                stacklevel=2,
            )
            data = {"batch_drain": data["fast_drain"], "lean_conductor": data["fast_drain"], **data}
        return data

    @model_validator(mode="after")
    def _sasl_complete(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL_"):
            missing = [
                name
                for name in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"kafka_security_protocol={self.kafka_security_protocol} needs {', '.join(missing)}"
                )
        return self

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_addresses_parse(cls, value: str | None) -> str | None:
        if value is not None:
            _addresses(value)  # raises naming the entry that is not host:port
        return value

    @model_validator(mode="after")
    def _sentinels_name_their_service(self) -> Settings:
        if self.redis_sentinels and not self.redis_sentinel_service:
            raise ValueError(
                "TRANCHEWATCH_REDIS_SENTINELS needs TRANCHEWATCH_REDIS_SENTINEL_SERVICE "
                "(the name the sentinels monitor the primary under, as in `sentinel monitor <name> ...`)"
            )
        if self.redis_sentinel_service and not self.redis_sentinels:
            raise ValueError(
                "TRANCHEWATCH_REDIS_SENTINEL_SERVICE is set but TRANCHEWATCH_REDIS_SENTINELS is not "
                "(the sentinels' host:port,...)"
            )
        return self

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The sentinels as (host, port); empty when Redis is reached by its URL."""
        return _addresses(self.redis_sentinels) if self.redis_sentinels else []

    @model_validator(mode="after")
    def _reads_need_a_token(self) -> Settings:
        if self.api_token_for_reads and self.api_token is None:
            raise ValueError("api_token_for_reads needs TRANCHEWATCH_API_TOKEN")
        return self

    def empty_api_token(self) -> str | None:
        """Why the worker must not start with this token, or None: a token set to "" would make
        `Authorization: Bearer ` (nothing after it) the key to the mutating API."""
        if self.api_token is not None and not self.api_token.get_secret_value().strip():
            return "TRANCHEWATCH_API_TOKEN is set but empty: give it a value, or unset it for a read-only API"
        return None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            if not Path(config_file).is_file():
                raise FileNotFoundError(f"{CONFIG_FILE_ENV}={config_file}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    def as_dict(self, plaintext_secrets: bool = False) -> dict[str, Any]:
        data = self.model_dump()
        for name, value in data.items():
            if isinstance(value, SecretStr):
                data[name] = value.get_secret_value() if plaintext_secrets else "**********"
        return data


def _addresses(value: str) -> list[tuple[str, int]]:
    """`host:port,...` (an IPv6 host in brackets: `[::1]:26379`) as (host, port) pairs."""
    found = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{entry!r} is not host:port")
        found.append((host, int(port)))
    if not found:
        raise ValueError("no sentinel given")
    return found


def load_settings(command: str = "tranchewatch") -> Settings:
    """The settings from the environment, or exit naming each problem: every command starts this way.
    The values are not echoed, since one may be a secret."""
    try:
        return Settings()
    except ValidationError as exc:
        sys.exit(f"{command}: invalid settings:\n" + "\n".join(f"  {p}" for p in problems(exc)))
