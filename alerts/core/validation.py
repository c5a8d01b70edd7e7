"""A pydantic validation error as a person reads it: one `where: what` per problem, without the input.

The one formatter for every place a validation error reaches a person: a dead letter's reason, an API's
400, a config file's or the settings' refusal. The input value is left out, since it may be a secret.
"""

from __future__ import annotations

from pydantic import ValidationError


def problems(error: ValidationError, limit: int | None = None) -> list[str]:
    """`field.path: message` per problem (`(top)` for the value as a whole); past `limit`, `and N more`."""
    found = error.errors(include_url=False, include_input=False)
    shown = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in found[:limit]]
    if limit is not None and len(found) > limit:
        shown.append(f"and {len(found) - limit} more")
    return shown
