"""What a rule module declares (its `SPEC`): its name, its config table, and the hooks the engine calls.

The engine (streams/engine/apply.py) calls every rule's hooks in the order of the registry
(streams/rules/registry.py), at fixed points of applying one event:

- observe_quote(tranche, mark, late, cfg): state only, for every quote, whether the rule is enabled or not
  (hysteresis latches move with the quote topic alone; see streams/rules/latch.py).
- on_quote(judge, tranche, previous, cfg): after a quote that is the tranche's newest (not a late one).
- judge_tranche(judge, tranche, subject, when, cfg): whenever a tranche is judged again: on its quotes and
  when its deal is read; with `reads_issuer`, also when its issuer reports.
- on_deal_announced(judge, deal, issuer, cfg): a deal is read, before its tranches are registered (the issuer
  as it stood at the announcement).
- on_deal(judge, deal, cfg): a deal is read, after its tranches were judged.
- on_financials(judge, issuer, report, cfg): an issuer's figure for a new (or restated) period is stored.
- on_collateral(judge, deal_state, cfg): an announced deal's servicer reports changed, or the deal was read
  with reports kept from before it: judge its newest report.
- on_issuer_rating(judge, issuer, when, cfg): an agency's rating of the issuer changed what is kept.
  (A tranche's ratings are read by judge_tranche, judged again when they change.)

Every hook but observe_quote runs only while the rule's table has `enabled = true`. A hook never does I/O
and reads no clock but the events'; it records verdicts through `judge`, which runs the alert lifecycle
and marks the document it wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from alerts.core.model import Alert, RuleName, Subject, Verdict
from streams.model.events import Deal, Financials
from streams.model.state import AlertBox, DealState, IssuerState, QuoteMark, TrancheState
from streams.rules.config import RuleConfig

if TYPE_CHECKING:
    from streams.state.snapshot import Snapshot

C = TypeVar("C", bound=RuleConfig)


class Judge(Protocol):
    """What the engine lends a hook: the batch's state and one way per document kind to record a verdict."""

    @property
    def snap(self) -> Snapshot: ...

    def tranche(
        self,
        tranche: TrancheState,
        rule: RuleName,
        verdict: Verdict,
        when: dt.datetime,
        subject: Subject | None = None,
    ) -> Alert | None: ...

    def issuer(
        self, issuer: IssuerState, rule: RuleName, verdict: Verdict, when: dt.datetime
    ) -> Alert | None: ...

    def deal(self, state: DealState, rule: RuleName, verdict: Verdict, when: dt.datetime) -> Alert | None: ...

    def market(
        self, box: AlertBox, rule: RuleName, subject: Subject, verdict: Verdict, when: dt.datetime
    ) -> Alert | None:
        """An alert kept in a box of the market document (e.g. one year's issuance record)."""
        ...

    def market_changed(self) -> None:
        """The market document's figures changed (no verdict): it is written with the batch."""
        ...

    def tranche_changed(self, tranche: TrancheState) -> None:
        """A rule changed the tranche's document (no verdict): it is written with the batch."""
        ...


@dataclass(frozen=True, slots=True)
class Rule(Generic[C]):
    name: RuleName
    config: type[C]
    observe_quote: Callable[[TrancheState, QuoteMark, bool, C], None] | None = None
    on_quote: Callable[[Judge, TrancheState, QuoteMark | None, C], None] | None = None
    judge_tranche: Callable[[Judge, TrancheState, Subject, dt.datetime, C], None] | None = None
    reads_issuer: bool = False  # judge_tranche reads the issuer: judged again when the issuer reports
    on_deal_announced: Callable[[Judge, Deal, IssuerState, C], None] | None = None
    on_deal: Callable[[Judge, Deal, C], None] | None = None
    on_financials: Callable[[Judge, IssuerState, Financials, C], None] | None = None
    on_collateral: Callable[[Judge, DealState, C], None] | None = None
    on_issuer_rating: Callable[[Judge, IssuerState, dt.datetime, C], None] | None = None


AnyRule = Rule[Any]
