"""Keeps secrets out of logs, metrics and error messages: `redact` for a string, and one logging filter.

The filter is installed once per process, through the log record factory, so it holds for every logger
(faust's and the Kafka and Slack clients' included) and survives faust reconfiguring the handlers: by the
worker and the rebuild at start with every secret of the settings and the routing file; a Slack client adds
its own secret to it wherever it is built (slack-sdk logs the webhook URL at DEBUG). Beside the
configured values it removes anything shaped like a webhook URL, a Slack token or a password in a URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

_WEBHOOK = re.compile(r"https?://[^\s'\"]*hooks[^\s'\"]*", re.IGNORECASE)
_TOKEN = re.compile(r"xox[abposr]-[A-Za-z0-9-]+")
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.IGNORECASE
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    text = _WEBHOOK.sub("<redacted-webhook>", text)
    text = _TOKEN.sub("<redacted-token>", text)
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:<redacted>@", text)


def secret_values(config: object) -> list[str]:
    """Every SecretStr value inside a settings or config model (nested models, lists and dicts too)."""
    if isinstance(config, SecretStr):
        value = config.get_secret_value()
        return [value] if value else []
    if isinstance(config, BaseModel):
        return [s for name in type(config).model_fields for s in secret_values(getattr(config, name))]
    if isinstance(config, Mapping):
        return [s for value in config.values() for s in secret_values(value)]
    if isinstance(config, list | tuple):
        return [s for value in config for s in secret_values(value)]
    return []


class RedactingFilter(logging.Filter):
    """Redacts a record's message (formatted with its arguments), traceback and stack."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so that a URL goes whole before a password inside it.
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s)}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: keep the template only
            message = str(record.msg)
        # An empty tuple, not None: mode's formatter turns None into (None,) and formats again.
        record.msg, record.args = redact(message, self.secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Every record created from now on, by any logger, passes through the filter. Installing again adds
    the secrets to the filter in place rather than stacking a second one."""
    current = logging.getLogRecordFactory()
    installed: RedactingFilter | None = getattr(current, "redacting", None)
    if installed is not None:
        installed.add(secrets)
        return installed
    redacting = RedactingFilter(secrets)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        redacting.filter(record)
        return record

    _set_factory(factory, redacting)
    return redacting


def _set_factory(factory: Callable[..., logging.LogRecord], redacting: RedactingFilter) -> None:
    factory.redacting = redacting  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
