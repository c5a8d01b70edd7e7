"""Label matchers in Alertmanager's syntax (`rule=below_par`, `severity=~warning|critical`,
`province!=Hubei`), shared by routes, silences and inhibition
so that one spelling means the same everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

# The labels a notice carries (alerts/core/labels.py); a matcher on any other name is a typo, refused at load.
LABEL_NAMES = frozenset(
    {
        "rule",
        "severity",
        "status",
        "tranche",
        "issuer",
        "deal",
        "programme",
        "province",
        "asset_type",
        "year",
        "entity",
        "family",  # the issuer's credit family root (abs.entities)
        "portfolio",  # a portfolio holding the subject (alerts/core/labels.py: one route walk per portfolio)
    }
)
Op = Literal["=", "!=", "=~", "!~"]
_SYNTAX = re.compile(r"^\s*(?P<name>[a-z_]+)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$")


class MatcherError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: Op
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        # Anchored like Alertmanager's, so `rule=~below` does not catch `below_par`.
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    m = _SYNTAX.match(text)
    if m is None:
        raise MatcherError(f"matcher {text!r}: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX")
    name, op, value = m["name"], m["op"], m["value"].strip("\"'")
    if name not in LABEL_NAMES:
        raise MatcherError(
            f"matcher {text!r}: unknown label {name!r}; known: {', '.join(sorted(LABEL_NAMES))}"
        )
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(f"matcher {text!r}: bad regular expression: {exc}") from None
    return Matcher(name, op, value)  # type: ignore[arg-type]


def parse_all(texts: Iterable[str]) -> list[Matcher]:
    return [parse_matcher(t) for t in texts]


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
