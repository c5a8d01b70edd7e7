"""apply_event end to end in memory: the bus-company story, duplicates, late quotes and the interleavings."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.events import Event
from tests.unit.rules.scenario import alert, deal, financials, firing, quote, replay, severity, terms

STORY: list[Event] = [
    deal("d-1", "WHBUS-2025", "2025-01-10T10:00:00+08:00", [terms("WHBUS-2025-A")]),
    financials("f-1", "2024-01-01", "2024-12-31", -13e6, "2025-04-28T18:00:00+08:00"),
    financials("f-2", "2025-01-01", "2025-06-30", -821e6, "2025-08-30T18:00:00+08:00"),
    quote("q-1", "WHBUS-2025-A", "2025-09-01T09:30:00+08:00", 95.0),
    deal(
        "d-2", "WHBUS-2025-2", "2025-09-10T10:00:00+08:00", [terms("WHBUS-2025-B", 400e6, 2.8, "2025-09-15")]
    ),
]


def test_story_yields_the_four_alerts() -> None:
    snap = replay(STORY)
    assert {(a, s) for a, _, s in firing(snap)} == {
        ("below_par", "critical"),
        ("issuer_loss_widening", "critical"),
        ("distressed_tranche", "critical"),
        ("issuing_into_weakness", "warning"),
    }


def test_story_below_par_evidence_checks_by_hand() -> None:
    found = alert(replay(STORY), "below_par", "WHBUS-2025-A")
    assert found is not None
    assert (
        found.summary
        == "WHBUS-2025-A at 95.00 is 5.00 below par (Rmb30.0mn mark-to-market on Rmb600mn outstanding)"
    )
    ev = found.evidence
    assert (ev["price"], ev["discount"], ev["face_value"]) == (95.0, 5.0, 600e6)
    assert (ev["price_basis"], ev["clean_price"], ev["factor"], ev["outstanding_principal"]) == (
        "remaining",
        95.0,
        1.0,
        600e6,
    )
    assert ev["mark_to_market_loss"] == pytest.approx(600e6 * 5 / 100)
    assert (ev["quote_event_id"], ev["quote_ts"]) == ("q-1", "2025-09-01T09:30:00+08:00")
    assert ev["thresholds"] == {"warning": 2.0, "critical": 5.0, "resolve_below": 1.5}
    assert ev["dirty_price"] == pytest.approx(95.0 + ev["accrued_interest"])
    assert ev["accrued_interest"] == pytest.approx(2.6 * 229 / 365, abs=1e-6)  # 15 Jan to 1 Sep 2025
    assert 3.0 < ev["ytm_pct"] < 3.5


def test_story_issuer_loss_evidence_checks_by_hand() -> None:
    found = alert(replay(STORY), "issuer_loss_widening", "wuhan-bus")
    assert found is not None
    newest, previous = found.evidence["newest"], found.evidence["previous"]
    assert (newest["event_id"], newest["days"]) == ("f-2", 181)
    assert (previous["event_id"], previous["days"]) == ("f-1", 366)  # 2024 is a leap year
    assert newest["annualised"] == pytest.approx(-821e6 * 365 / 181)
    assert previous["annualised"] == pytest.approx(-13e6 * 365 / 366)
    assert found.evidence["multiple"] == pytest.approx((821 / 181) / (13 / 366))
    assert found.summary == (
        "Wuhan Public Transport Group net loss annualised Rmb1.66bn (2025-01-01 to 2025-06-30) "
        "vs Rmb13.0mn the period before (2024-01-01 to 2024-12-31), 127.7x"
    )


def test_story_distressed_and_issuing_into_weakness_cite_their_causes() -> None:
    snap = replay(STORY)
    distressed = alert(snap, "distressed_tranche", "WHBUS-2025-A")
    assert distressed is not None
    assert distressed.summary.startswith("WHBUS-2025-A at 95.00 is 5.00 below par (Rmb30.0mn mark-to-market")
    assert "; issuer Wuhan Public Transport Group net loss annualised Rmb1.66bn" in distressed.summary
    assert distressed.evidence["below_par"]["evidence"]["quote_event_id"] == "q-1"
    assert distressed.evidence["issuer_loss_widening"]["evidence"]["newest"]["event_id"] == "f-2"
    weakness = alert(snap, "issuing_into_weakness", "WHBUS-2025-2")
    assert weakness is not None
    assert weakness.summary == (
        "Wuhan Public Transport Group announced WHBUS-2025-2 (Rmb400mn, programme WHBUS-PROG) "
        "while WHBUS-2025-A was below par and its net loss was widening"
    )
    assert set(weakness.evidence["below_par"]) == {"WHBUS-2025-A"}
    assert weakness.evidence["issuer_loss_widening"]["severity"] == "critical"
    assert weakness.evidence["deal_event_id"] == "d-2"


def _interleavings(topics: list[list[Event]]) -> list[list[Event]]:
    """Every merge of the topics that keeps each topic's own order."""
    if not any(topics):
        return [[]]
    merged: list[list[Event]] = []
    for i, seq in enumerate(topics):
        if seq:
            rest = [*topics[:i], seq[1:], *topics[i + 1 :]]
            merged.extend([seq[0], *tail] for tail in _interleavings(rest))
    return merged


