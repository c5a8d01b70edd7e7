"""A local stand-in for Slack: the incoming webhook (any POST outside /api/) and the Web API methods
chat.postMessage and chat.update (POST /api/<method>). Records what it accepted and when; answers what the
test scripts, or 500 while `down` is set (an outage)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class ScriptedReply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    authorization: str


class SlackStub:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each accepted webhook post
        self.attempts = 0
        self.replies: deque[ScriptedReply] = deque()
        self.api_calls: list[ApiCall] = []
        self.api_replies: deque[ScriptedReply] = deque()
        self.down = False
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if self.path.startswith("/api/"):
                    status, text, headers = stub._web_api(self.path[5:], body, self.headers)
                else:
                    status, text, headers = stub._webhook(body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header(
                    "Content-Type", "application/json" if self.path.startswith("/api/") else "text/plain"
                )
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _webhook(self, body: bytes) -> tuple[int, str, dict[str, str]]:
        with self._lock:
            self.attempts += 1
            if self.down:
                return 500, "outage", {}
            reply = self.replies.popleft() if self.replies else ScriptedReply()
            if 200 <= reply.status < 300:
                self.received.append(json.loads(body))
                self.arrivals.append(time.monotonic())
            return reply.status, reply.body, reply.headers

    def _web_api(self, method: str, body: bytes, headers: Any) -> tuple[int, str, dict[str, str]]:
        try:
            args = (
                json.loads(body)
                if body.startswith(b"{")
                else {k: v[0] for k, v in parse_qs(body.decode()).items()}
            )
        except ValueError:
            args = {}
        with self._lock:
            if self.down:
                return 500, json.dumps({"ok": False, "error": "fatal_error"}), {}
            if self.api_replies:
                reply = self.api_replies.popleft()
                return reply.status, reply.body, reply.headers
            self.api_calls.append(ApiCall(method, args, headers.get("Authorization", "")))
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return 200, json.dumps({"ok": True, "channel": args.get("channel", "C1"), "ts": ts}), {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/hooks-secret-token"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def script(self, *replies: ScriptedReply) -> None:
        self.replies.extend(replies)

    def start(self) -> SlackStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
