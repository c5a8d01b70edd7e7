"""rating_downgrade: notches per agency against its own earliest rating, the 3-notch and below-A- critical
edges, agencies never compared with each other, ratings read out of order and before their deal, an issuer
rated by itself, the scale and its suffixes, and a rating off the scale refused."""

from __future__ import annotations

import pydantic
import pytest

from streams.ingest.parse import Rejected, parse
from streams.model.events import Rating
from streams.rules.config import RatingDowngradeConfig
from streams.rules.rating_downgrade import notch
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, at, deal, replay, severity, terms

DEAL = deal("d-1", "WHBUS-2025", "2025-01-10", [terms("WHBUS-2025-A")])


def rating(event_id: str, when: str, grade: str, agency: str = "CCXI", **subject: str) -> Rating:
    return Rating(
        event_id=event_id,
        agency=agency,
        rating=grade,
        ts=at(when),
        **(subject or {"tranche_id": "WHBUS-2025-A"}),
    )


def downgrade(*grades: str, rules: RulesConfig | None = None) -> str | None:
    events = [rating(f"r-{i}", f"2025-0{i + 1}-01", g) for i, g in enumerate(grades)]
    return severity(replay([DEAL, *events], rules), "rating_downgrade", "WHBUS-2025-A")


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        (("AAA",), None),
        (("AAA", "AAA"), None),
        (("AAA", "AA+"), "warning"),  # one notch
        (("AAA", "AA"), "warning"),
        (("AAA", "AA-"), "critical"),  # three notches
        (("A", "A-"), "warning"),  # down to A-: not below it
        (("A-", "BBB+"), "critical"),  # below A- after a downgrade
        (("BBB", "BBB"), None),  # below A- but never downgraded: the reference is where it started
        (("AA+(sf)", "AAsf"), "warning"),  # structured-finance suffixes are the same grades
        (("AA", "AA+"), None),  # an upgrade
        (("AAA", "AA+", "AAA"), "resolved"),  # back at its reference
    ],
)
def test_notches_and_edges(grades: tuple[str, ...], expected: str | None) -> None:
    assert downgrade(*grades) == expected


def test_agencies_are_compared_with_themselves_only() -> None:
    events = [
        rating("r-1", "2025-02-01", "AA+", agency="CCXI"),
        rating("r-2", "2025-03-01", "AA", agency="Dagong"),
    ]
    assert severity(replay([DEAL, *events]), "rating_downgrade", "WHBUS-2025-A") is None


def test_the_latest_by_time_not_by_arrival() -> None:
    late_reference = [rating("r-2", "2025-06-01", "AA"), rating("r-1", "2025-02-01", "AAA")]
    snap = replay([DEAL, *late_reference])
    found = alert(snap, "rating_downgrade", "WHBUS-2025-A")
    assert found is not None and found.severity == "warning"
    assert found.summary == "WHBUS-2025-A downgraded: CCXI AAA to AA (2 notches, 2025-06-01)"
    assert found.evidence["agencies"]["CCXI"]["notches_down"] == 2


def test_severity_never_steps_down_while_firing() -> None:
    assert downgrade("AAA", "A+", "AA") == "critical"


def test_ratings_read_before_the_deal_are_judged_when_it_arrives() -> None:
    snap = replay([rating("r-1", "2024-12-01", "AA+"), rating("r-2", "2025-02-01", "AA-")])
    assert alert(snap, "rating_downgrade", "WHBUS-2025-A") is None
    replay([DEAL], snap=snap)
    assert severity(snap, "rating_downgrade", "WHBUS-2025-A") == "warning"


def test_an_issuer_rated_by_itself() -> None:
    events = [
        rating("r-1", "2025-02-01", "AA", agency="Dagong", issuer_id="wuhan-bus"),
        rating("r-2", "2025-05-01", "A", agency="Dagong", issuer_id="wuhan-bus"),
    ]
    snap = replay([DEAL, *events])
    found = alert(snap, "rating_downgrade", "wuhan-bus")
    assert found is not None and (found.severity, found.subject.tranche_id) == ("critical", None)
    assert found.summary.startswith("Wuhan Public Transport Group downgraded: Dagong AA to A (3 notches")
    assert (
        severity(
            replay([DEAL, *events], RulesConfig(rating_downgrade=RatingDowngradeConfig(critical_notches=4))),
            "rating_downgrade",
            "wuhan-bus",
        )
        == "warning"
    )


def test_thresholds_come_from_the_rules_file() -> None:
    rules = RulesConfig(rating_downgrade=RatingDowngradeConfig(critical_notches=1))
    assert downgrade("AAA", "AA+", rules=rules) == "critical"
    with pytest.raises(pydantic.ValidationError, match="not on the China scale"):
        RatingDowngradeConfig(critical_below="Baa1")


def test_the_scale_runs_from_aaa_to_d() -> None:
    assert [notch(g) for g in ("AAA", "AA+", "A-", "BBB+", "D", "AA(sf)", "Dsf")] == [0, 1, 6, 7, 19, 2, 19]


@pytest.mark.parametrize(
    "value",
    [
        b'{"event_id": "r", "tranche_id": "T", "agency": "CCXI", "rating": "Aa2", "ts": "2025-01-01T00:00:00+08:00"}',
        b'{"event_id": "r", "agency": "CCXI", "rating": "AA", "ts": "2025-01-01T00:00:00+08:00"}',
        b'{"event_id": "r", "tranche_id": "T", "issuer_id": "I", "agency": "CCXI", "rating": "AA", '
        b'"ts": "2025-01-01T00:00:00+08:00"}',
        b'{"event_id": "r", "tranche_id": "T", "agency": "CCXI", "rating": "AA", "outlook": "grim", '
        b'"ts": "2025-01-01T00:00:00+08:00"}',
    ],
    ids=["off-the-scale", "no-subject", "both-subjects", "unknown-outlook"],
)
def test_bad_ratings_are_dead_letters(value: bytes) -> None:
    assert isinstance(parse("abs.ratings", value), Rejected)


def test_a_deal_announced_after_a_downgrade_is_issuing_into_weakness() -> None:
    issuer_cut = [
        rating("r-1", "2025-02-01", "AA", agency="Dagong", issuer_id="wuhan-bus"),
        rating("r-2", "2025-05-01", "AA-", agency="Dagong", issuer_id="wuhan-bus"),
    ]
    second = deal("d-2", "WHBUS-2025-2", "2025-10-15", [terms("WHBUS-2025-B", issue_date="2025-10-20")])
    snap = replay([DEAL, *issuer_cut, second])
    weak = alert(snap, "issuing_into_weakness", "WHBUS-2025-2")
    assert weak is not None and weak.status == "firing"
    assert weak.summary.endswith("while it had been downgraded")
    assert weak.evidence["issuer_rating_downgrade"]["severity"] == "warning"