def _by_topic(events: list[Event]) -> list[list[Event]]:
    return [[e for e in events if type(e) is kind] for kind in {type(e): None for e in events}]


def test_story_every_interleaving_gives_the_same_firing_set() -> None:
    expected = firing(replay(STORY), exclude=frozenset({"issuing_into_weakness"}))
    orders = _interleavings(_by_topic(STORY))
    assert len(orders) == 30
    for order in orders:
        assert firing(replay(order), exclude=frozenset({"issuing_into_weakness"})) == expected


def test_story_issuing_into_weakness_holds_when_the_deal_is_read_after_what_preceded_it() -> None:
    for order in _interleavings(_by_topic(STORY)):
        d2 = order.index(STORY[4])
        before = set(map(id, order[:d2]))
        if all(id(e) in before for e in STORY[:4]):
            assert severity(replay(order), "issuing_into_weakness", "WHBUS-2025-2") == "warning"


def test_replaying_the_story_again_announces_nothing_new() -> None:
    snap = replay(STORY)
    before = len(snap.notices)
    again = [e.model_copy(update={"event_id": f"{e.event_id}-again"}) for e in STORY]
    assert len(replay(again, snap=snap).notices) == before


def test_late_quote_does_not_unfire_newer_state() -> None:
    events = [*STORY[:4], quote("q-0", "WHBUS-2025-A", "2025-08-25", 99.9)]
    snap = replay(events)
    assert severity(snap, "below_par", "WHBUS-2025-A") == "critical"
    last = snap.tranches["WHBUS-2025-A"].last_quote
    assert last is not None and last.event_id == "q-1"
    # ... while joining the price history: 99.90 a week earlier makes 95.00 a 4.90 drop
    assert severity(snap, "price_drop", "WHBUS-2025-A") == "critical"


def test_interleavings_helper_is_exhaustive() -> None:
    assert len(_interleavings([[1, 2], [3]])) == 3  # type: ignore[list-item]
    assert list(itertools.chain.from_iterable(_interleavings([[1], [2]]))) == [1, 2, 2, 1]  # type: ignore[list-item,comparison-overlap]


# --- the interleaving invariant, as property tests -------------------------------------------------------

PRICES = [100.5, 99.0, 98.6, 98.5, 98.2, 98.0, 97.0, 96.0, 95.0, 93.0]
INCOMES = [50e6, 0.0, -10e6, -60e6, -120e6, -900e6]
PERIODS = [
    ("2023-01-01", "2023-12-31"),
    ("2024-01-01", "2024-12-31"),
    ("2025-01-01", "2025-03-31"),
    ("2025-01-01", "2025-06-30"),
]
TRANCHES = {"A": ("D1", "i1"), "B": ("D2", "i1"), "C": ("D3", "i2")}
EXCEPT_WEAKNESS = frozenset({"issuing_into_weakness"})


