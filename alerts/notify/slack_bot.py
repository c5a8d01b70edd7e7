"""Slack through a bot token and the Web API: one message per incident, posted when it first fires, updated
in place (chat.update) at every transition, each transition also a reply in the incident's thread.

The incident's message ts is kept in Redis under (fingerprint, starts_at), so a restarted worker updates the
same message. 429 and 5xx are retried (Retry-After honoured); channel_not_found, invalid_auth and the like
are permanent. The token never leaves the client: errors and logs are redacted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp
from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from alerts.core.model import Alert
from alerts.exceptions import Permanent, Retryable
from alerts.notify.slack import _seconds
from alerts.notify.templates import line, slack_message
from alerts.redact import install_redaction, redact

_RETRYABLE_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackBotSink:
    name = "slack"

    def __init__(
        self,
        token: str,
        channel: str,
        redis: Redis,
        key: str,
        *,
        base_url: str | None = None,
        min_interval_seconds: float = 1.0,
        timeout: int = 10,
    ) -> None:
        install_redaction([token])  # slack-sdk's logs: the process's one redaction filter (alerts/redact.py)
        self._token = token
        self._channel = channel
        self._redis = redis
        self._key = key  # hash: "fingerprint|starts_at" -> ts of the incident's message
        self.min_interval_seconds = min_interval_seconds
        self._client = AsyncWebClient(
            token=token,
            base_url=base_url or "https://slack.com/api/",
            timeout=timeout,
            retry_handlers=[],
            logger=logging.getLogger("tranchewatch.slack_sdk"),
        )

    async def _post_or_update(self, alert: Alert) -> None:
        incident = f"{alert.fingerprint}|{alert.starts_at.isoformat()}"
        raw = await self._redis.hget(self._key, incident)
        message = slack_message(alert)
        if raw is None:
            ts = await self._call("chat_postMessage", channel=self._channel, **message)
            await self._redis.hset(self._key, incident, ts)
            return
        ts = raw.decode() if isinstance(raw, bytes) else str(raw)
        await self._call("chat_update", channel=self._channel, ts=ts, **message)
        await self._call("chat_postMessage", channel=self._channel, thread_ts=ts, text=line(alert))
        if alert.status == "resolved":
            await self._redis.hdel(self._key, incident)  # the incident is over; a new firing starts afresh

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        # Routes to bot receivers cannot group (alerts/routing/routes.py), so this is one notice.
        for alert in alerts:
            await self._post_or_update(alert)

    async def _call(self, method: str, **kwargs: object) -> str:
        try:
            response = await getattr(self._client, method)(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
            reason = redact(f"slack {method} answered {status} {error}".strip(), [self._token])
            if status == 429 or status >= 500 or error in _RETRYABLE_ERRORS:
                headers = exc.response.headers or {}
                retry_after = headers.get("Retry-After") or headers.get("retry-after")
                raise Retryable(reason, _seconds(retry_after)) from None
            raise Permanent(reason) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Retryable(redact(f"slack {method} unreachable: {exc!r}", [self._token])) from None
        return str(response.get("ts", ""))

    async def close(self) -> None:
        if self._client.session is not None:
            await self._client.session.close()
