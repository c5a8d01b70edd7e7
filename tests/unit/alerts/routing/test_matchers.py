from __future__ import annotations

import pytest

from alerts.routing.matchers import MatcherError, all_match, parse_matcher

LABELS = {"rule": "below_par", "severity": "critical", "province": "Hubei", "issuer": "wuhan-bus"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("rule=below_par", True),
        ("rule = below_par", True),
        ('rule="below_par"', True),
        ("rule!=below_par", False),
        ("severity=~warning|critical", True),
        ("rule=~below", False),  # anchored, as in Alertmanager
        ("province!~Hu.*", False),
        ("asset_type=", True),  # an absent label is the empty string
        ("asset_type!=", False),
    ],
)
def test_operators(text: str, matches: bool) -> None:
    assert parse_matcher(text).matches(LABELS) is matches


@pytest.mark.parametrize("text", ["rule", "region=Hubei", "rule=~(", "=x"])
def test_bad_matchers_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(MatcherError, match="matcher"):
        parse_matcher(text)


def test_all_match_is_a_conjunction() -> None:
    ms = [parse_matcher("rule=below_par"), parse_matcher("province=Hubei")]
    assert all_match(ms, LABELS)
    assert not all_match(ms, {**LABELS, "province": "Hunan"})
    assert all_match([], LABELS)
