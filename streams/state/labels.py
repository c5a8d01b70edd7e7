"""What routes and silences may match beyond the alert itself, read when a notice is about to be sent: the
subject's province, asset type and programme (from its deal or issuer document), its issuer's credit family
root (up the abs.entities chain) and the portfolios holding it (the positions in force). Lives in streams/
because it knows the documents' shapes; alerts/ sees it only as a LabelSource.

Which tranches an alert is about, for `portfolio`: a tranche alert its tranche; a deal alert every tranche
of the deal; an issuer alert every tranche of the issuer; a family_stress alert every held tranche whose
issuer is in the family (the held tranches' documents read in one round trip, their roots as above). A
year's record carries no portfolio. Holdings are those in force when the notice is sent, so a fund added to
the positions file hears of alerts already firing at their next notice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from alerts.core.labels import Labels, alert_labels
from alerts.core.model import Alert, Subject
from streams.model.family import MAX_DEPTH
from streams.model.positions import Positions
from streams.model.state import DealState, EntityState, IssuerState, TrancheState
from streams.state.keys import deal_key, entity_key, issuer_key, tranche_key
from streams.state.snapshot import StateStore

_CACHE_LIMIT = 10_000
# A family root is read again after this long: a re-parented company reaches routing within it, and a
# storm of notices about one family walks its chain once, not once per notice and receiver.
ROOT_TTL_SECONDS = 30.0


class StateLabels:
    def __init__(
        self,
        store: StateStore,
        positions: Callable[[], Positions | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.positions = positions
        self.clock = clock
        # A deal's province, asset type, programme and tranches do not change; cached once the deal is known.
        self._cache: dict[str, tuple[Labels, tuple[str, ...]]] = {}
        self._roots: dict[str, tuple[float, str]] = {}
        self._issuer_of: dict[str, str] = {}  # a tranche's issuer, once a deal has named it (it stays)

    async def labels(self, alert: Alert) -> Labels:
        labels = alert_labels(alert)
        s = alert.subject
        cache_key = f"{s.tranche_id}|{s.deal_id}|{s.issuer_id}"
        found = self._cache.get(cache_key)
        if found is None:
            extra, deal_tranches, complete = await self._lookup(s.tranche_id, s.deal_id, s.issuer_id)
            found = (extra, deal_tranches)
            if complete:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[cache_key] = found
        extra, deal_tranches = found
        labels = {**labels, **extra}
        family = s.entity_id or (await self.family_root(s.issuer_id) if s.issuer_id else None)
        if family:
            labels["family"] = family
        holders = await self._holders(s, deal_tranches)
        if holders:
            labels["portfolio"] = ",".join(holders)
        return labels

    async def family_root(self, issuer_id: str) -> str:
        """The issuer's family root, followed up its entity records (streams/model/family.py's rule)."""
        now = self.clock()
        cached = self._roots.get(issuer_id)
        if cached is not None and now - cached[0] < ROOT_TTL_SECONDS:
            return cached[1]
        chain, current = [issuer_id], issuer_id
        while len(chain) < MAX_DEPTH:
            raw = (await self.store.load([entity_key(current)]))[entity_key(current)][1]
            parent = EntityState.model_validate_json(raw).parent_id if raw is not None else None
            if parent is None or parent in chain:  # the top, or a cycle: stop before the repeat
                break
            chain.append(parent)
            current = parent
        if len(self._roots) >= _CACHE_LIMIT:
            self._roots.clear()
        self._roots[issuer_id] = (now, current)
        return current

    async def _holders(self, s: Subject, deal_tranches: tuple[str, ...]) -> list[str]:
        positions = self.positions()
        if positions is None or not positions.rows:
            return []
        if s.tranche_id:
            tranches: list[str] = [s.tranche_id]
        elif s.deal_id:
            tranches = list(deal_tranches)
        elif s.issuer_id and not s.entity_id:
            raw = (await self.store.load([issuer_key(s.issuer_id)]))[issuer_key(s.issuer_id)][1]
            tranches = IssuerState.model_validate_json(raw).tranche_ids if raw is not None else []
        elif s.entity_id:
            tranches = await self._family_tranches(s.entity_id, positions)
        else:
            return []  # a year: no tranche of its own
        return sorted(positions.held(tranches))

    async def _family_tranches(self, root: str, positions: Positions) -> list[str]:
        """The held tranches whose issuer belongs to the family of `root`."""
        unknown = [t for t in positions.by_tranche if t not in self._issuer_of]
        if unknown:
            docs = await self.store.load([tranche_key(t) for t in unknown])
            for tranche_id in unknown:
                raw = docs[tranche_key(tranche_id)][1]
                issuer = TrancheState.model_validate_json(raw).issuer_id if raw is not None else None
                if issuer:
                    if len(self._issuer_of) >= _CACHE_LIMIT:
                        self._issuer_of.clear()
                    self._issuer_of[tranche_id] = issuer
        found = []
        for tranche_id in positions.by_tranche:
            issuer = self._issuer_of.get(tranche_id)
            if issuer is not None and await self.family_root(issuer) == root:
                found.append(tranche_id)
        return found

    async def _lookup(
        self, tranche_id: str | None, deal_id: str | None, issuer_id: str | None
    ) -> tuple[Labels, tuple[str, ...], bool]:
        if tranche_id and not deal_id:
            raw = (await self.store.load([tranche_key(tranche_id)]))[tranche_key(tranche_id)][1]
            if raw is not None:
                tranche = TrancheState.model_validate_json(raw)
                deal_id, issuer_id = tranche.deal_id, issuer_id or tranche.issuer_id
        keys = [
            k
            for k in (deal_key(deal_id) if deal_id else None, issuer_key(issuer_id) if issuer_id else None)
            if k
        ]
        docs = await self.store.load(keys) if keys else {}
        extra: Labels = {}
        complete = False
        deal_raw = docs.get(deal_key(deal_id), (0, None))[1] if deal_id else None
        deal = DealState.model_validate_json(deal_raw).deal if deal_raw is not None else None
        tranches: tuple[str, ...] = ()
        if deal is not None:
            extra["asset_type"] = deal.asset_type
            extra.update(
                {k: v for k, v in (("province", deal.province), ("programme", deal.programme_id)) if v}
            )
            tranches = tuple(t.tranche_id for t in deal.tranches)
            complete = True
        issuer_raw = docs.get(issuer_key(issuer_id), (0, None))[1] if issuer_id else None
        if issuer_raw is not None and "province" not in extra:
            province = IssuerState.model_validate_json(issuer_raw).province
            if province:
                extra["province"] = province
            complete = complete or not deal_id
        return extra, tranches, complete