@st.composite
def topics(draw: st.DrawFn) -> tuple[list[Event], list[Event], list[Event]]:
    """Each topic's own sequence: deals, reports (in reporting order) and quotes (not in time order)."""
    deal_days = draw(st.lists(st.integers(0, 60), min_size=3, max_size=3))
    deals: list[Event] = [
        deal(
            f"d-{d}",
            d,
            f"2025-06-{1 + day % 30:02d}" if day < 30 else f"2025-08-{day - 29:02d}",
            [terms(t)],
            issuer_id=i,
        )
        for (t, (d, i)), day in zip(TRANCHES.items(), deal_days, strict=True)
    ]
    extra_years = draw(st.lists(st.sampled_from([2023, 2024, 2025]), max_size=5))
    deals += [
        deal(f"x-{n}", f"X{n}", f"{y}-05-0{1 + n % 9}", [terms(f"X{n}")], issuer_id="i3")
        for n, y in enumerate(extra_years)
    ]
    reports: list[Event] = []
    for issuer in ("i1", "i2"):
        chosen = draw(st.lists(st.tuples(st.sampled_from(PERIODS), st.sampled_from(INCOMES)), max_size=4))
        reports += [
            financials(f"f-{issuer}-{n}", start, end, income, f"2025-{4 + n:02d}-20", issuer_id=issuer)
            for n, ((start, end), income) in enumerate(chosen)
        ]
    raw = draw(
        st.lists(
            st.tuples(st.sampled_from(list(TRANCHES)), st.integers(0, 40), st.sampled_from(PRICES)),
            max_size=14,
        )
    )
    quotes: list[Event] = [
        quote(f"q-{n}", t, f"2025-{7 + day // 28:02d}-{1 + day % 28:02d}T{9 + n % 6:02d}:00:00+08:00", p)
        for n, (t, day, p) in enumerate(raw)
    ]
    return deals, reports, quotes


def _merge(data: st.DataObject, *seqs: list[Event]) -> list[Event]:
    """A random interleaving that keeps each sequence's own order."""
    labels = [i for i, seq in enumerate(seqs) for _ in seq]
    order = data.draw(st.permutations(labels))
    cursors = [iter(seq) for seq in seqs]
    return [next(cursors[i]) for i in order]


@settings(max_examples=150, deadline=None)
@given(streams=topics(), data=st.data())
def test_any_interleaving_gives_the_same_firing_set(
    streams: tuple[list[Event], list[Event], list[Event]], data: st.DataObject
) -> None:
    deals, reports, quotes = streams
    expected = firing(replay([*deals, *reports, *quotes]), exclude=EXCEPT_WEAKNESS)
    assert firing(replay(_merge(data, deals, reports, quotes)), exclude=EXCEPT_WEAKNESS) == expected


def _event_time(event: Event) -> dt.datetime:
    return event.event_time


@settings(max_examples=150, deadline=None)
@given(streams=topics(), data=st.data())
def test_issuing_into_weakness_is_the_same_when_deals_are_read_in_event_time(
    streams: tuple[list[Event], list[Event], list[Event]], data: st.DataObject
) -> None:
    """Every event stamped up to a deal is read before it, everything later after; the rest is free."""
    deals, reports, quotes = streams
    deals = sorted(deals, key=_event_time)
    reports, quotes = sorted(reports, key=_event_time), sorted(quotes, key=_event_time)

    def segment(event: Event) -> int:
        return sum(d.event_time < event.event_time for d in deals)

    canonical: list[Event] = []
    shuffled: list[Event] = []
    for i in range(len(deals) + 1):
        rs, qs = [r for r in reports if segment(r) == i], [q for q in quotes if segment(q) == i]
        canonical += [*rs, *qs]
        shuffled += _merge(data, rs, qs)
        if i < len(deals):
            canonical.append(deals[i])
            shuffled.append(deals[i])
    assert firing(replay(shuffled)) == firing(replay(canonical))
