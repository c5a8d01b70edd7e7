"""A real Alertmanager of the test's own (Debian's prometheus-alertmanager, installed by
scripts/ensure-services): a free loopback port, a temporary config and storage path, clustering off. Its v2
API is read back with plain HTTP, as an on-call engineer's tooling would."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from streams.kafka.broker import free_port

BINARIES = ("prometheus-alertmanager", "alertmanager")
# One receiver that goes nowhere: the tests read the API, not notifications.
CONFIG = """
global:
  resolve_timeout: 5m
route:
  receiver: blackhole
  group_by: [alertname]
receivers:
  - name: blackhole
"""


def binary() -> str | None:
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


class OwnAlertmanager:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> OwnAlertmanager:
        path = binary()
        if path is None:
            raise RuntimeError("Alertmanager is not installed (Debian package prometheus-alertmanager)")
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "alertmanager.yml"
        config.write_text(CONFIG)
        command = [
            path,
            f"--config.file={config}",
            f"--storage.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip port: several test runs share this machine
        ]
        log = (self.directory / "alertmanager.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited with {self.process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"alertmanager on port {self.port} did not get ready within {timeout:.0f}s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """GET /api/v2/alerts: active (firing) alerts by default; `active="false", inactive="true"`..."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts?{query}", timeout=5) as reply:
            return list(json.load(reply))

    def firing(self) -> dict[str, dict[str, Any]]:
        """Active alerts by fingerprint label and severity: 'fp|critical' -> the alert."""
        found = self.alerts(active="true", silenced="true", inhibited="true", unprocessed="true")
        return {f"{a['labels']['fingerprint']}|{a['labels']['severity']}": a for a in found}
