"""Every Redis client the service opens is built here: from TRANCHEWATCH_REDIS_URL, or through Sentinel.

With TRANCHEWATCH_REDIS_SENTINELS the client asks the sentinels for the primary of
TRANCHEWATCH_REDIS_SENTINEL_SERVICE on every new connection (redis-py's `Sentinel.master_for`). A failover
breaks the connections to the old primary; the next command's connection goes to the new one, and a primary
demoted to replica answers writes with READONLY, which redis-py turns into a reconnection too. Whoever gets
the error meanwhile retries as for any outage (the batch handler holds the batch, never acknowledging it).
The URL still gives the database, the user and password and the scheme (`rediss://` turns TLS on); its host
and port are not used.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import unquote, urlsplit

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel
from redis.sentinel import Sentinel as SyncSentinel

from streams.security import redis_options
from streams.settings import Settings


def async_redis(settings: Settings, **options: Any) -> Redis:
    """An asyncio client of the configured Redis; `options` are redis-py connection options (timeouts)."""
    kwargs = redis_options(settings) | options
    url = settings.redis_url.get_secret_value()
    if not settings.redis_sentinels:
        return Redis.from_url(url, **kwargs)
    # redis-py's Sentinel classes carry no annotations.
    sentinel = Sentinel(settings.sentinel_addresses(), sentinel_kwargs=_sentinel_kwargs(options))  # type: ignore[no-untyped-call]
    client = sentinel.master_for(_service(settings), redis_class=Redis, **_through_sentinel(url, kwargs))
    return cast(Redis, client)


def sync_redis(settings: Settings, **options: Any) -> SyncRedis:
    """The same as async_redis, for the synchronous commands (migrations, checks at start)."""
    kwargs = redis_options(settings) | options
    url = settings.redis_url.get_secret_value()
    if not settings.redis_sentinels:
        return SyncRedis.from_url(url, **kwargs)
    sentinel = SyncSentinel(settings.sentinel_addresses(), sentinel_kwargs=_sentinel_kwargs(options))  # type: ignore[no-untyped-call]
    client = sentinel.master_for(_service(settings), redis_class=SyncRedis, **_through_sentinel(url, kwargs))  # type: ignore[no-untyped-call]
    return cast(SyncRedis, client)


def _service(settings: Settings) -> str:
    assert settings.redis_sentinel_service is not None  # Settings refuses sentinels without a service
    return settings.redis_sentinel_service


def _sentinel_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    # The sentinels get the timeouts only: they run without the data's password in the shipped deployments.
    return {k: v for k, v in options.items() if k.startswith("socket_")}


def _through_sentinel(url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The connection options of the URL but its address, which the sentinels give instead."""
    parts = urlsplit(url)
    found: dict[str, Any] = {}
    if parts.username:
        found["username"] = unquote(parts.username)
    if parts.password:
        found["password"] = unquote(parts.password)
    database = parts.path.strip("/")
    if database:
        found["db"] = int(database)
    if parts.scheme == "rediss":
        found["ssl"] = True
    # What the URL says wins, as with from_url: TRANCHEWATCH_REDIS_PASSWORD is for a URL that carries none.
    return kwargs | found
