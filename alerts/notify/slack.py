"""Slack through an incoming webhook, with slack-sdk. 2xx delivered; 429 and 5xx retried; the rest
permanent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from alerts.core.model import Alert
from alerts.exceptions import Permanent, Retryable
from alerts.notify.templates import digest_message, group_message
from alerts.redact import install_redaction, redact


class SlackWebhookSink:
    name = "slack"

    def __init__(self, url: str, *, min_interval_seconds: float = 1.0, timeout: int = 10) -> None:
        self._url = url
        # Our own retries and pacing only. slack-sdk logs the URL at DEBUG: the process's one redaction
        # filter (alerts/redact.py) takes it out, wherever this client is built.
        install_redaction([url])
        self._client = AsyncWebhookClient(
            url, timeout=timeout, retry_handlers=[], logger=logging.getLogger("tranchewatch.slack_sdk")
        )
        # Slack allows about one message per second per webhook.
        self.min_interval_seconds = min_interval_seconds

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        await self._post(group_message(list(alerts), title))

    async def digest(self, title: str, alerts: Sequence[Alert]) -> None:
        await self._post(digest_message(title, list(alerts)))

    async def _post(self, message: dict[str, Any]) -> None:
        try:
            response = await self._client.send(text=message["text"], blocks=message["blocks"])
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Retryable(redact(f"slack webhook unreachable: {exc!r}", [self._url])) from None
        status, body = response.status_code, redact(str(response.body)[:200], [self._url])
        if 200 <= status < 300:
            return
        if status == 429:
            retry_after = response.headers.get("retry-after") or response.headers.get("Retry-After")
            raise Retryable(f"slack rate limited (429): {body}", _seconds(retry_after))
        if status >= 500:
            raise Retryable(f"slack answered {status}: {body}")
        raise Permanent(f"slack refused the message ({status}): {body}")

    async def close(self) -> None:
        return None


def _seconds(value: object) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(str(value))) if value is not None else None
    except ValueError:
        return None
