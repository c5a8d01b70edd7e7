"""What TRANCHEWATCH_REDIS_MIN_REPLICAS buys, on a primary and a replica of the test's own (redis-server on
loopback ports). The replica is frozen (SIGSTOP) so that it lags, the primary is killed, and the replica,
killed too, restarts on its own AOF as the new primary (what a lagging replica holds when promoted):

- with 0 (the default) the commit is acknowledged at once, and it is not on the promoted replica: a worker
  would have moved its offsets past events whose state no longer exists;
- with 1 the same commit raises NotReplicated, so the batch is held and retried, never acknowledged, and
  once a replica answers it is confirmed (or, after a failover, applied again on the new primary).

A demonstration with a real answer, not a race: the replica cannot acknowledge while it is stopped.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from streams.state.snapshot import Commit
from streams.state.store import NotReplicated, RedisStore
from tests.support.redis_server import OwnRedis
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
PREFIX = "tw:"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[OwnRedis, OwnRedis]]:
    # No diskless-sync delay: the primary would otherwise wait 5 s for more replicas before the first sync.
    primary = OwnRedis(tmp_path / "primary", extra_args=("--repl-diskless-sync-delay", "0")).start()
    replica = OwnRedis(tmp_path / "replica", extra_args=("--replicaof", "127.0.0.1", str(primary.port)))
    replica.start()
    # In sync *and* past the AOF rewrite that follows a full sync: before it, what the replica applies goes to
    # a temporary AOF file a restart does not load (the cause of this test's old flakiness).
    replica.wait_replica_durable()
    yield primary, replica
    for server in (replica, primary):
        if server.process is not None and server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def ids(*event_ids: str) -> Commit:
    return Commit({}, {}, [("bond.quotes", e) for e in event_ids], [])


async def test_min_replicas_0_acknowledges_what_a_failover_loses_and_1_refuses_it(
    pair: tuple[OwnRedis, OwnRedis],
) -> None:
    primary, replica = pair
    client = Redis.from_url(primary.url)
    lenient = RedisStore(client, PREFIX)
    # A generous WAIT where the replica is expected to answer (WAIT returns as soon as it does: the timeout
    # costs nothing then, and a loaded machine can take more than a second); a short one where it cannot.
    patient = RedisStore(client, PREFIX, min_replicas=1, replica_wait_ms=30_000)
    durable = RedisStore(client, PREFIX, min_replicas=1, replica_wait_ms=300)
    try:
        assert await patient.commit(ids("q-1"))  # both up: acknowledged by the replica
        assert replica.process is not None
        # WAIT counts the replica's acknowledgement, which may come before its AOF write: wait for the write
        # in a file its manifest lists, so that freezing it now cannot lose what it acknowledged (the point is
        # what it had not read).
        wait_for(lambda: replica.aof_holds(b"q-1"), timeout=30, what="q-1 in the replica's AOF")
        os.kill(replica.process.pid, signal.SIGSTOP)  # the replica lags from here
        assert await lenient.commit(ids("q-2"))  # MIN_REPLICAS=0: acknowledged, offsets would move
        with pytest.raises(NotReplicated, match="0 of 1 replicas"):
            await durable.commit(ids("q-3"))  # MIN_REPLICAS=1: not acknowledged, the batch is retried
        with pytest.raises(NotReplicated):
            await durable.confirm()  # still unconfirmed: a retry that finds nothing to write holds too
    finally:
        await client.aclose()
    primary.stop(signal.SIGKILL)  # the primary dies before the replica caught up
    # The replica never processes what it had not read when it froze: killed too, and started again on its
    # own AOF as the new primary, it holds what it had applied (what a lagging replica promoted holds).
    replica.stop(signal.SIGKILL)
    promoted = OwnRedis(replica.directory, port=replica.port).start()
    try:
        with promoted.client() as client_of_new:
            survivors = {m.decode() for m in client_of_new.zrange(f"{PREFIX}ids:bond.quotes", 0, -1)}
    finally:
        promoted.stop()
    # q-1 was confirmed by the replica; q-2 (acknowledged under MIN_REPLICAS=0) and q-3 are gone. Only q-3's
    # batch was held: its events are read again and applied on the new primary.
    assert survivors == {"q-1"}
