from __future__ import annotations

import pytest
from pydantic import SecretStr

from alerts.ops.auth import BearerToken, bearer_credential


def test_the_token_alone_opens() -> None:
    token = BearerToken(SecretStr("s3cret"))
    assert token.accepts({"Authorization": "Bearer s3cret"})
    assert token.accepts({"authorization": "bearer  s3cret "})
    assert not token.accepts({"Authorization": "Bearer nope"})
    assert not token.accepts({"Authorization": "Basic s3cret"})
    assert not token.accepts({})


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "bearer    ", " ", ""])
def test_an_empty_credential_is_never_accepted(header: str) -> None:
    assert bearer_credential({"Authorization": header}) == ""
    assert not BearerToken(SecretStr("s3cret")).accepts({"Authorization": header})


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_token_cannot_be_configured(empty: str) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        BearerToken(SecretStr(empty))
    assert BearerToken.optional(None) is None
