"""What routes and silences may match beyond the alert itself (province, asset type, programme), read from
the subject's state documents when a notice is about to be sent. Lives in streams/ because it knows the
documents' shapes; alerts/ sees it only as a LabelSource."""

from __future__ import annotations

from alerts.core.labels import Labels, alert_labels
from alerts.core.model import Alert
from streams.model.state import DealState, IssuerState, TrancheState
from streams.state.keys import deal_key, issuer_key, tranche_key
from streams.state.snapshot import StateStore

_CACHE_LIMIT = 10_000


class StateLabels:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        # A deal's province, asset type and programme do not change; cached once the deal is known.
        self._cache: dict[str, Labels] = {}

    async def labels(self, alert: Alert) -> Labels:
        labels = alert_labels(alert)
        s = alert.subject
        cache_key = f"{s.tranche_id}|{s.deal_id}|{s.issuer_id}"
        extra = self._cache.get(cache_key)
        if extra is None:
            extra, complete = await self._lookup(s.tranche_id, s.deal_id, s.issuer_id)
            if complete:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[cache_key] = extra
        return {**labels, **extra}

    async def _lookup(
        self, tranche_id: str | None, deal_id: str | None, issuer_id: str | None
    ) -> tuple[Labels, bool]:
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
        if deal is not None:
            extra["asset_type"] = deal.asset_type
            extra.update(
                {k: v for k, v in (("province", deal.province), ("programme", deal.programme_id)) if v}
            )
            complete = True
        issuer_raw = docs.get(issuer_key(issuer_id), (0, None))[1] if issuer_id else None
        if issuer_raw is not None and "province" not in extra:
            province = IssuerState.model_validate_json(issuer_raw).province
            if province:
                extra["province"] = province
            complete = complete or not deal_id
        return extra, complete
