"""A redis-server of the test's own (free port, AOF in a temporary directory), to stop and start at will.

The shared Redis on 6379 is never stopped or flushed: other test runs use it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from streams.kafka.broker import free_port
from tests.support.wait import wait_for


class OwnRedis:
    def __init__(
        self,
        directory: Path,
        *,
        password: str | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.directory = directory
        self.password = password
        self.extra_args = extra_args  # e.g. ("--maxmemory-policy", "allkeys-lru"), ("--rename-command", ...)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5)

    def start(self, timeout: float = 20.0) -> OwnRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        command += self.extra_args
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {log.name}")
            try:
                with self.client() as probe:
                    if probe.ping():
                        return self
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout:.0f}s")

    def wait_replica_durable(self, timeout: float = 60.0) -> None:
        """Waits until this freshly started replica is in sync and its AOF would bring back what it holds.

        After the full resynchronisation, a replica with appendonly rewrites its AOF in the background, and
        until that rewrite is done its writes go to a temporary incr file that the manifest does not list yet
        (Redis 7's multi-part AOF): killed then, it restarts on its empty pre-sync AOF and holds nothing.
        So "link up" is not enough; the rewrite that follows the sync has to be finished too.
        """

        def durable() -> bool:
            with self.client() as probe:
                replication = probe.info("replication")
                persistence = probe.info("persistence")
            return (
                replication.get("master_link_status") == "up"
                and not replication.get("master_sync_in_progress")
                and int(persistence.get("aof_rewrites", 0)) >= 1
                and not persistence.get("aof_rewrite_in_progress")
                and not persistence.get("aof_rewrite_scheduled")
            )

        wait_for(
            durable, timeout=timeout, what=f"the replica on port {self.port} in sync with its AOF rewritten"
        )

    def aof_holds(self, needle: bytes) -> bool:
        """Whether the AOF files the manifest lists (what a restart loads) contain `needle`."""
        folder = self.directory / "appendonlydir"
        manifests = list(folder.glob("*.manifest"))
        if not manifests:
            return False
        listed = [
            line.split()[1] for line in manifests[0].read_text().splitlines() if line.startswith("file ")
        ]
        return any(needle in (folder / name).read_bytes() for name in listed if (folder / name).is_file())

    def stop(self, sig: int = signal.SIGKILL) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
