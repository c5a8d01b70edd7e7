"""A replicated Redis of the test's own: a primary, replicas and Sentinel, all Debian's redis-server on free
loopback ports in a temporary directory, stopped by pid (never the shared Redis on 6379)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from streams.kafka.broker import free_port
from tests.support.redis_server import OwnRedis
from tests.support.wait import wait_for

SERVICE = "tw-primary"


class SentinelProcess:
    """`redis-server sentinel.conf --sentinel`, monitoring one primary under SERVICE."""

    def __init__(self, directory: Path, primary_port: int, down_after_ms: int) -> None:
        self.directory = directory
        self.port = free_port()
        self.primary_port = primary_port
        self.down_after_ms = down_after_ms
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SentinelProcess:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "sentinel.conf"  # Sentinel rewrites its file: it has to be its own
        config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    f"dir {self.directory}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 1",
                    f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}",
                    # How long a failover may take before another is tried; replicas re-point in parallel.
                    f"sentinel failover-timeout {SERVICE} 20000",
                    f"sentinel parallel-syncs {SERVICE} 2",
                ]
            )
            + "\n"
        )
        log = (self.directory / "sentinel.log").open("ab")
        self.process = subprocess.Popen(
            [binary, str(config), "--sentinel"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(self._answers, timeout=20, what=f"sentinel on port {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"sentinel exited with {self.process.returncode}; see {self.directory}")
        try:
            with self.client() as probe:
                return bool(probe.ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=20)


class ReplicatedRedis:
    """A primary, `replicas` replicas and `sentinels` sentinels (quorum 1: a failover needs one of them)."""

    def __init__(self, directory: Path, *, replicas: int = 2, sentinels: int = 1, down_after_ms: int = 3000):
        # down_after_ms: how long the primary must be silent to be judged down. Sentinel also refuses to promote
        # a replica whose link has been down for more than 10 times that: the cut_replication demonstration
        # freezes the replicas for several seconds of a loaded machine, so not less.
        # No AOF: what a failover keeps is what the live replicas hold. No diskless-sync delay: the primary
        # would wait 5 s for more replicas before each first sync.
        quick = ("--appendonly", "no", "--repl-diskless-sync-delay", "0")
        self.primary = OwnRedis(directory / "primary", extra_args=quick)
        self.replicas = [OwnRedis(directory / f"replica-{i}") for i in range(replicas)]
        self.directory = directory
        self.sentinel_count = sentinels
        self.down_after_ms = down_after_ms
        self.sentinels: list[SentinelProcess] = []
        self._quick = quick

    @property
    def servers(self) -> list[OwnRedis]:
        return [self.primary, *self.replicas]

    def start(self) -> ReplicatedRedis:
        self.primary.start()
        for replica in self.replicas:
            replica.extra_args = (*self._quick, "--replicaof", "127.0.0.1", str(self.primary.port))
            replica.start()
        for replica in self.replicas:
            wait_for(
                lambda r=replica: _info(r, "replication").get("master_link_status") == "up",  # type: ignore[misc]
                timeout=60,
                what=f"replica {replica.port} in sync",
            )
        for i in range(self.sentinel_count):
            self.sentinels.append(
                SentinelProcess(
                    self.directory / f"sentinel-{i}", self.primary.port, self.down_after_ms
                ).start()
            )
        # Each sentinel learns the replicas from the primary's INFO (every 10 s at first, so allow for it):
        # a sentinel that knows no replica cannot fail over.
        for sentinel in self.sentinels:
            wait_for(
                lambda s=sentinel: self._knows_replicas(s),  # type: ignore[misc]
                timeout=60,
                what=f"sentinel {sentinel.port} knowing {len(self.replicas)} replicas",
            )
        return self

    def _knows_replicas(self, sentinel: SentinelProcess) -> bool:
        with sentinel.client() as probe:
            known = probe.sentinel_slaves(SERVICE)
        healthy = [
            r for r in known if "s_down" not in str(r.get("flags")) and r.get("master-link-status") == "ok"
        ]
        return len(healthy) >= len(self.replicas)

    @property
    def sentinels_setting(self) -> str:
        """TRANCHEWATCH_REDIS_SENTINELS for these sentinels."""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def primary_port(self) -> int:
        """Where the sentinels say the primary is now."""
        with self.sentinels[0].client() as probe:
            address = probe.sentinel_get_master_addr_by_name(SERVICE)
        return int(address[1])

    def server_on(self, port: int) -> OwnRedis:
        return next(s for s in self.servers if s.port == port)

    def client(self) -> redis.Redis:
        """A client that follows the primary through Sentinel and rides out a failover (retries with backoff)."""
        sentinel = Sentinel([("127.0.0.1", s.port) for s in self.sentinels], socket_timeout=5)  # type: ignore[no-untyped-call]
        return cast(
            redis.Redis,
            sentinel.master_for(  # type: ignore[no-untyped-call]
                SERVICE,
                socket_timeout=5,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 240),
            ),
        )

    def cut_replication(self) -> None:
        """From here on nothing the primary writes reaches a replica: each is frozen (SIGSTOP), so it can
        neither read nor reconnect, and the primary drops their links, so nothing is even buffered for them.
        What a lagging replica misses, made deterministic."""
        for replica in self.replicas:
            assert replica.process is not None
            os.kill(replica.process.pid, signal.SIGSTOP)
        with self.server_on(self.primary_port()).client() as primary:
            primary.client_kill_filter(_type="replica")

    def resume_replicas(self) -> None:
        for replica in self.replicas:
            if replica.process is not None and replica.process.poll() is None:
                os.kill(replica.process.pid, signal.SIGCONT)

    def fail_over(self, timeout: float = 90.0, resume: bool = False) -> tuple[int, float]:
        """SIGKILLs the primary and waits for a replica promoted in its place, with another replica following
        it; returns the new primary's port and how long that took (seconds). `resume`: the replicas were
        frozen by cut_replication and go on once the primary is dead."""
        old = self.primary_port()
        killed_at = time.monotonic()
        self.server_on(old).stop(signal.SIGKILL)
        if resume:
            self.resume_replicas()
        new = wait_for(
            lambda: (port := self.primary_port()) != old and port,
            timeout=timeout,
            what="a replica promoted by Sentinel",
        )
        promoted = self.server_on(new)
        wait_for(
            lambda: (
                _info(promoted, "replication").get("role") == "master"
                and int(str(_info(promoted, "replication").get("connected_slaves", 0))) >= 1
            ),
            timeout=timeout,
            what="the new primary with a replica",
        )
        return new, time.monotonic() - killed_at

    def stop(self) -> None:
        self.resume_replicas()
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()


def _info(server: OwnRedis, section: str) -> dict[str, object]:
    try:
        with server.client() as probe:
            return dict(probe.info(section))
    except redis.RedisError:
        return {}
