"""A logging filter that takes secrets out of every record: message, arguments and traceback.

Installed by the worker through the record factory, so it holds for faust's and the Kafka clients' loggers
too and survives faust reconfiguring the handlers. What it removes: the configured secret values (Slack
webhook URL, Redis URL and password, Kafka SASL password), and anything shaped like a webhook URL, a Slack
token or a password inside a URL (alerts/redact.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from alerts.redact import redact


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a URL goes whole before a password inside it.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

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
    """Every record created from now on, by any logger, passes through the filter."""
    redacting = RedactingFilter(secrets)
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redacting.filter(record)
        return record

    _set_factory(factory)
    return redacting


def _set_factory(factory: Callable[..., logging.LogRecord]) -> None:
    logging.setLogRecordFactory(factory)
