"""Every Redis client comes from one place, by URL or through Sentinel, with the same credentials and TLS."""

from __future__ import annotations

import pytest
import redis
from redis.asyncio.sentinel import SentinelConnectionPool, SentinelManagedSSLConnection
from redis.sentinel import SentinelConnectionPool as SyncSentinelConnectionPool

from streams.redis_client import async_redis, sync_redis
from streams.settings import Settings

SENTINELS = "127.0.0.1:26379,sentinel-2:26380"


def through_sentinel(**overrides: object) -> Settings:
    return Settings(redis_sentinels=SENTINELS, redis_sentinel_service="tw-primary", **overrides)  # type: ignore[arg-type]


async def test_without_sentinels_the_url_is_used() -> None:
    client = async_redis(Settings(redis_url="redis://cache.internal:6390/3"), socket_timeout=5)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == (
        "cache.internal",
        6390,
        3,
        5,
    )
    await client.aclose()


async def test_through_sentinel_the_url_gives_database_and_credentials_not_the_address() -> None:
    settings = through_sentinel(redis_url="redis://app:pa55@ignored.invalid:1/2")
    client = async_redis(settings, socket_timeout=5)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.is_master
    assert pool.service_name == "tw-primary"
    kwargs = pool.connection_kwargs
    assert (kwargs["db"], kwargs["username"], kwargs["password"], kwargs["socket_timeout"]) == (
        2,
        "app",
        "pa55",
        5,
    )
    assert "host" not in kwargs and "port" not in kwargs
    sentinels = pool.sentinel_manager.sentinels
    assert [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ] == [
        ("127.0.0.1", 26379),
        ("sentinel-2", 26380),
    ]
    # The sentinels get the timeouts, not the data's password.
    assert all(s.connection_pool.connection_kwargs.get("password") is None for s in sentinels)
    await client.aclose()


async def test_through_sentinel_the_password_setting_and_tls_apply() -> None:
    settings = through_sentinel(redis_url="rediss://ignored.invalid/0", redis_password="from-setting")
    client = async_redis(settings)
    pool = client.connection_pool
    assert pool.connection_class is SentinelManagedSSLConnection
    assert pool.connection_kwargs["password"] == "from-setting"
    await client.aclose()


def test_sync_client_through_sentinel() -> None:
    client = sync_redis(through_sentinel(), socket_timeout=3)
    pool = client.connection_pool
    assert isinstance(pool, SyncSentinelConnectionPool) and pool.service_name == "tw-primary"
    assert pool.connection_kwargs["db"] == 0
    client.close()


async def test_no_sentinel_answering_is_a_connection_error_the_worker_retries() -> None:
    # MasterNotFoundError is a ConnectionError, so the batch handler's retry (RedisError) covers a failover
    # in progress, when no sentinel names a primary yet.
    settings = Settings(redis_sentinels="127.0.0.1:1", redis_sentinel_service="tw-primary")
    client = async_redis(settings, socket_connect_timeout=1, socket_timeout=1)
    with pytest.raises(redis.ConnectionError):
        await client.ping()
    await client.aclose()
