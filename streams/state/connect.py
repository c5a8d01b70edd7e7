"""Every Redis client tranchewatch opens, from settings: a URL, or the primary Sentinel names.

With `TRANCHEWATCH_REDIS_SENTINELS` (`host:port,…`) and `TRANCHEWATCH_REDIS_SENTINEL_SERVICE`, clients ask the
Sentinels for the service's primary (redis-py's SentinelConnectionPool) and ask again when a connection
fails or the node they reach has become a replica, so a failover is an outage of a few seconds that the
worker waits out like any other (streams/engine/pipeline.py holds the batch and retries). The URL then
gives only the database number and the password; the password (URL or TRANCHEWATCH_REDIS_PASSWORD) is
the data nodes', and TLS settings apply to them as for a URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel

from streams.security import redis_options
from streams.settings import Settings


def sentinel_hosts(settings: Settings) -> list[tuple[str, int]]:
    """The configured Sentinels as (host, port); empty without TRANCHEWATCH_REDIS_SENTINELS."""
    if not settings.redis_sentinels:
        return []
    hosts: list[tuple[str, int]] = []
    for item in settings.redis_sentinels.split(","):
        host, _, port = item.strip().rpartition(":")
        hosts.append((host.strip("[]") or "127.0.0.1", int(port or 26379)))
    return hosts


def _node_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Database, password and TLS of the data nodes, from the URL and the security settings."""
    url = urlsplit(settings.redis_url.get_secret_value())
    options: dict[str, Any] = {"db": int(url.path.strip("/") or 0)}
    if url.password:
        options["password"] = unquote(url.password)
    if url.username:
        options["username"] = unquote(url.username)
    options |= redis_options(settings)
    if url.scheme == "rediss":
        options["ssl"] = True
    return options | overrides


def async_client(settings: Settings, **overrides: Any) -> redis.asyncio.Redis:
    """An asyncio client of the primary (`overrides`: socket timeouts and the like)."""
    hosts = sentinel_hosts(settings)
    if not hosts:
        return redis.asyncio.Redis.from_url(
            settings.redis_url.get_secret_value(), **(redis_options(settings) | overrides)
        )
    sentinel = redis.asyncio.sentinel.Sentinel(
        hosts, socket_timeout=overrides.get("socket_timeout", 5), socket_connect_timeout=5
    )
    assert settings.redis_sentinel_service is not None  # Settings checks it comes with the Sentinels
    return sentinel.master_for(settings.redis_sentinel_service, **_node_options(settings, **overrides))


def sync_client(settings: Settings, **overrides: Any) -> redis.Redis:
    """The same, blocking: for the commands and the checks made before the event loop starts."""
    hosts = sentinel_hosts(settings)
    if not hosts:
        return redis.Redis.from_url(
            settings.redis_url.get_secret_value(), **(redis_options(settings) | overrides)
        )
    sentinel = redis.sentinel.Sentinel(
        hosts, socket_timeout=overrides.get("socket_timeout", 5), socket_connect_timeout=5
    )
    assert settings.redis_sentinel_service is not None
    return sentinel.master_for(settings.redis_sentinel_service, **_node_options(settings, **overrides))
