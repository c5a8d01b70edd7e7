"""The alerts HTTP API, framework-free: `handle(method, path, ...)` returns a status and a JSON body, so it is
tested without a server and mounted by streams/worker/web.py on the worker's web port.

Paths are relative to the API root (mounted at /api/v1, beside the read-only state API):

    GET    /alerts[?state=firing|acknowledged|resolved]   GET /alerts/{fingerprint}
    POST   /alerts/{fingerprint}/ack     {"by": "...", "comment": "..."}
    GET    /silences[?all=1]             POST /silences  {"matchers": [...], "created_by": "...",
                                         "comment": "...", "ends_at": "...", "recurring": null}
    DELETE /silences/{id}                (expires it)
    GET    /failures

Authentication: `Authorization: Bearer <TRANCHEWATCH_API_TOKEN>`, compared in constant time (alerts/ops/auth.py;
an empty credential is never accepted, an empty token never configured). With a token set, every endpoint
needs it; with none, reads are open and mutating endpoints refuse (403).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from alerts.core.validation import problems
from alerts.exceptions import Conflict, NotFound
from alerts.ops.auth import BearerToken
from alerts.ops.service import AlertsService


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """One answer of an HTTP API, this one's and the state API's: a status, a body (a pydantic model, or data
    that serialises as JSON) and extra headers. streams/worker/web.py turns it into faust's response."""

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, message: str, *headers: tuple[str, str]) -> ApiResponse:
    return ApiResponse(status, {"error": message}, headers)


class AlertsApi:
    def __init__(self, service: AlertsService, token: SecretStr | None) -> None:
        self.service = service
        self._token = BearerToken.optional(token)

    async def handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        query: Mapping[str, str] = {},
    ) -> ApiResponse:
        method = method.upper()
        mutating = method not in ("GET", "HEAD")
        denied = self._check(headers, mutating)
        if denied is not None:
            return denied
        parts = [p for p in path.split("?")[0].split("/") if p]
        try:
            return await self._route(method, parts, body, query)
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            return _error(400, _brief(exc))
        except NotFound as exc:
            return _error(404, str(exc))
        except Conflict as exc:
            return _error(409, str(exc))

    def _check(self, headers: Mapping[str, str], mutating: bool) -> ApiResponse | None:
        if self._token is None:
            return (
                _error(403, "no API token configured: mutating endpoints are disabled") if mutating else None
            )
        if not self._token.accepts(headers):
            return _error(401, "missing or wrong bearer token", ("WWW-Authenticate", "Bearer"))
        return None

    async def _route(
        self, method: str, parts: list[str], body: bytes, query: Mapping[str, str]
    ) -> ApiResponse:
        svc = self.service
        match method, parts:
            case "GET", ["alerts"]:
                state = query.get("state")
                if state not in (None, "firing", "acknowledged", "resolved"):
                    return _error(400, f"unknown state {state!r}")
                return ApiResponse(200, await svc.list_alerts(state))  # type: ignore[arg-type]
            case "GET", ["alerts", fingerprint]:
                found = await svc.show(fingerprint)
                return ApiResponse(200, found) if found else _error(404, f"no alert {fingerprint!r}")
            case "POST", ["alerts", fingerprint, "ack"]:
                data = _json(body)
                ack = await svc.acknowledge(
                    fingerprint, str(data.get("by") or ""), str(data.get("comment", ""))
                )
                return ApiResponse(200, ack.model_dump(mode="json"))
            case "GET", ["silences"]:
                return ApiResponse(
                    200, await svc.list_silences(include_expired=query.get("all") in ("1", "true"))
                )
            case "POST", ["silences"]:
                data = _json(body)
                silence = await svc.add_silence(
                    matchers=list(data.get("matchers") or []),
                    created_by=str(data.get("created_by") or ""),
                    comment=str(data.get("comment") or ""),
                    ends_at=_time(data.get("ends_at")),
                    starts_at=_time(data["starts_at"]) if data.get("starts_at") else None,
                    recurring=data.get("recurring"),
                )
                return ApiResponse(201, silence.model_dump(mode="json"))
            case "DELETE", ["silences", silence_id]:
                return ApiResponse(200, (await svc.expire_silence(silence_id)).model_dump(mode="json"))
            case "GET", ["failures"]:
                return ApiResponse(200, await svc.failures(int(query.get("limit", "100"))))
        return _error(
            404 if method in ("GET", "POST", "DELETE") else 405,
            f"no endpoint {method} /{'/'.join(parts)}",
        )


def _json(body: bytes) -> dict[str, Any]:
    data = json.loads(body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("ends_at is required, ISO-8601 with an offset")
    when = dt.datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"{value!r} needs a UTC offset")
    return when


def _brief(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(problems(exc))
    return str(exc)
