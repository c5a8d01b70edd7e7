"""Keeps webhook URLs and tokens out of logs, metrics and error messages."""

from __future__ import annotations

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
