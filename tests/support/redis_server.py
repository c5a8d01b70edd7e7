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
