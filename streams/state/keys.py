"""Every Redis key of the stream side, under the configured prefix: the one place their names are spelt.

State documents are hashes {d: JSON, v: version} named `<kind>:<id>` (`market` alone); a `DocKey` is such a
name below the prefix and carries its kind and id, so no reader splits the string to learn them. The keys
the state commit writes for the alert side (outbox, alert index) are named in alerts/keys.py. Renaming one
here renames it everywhere, so existing data stays readable only while these strings stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

from alerts.keys import AlertKeys, glob_literal

Kind = Literal["tranche", "issuer", "deal", "market", "entity", "families"]
_KINDS: frozenset[str] = frozenset(get_args(Kind))
_SINGLETONS = frozenset({"market", "families"})  # one document of the kind, named by the kind alone


class DocKey(str):
    """A state document's name below the prefix; equal to (and hashed as) the plain string."""

    kind: Kind
    ident: str

    def __new__(cls, kind: Kind, ident: str = "") -> DocKey:
        key = super().__new__(cls, kind if kind in _SINGLETONS else f"{kind}:{ident}")
        key.kind, key.ident = kind, ident
        return key

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (self.kind, self.ident)

    @classmethod
    def parse(cls, name: str) -> DocKey:
        """A name read back from Redis (without the prefix)."""
        kind, _, ident = name.partition(":")
        if kind not in _KINDS:
            raise ValueError(f"not a state document: {name!r}")
        return cls(cast(Kind, kind), ident)


def tranche_key(tranche_id: str) -> DocKey:
    return DocKey("tranche", tranche_id)


def issuer_key(issuer_id: str) -> DocKey:
    return DocKey("issuer", issuer_id)


def deal_key(deal_id: str) -> DocKey:
    return DocKey("deal", deal_id)


def entity_key(entity_id: str) -> DocKey:
    return DocKey("entity", entity_id)


MARKET_KEY = DocKey("market")
FAMILIES_KEY = DocKey("families")  # v2: family_stress's document (streams/model/state.py FamilyState)


@dataclass(frozen=True, slots=True)
class StateKeys:
    prefix: str

    def doc(self, key: str) -> str:
        return self.prefix + key

    def doc_pattern(self, kind: Kind) -> str:
        """SCAN pattern of every document of one kind, the prefix matched literally."""
        return glob_literal(self.prefix + DocKey(kind)) + "*"

    def doc_of(self, name: str) -> DocKey:
        """The document key of a full Redis key name found by SCAN."""
        return DocKey.parse(name.removeprefix(self.prefix))

    # stale_quote's event-time clock {us: epoch microseconds, at: ISO time} and its index of watched
    # tranches (a sorted set of tranche ids scored by the epoch microseconds they are filed under).
    @property
    def clock(self) -> str:
        return f"{self.prefix}clock"

    @property
    def watching(self) -> str:
        return f"{self.prefix}stale:watching"

    # distribution_overdue's index, apart from stale_quote's and on its clock: tranche ids with a distribution
    # report, scored by the epoch microseconds of the date their next payment falls due (China midnight).
    @property
    def overdue(self) -> str:
        return f"{self.prefix}distribution_overdue:due"

    # The outstanding tranches (with terms, not retired), scored by the epoch microseconds of midnight (China
    # time) of their maturity date: a batch whose clock passes maturity + the grace loads the ones it retires
    # (streams/model/retirement.py).
    @property
    def maturing(self) -> str:
        return f"{self.prefix}retire:maturing"

    # Up to issue 17: every event id ever applied, one set per topic, kept forever (streams/state/migrate.py
    # moves them into `ids`).
    @property
    def seen_prefix(self) -> str:
        return f"{self.prefix}seen:"

    def seen(self, topic: str) -> str:
        return self.seen_prefix + topic

    # The event ids applied, one sorted set per topic scored by event time (epoch microseconds); the commit
    # forgets those older than the retention before the topic's newest (streams/state/store.py).
    @property
    def ids_prefix(self) -> str:
        return f"{self.prefix}ids:"

    def ids(self, topic: str) -> str:
        return self.ids_prefix + topic

    # The progress the commits record (streams/state/progress.py): field `topic:partition`, value the
    # highest offset of a committed batch.
    @property
    def offsets(self) -> str:
        return f"{self.prefix}offsets"

    # Written (INCR) to confirm, with WAIT, that replicas hold every commit before it (streams/state/store.py).
    @property
    def replication_probe(self) -> str:
        return f"{self.prefix}replication:probe"

    # The state marker (streams/state/marker.py): proof that Redis still holds the state the consumer
    # group's offsets stand for. A rebuild's progress: the offsets replayed, and the ends it replays to.
    @property
    def marker(self) -> str:
        return f"{self.prefix}state:marker"

    @property
    def rebuild_positions(self) -> str:
        return f"{self.prefix}rebuild:positions"

    @property
    def rebuild_ends(self) -> str:
        return f"{self.prefix}rebuild:ends"

    # Each tranche's newest quotes, for the web page's chart: a sorted set of `price|event_id` scored by the
    # quote's epoch microseconds (streams/state/store.py writes it in the commit).
    @property
    def prices_prefix(self) -> str:
        return f"{self.prefix}prices:"

    def prices(self, tranche_id: str) -> str:
        return self.prices_prefix + tranche_id

    @property
    def alerts(self) -> AlertKeys:
        return AlertKeys(self.prefix)

    @property
    def everything(self) -> str:
        """SCAN pattern of every key under the prefix (the demo's reset, the bench's clean-up)."""
        return glob_literal(self.prefix) + "*"
