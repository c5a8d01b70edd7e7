"""The bearer token of the HTTP APIs, checked in one place for the alerts API and the read-only state API.

A token is never empty: `BearerToken("")` raises, and a request whose `Authorization: Bearer ` has nothing
after it is refused whatever the configuration, so a token set to "" (what Compose passes for `${X:-}`)
can never open the mutating endpoints. Compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import SecretStr


class BearerToken:
    def __init__(self, token: SecretStr) -> None:
        value = token.get_secret_value().strip()
        if not value:
            raise ValueError("an API token must not be empty")
        self._token = value.encode()

    @classmethod
    def optional(cls, token: SecretStr | None) -> BearerToken | None:
        return cls(token) if token is not None else None

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """True when the headers carry `Authorization: Bearer <this token>` (scheme case-insensitive)."""
        credential = bearer_credential(headers)
        return bool(credential) and hmac.compare_digest(credential.encode(), self._token)


def bearer_credential(headers: Mapping[str, str]) -> str:
    """The credential of a Bearer Authorization header, stripped; "" when there is none."""
    given = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, credential = given.strip().partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""
