"""Keeps webhook URLs and tokens out of logs, metrics and error messages."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with its secrets redacted. slack-sdk logs the webhook URL at DEBUG, so
    its clients get a logger carrying this filter, and the worker puts one on every root handler too."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()  # not None: mode's formatter would format (None,)
        return True


def redacting_logger(name: str, secrets: Iterable[str]) -> logging.Logger:
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    for f in logger.filters:
        if isinstance(f, RedactingFilter):
            f.secrets = sorted({*f.secrets, *(s for s in secrets if s)})
    return logger


def install_on_root(secrets: Iterable[str]) -> None:
    """Every handler of the root logger redacts: a third-party library logging a secret is caught too."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(secrets))
