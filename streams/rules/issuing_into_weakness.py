"""issuing_into_weakness: a deal announced while its issuer shows stress: below_par, missed_payment,
support_drawn or rating_downgrade firing on any of its earlier tranches, issuer_loss_widening or
rating_downgrade on the issuer, coverage_shortfall or trigger_breach on any of its other deals (contract v2).

"At that moment" is read in event time: an alert counts if it had started at or before the deal's
`announced_at` and had not ended by then, so a quote or report stamped after the announcement never counts,
even when it was read first. What cannot be judged is what had not been read yet: a report stamped before
the announcement but read after the deal is not taken into account, and only each alert's latest episode is
kept. The verdict is therefore exact when every event stamped before a deal is read before it.

The verdict is a fact about the announcement and stays firing; it is judged again only if the same deal is
announced again (an amendment), and resolves then if the issuer was no longer weak.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from alerts.core.format import money
from alerts.core.model import Alert, Fire, Resolve, Verdict
from streams.model.events import Deal
from streams.model.state import DealState, IssuerState, TrancheState
from streams.rules.config import IssuingIntoWeaknessConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "issuing_into_weakness"


def firing_at(alert: Alert | None, moment: dt.datetime) -> bool:
    if alert is None or alert.starts_at > moment:
        return False
    return alert.status == "firing" or (alert.ends_at is not None and alert.ends_at > moment)


# Tranche alerts that make an issuer weak, with how the summary says it of the tranches concerned (v2 adds the
# payment rules; below_par's evidence key is v1's and stays first).
TRANCHE_SIGNS: Final = {
    "below_par": ("was below par", "were below par"),
    "missed_payment": ("missed a payment", "missed payments"),
    "support_drawn": ("drew on its support", "drew on their support"),
    "rating_downgrade": ("was downgraded", "were downgraded"),
}


# Alerts on the issuer's other deals that make it weak (v2: their collateral), said of the deals concerned.
DEAL_SIGNS: Final = {
    "coverage_shortfall": ("had a coverage shortfall", "had coverage shortfalls"),
    "trigger_breach": ("had a trigger breached", "had triggers breached"),
}


def evaluate(
    deal: Deal,
    issuer: IssuerState | None,
    tranches: Iterable[TrancheState],
    deals: Iterable[DealState] = (),
) -> Verdict:
    own = {t.tranche_id for t in deal.tranches}
    earlier = sorted((t for t in tranches if t.tranche_id not in own), key=lambda t: t.tranche_id)
    weak = {
        rule: [t for t in earlier if firing_at(t.alerts.get(rule), deal.announced_at)]
        for rule in TRANCHE_SIGNS
    }
    others = sorted(
        (d for d in deals if d.deal is not None and d.deal.deal_id != deal.deal_id),
        key=lambda d: d.deal.deal_id if d.deal is not None else "",
    )
    weak_deals = {
        rule: [d for d in others if firing_at(d.alerts.get(rule), deal.announced_at)] for rule in DEAL_SIGNS
    }
    widening = issuer.alerts.get("issuer_loss_widening") if issuer is not None else None
    losing = firing_at(widening, deal.announced_at)
    downgraded = issuer.alerts.get("rating_downgrade") if issuer is not None else None
    rated_down = firing_at(downgraded, deal.announced_at)
    evidence: dict[str, Any] = {
        "deal_event_id": deal.event_id,
        "announced_at": deal.announced_at.isoformat(),
        "face_value": sum(t.face_value for t in deal.tranches),
        "currency": deal.currency,
        "programme_id": deal.programme_id,
        "programme_size": deal.programme_size,
        "below_par": {t.tranche_id: _state(t.alerts["below_par"]) for t in weak["below_par"]},
        "issuer_loss_widening": _state(widening) if losing and widening is not None else None,
    }
    for rule, found in weak.items():
        if rule != "below_par" and found:
            evidence[rule] = {t.tranche_id: _state(t.alerts[rule]) for t in found}
    for rule, found_deals in weak_deals.items():
        if found_deals:
            evidence[rule] = {_deal_id(d): _state(d.alerts[rule]) for d in found_deals}
    if rated_down and downgraded is not None:
        evidence["issuer_rating_downgrade"] = _state(downgraded)
    what = f"{deal.issuer_name} announced {deal.deal_id} ({_size(deal)})"
    if not any(weak.values()) and not any(weak_deals.values()) and not losing and not rated_down:
        return Resolve(f"{what} when no tranche was below par and its loss was not widening", evidence)
    reasons = [
        f"{', '.join(t.tranche_id for t in found)} {TRANCHE_SIGNS[rule][len(found) > 1]}"
        for rule, found in weak.items()
        if found
    ]
    reasons += [
        f"{', '.join(_deal_id(d) for d in found_deals)} {DEAL_SIGNS[rule][len(found_deals) > 1]}"
        for rule, found_deals in weak_deals.items()
        if found_deals
    ]
    if losing:
        reasons.append("its net loss was widening")
    if rated_down:
        reasons.append("it had been downgraded")
    return Fire("warning", f"{what} while {' and '.join(reasons)}", evidence)


def _deal_id(state: DealState) -> str:
    assert state.deal is not None
    return state.deal.deal_id


def _size(deal: Deal) -> str:
    size = money(sum(t.face_value for t in deal.tranches), deal.currency)
    return f"{size}, programme {deal.programme_id}" if deal.programme_id else size


def _state(alert: Alert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "severity": alert.severity,
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "summary": alert.summary,
    }


def _on_deal_announced(judge: Judge, deal: Deal, issuer: IssuerState, cfg: IssuingIntoWeaknessConfig) -> None:
    snap = judge.snap
    others = (snap.tranches[t] for t in issuer.tranche_ids if t in snap.tranches)
    deals = (snap.deals[d] for d in issuer.deal_ids if d in snap.deals)
    judge.deal(snap.deals[deal.deal_id], RULE, evaluate(deal, issuer, others, deals), deal.announced_at)


SPEC = Rule(RULE, IssuingIntoWeaknessConfig, on_deal_announced=_on_deal_announced)
