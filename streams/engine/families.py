"""Judges family_stress once a batch's events are applied: loads what the families need, then judges them.

Only a batch that changed a counted alert, re-attributed a tranche or changed an entity does anything here
(`Snapshot.family_changed`); see streams/rules/family_stress.py for what it loads and why. The documents it
loads join the snapshot, so the commit checks their versions like any other's.
"""

from __future__ import annotations

import datetime as dt

from alerts.core.model import Fire, Subject
from streams.engine.judge import record
from streams.model.family import MAX_DEPTH
from streams.model.state import AlertBox, FamilyState, _Doc
from streams.rules import family_stress
from streams.rules.config import FamilyStressConfig
from streams.rules.registry import RulesConfig
from streams.state.cache import StateCache
from streams.state.keys import FAMILIES_KEY, DocKey, entity_key
from streams.state.snapshot import Snapshot, StateStore, load_more


def _owner(snap: Snapshot, key: DocKey) -> tuple[_Doc | None, str | None]:
    """The document of `key` and the issuer its alerts belong to."""
    if key.kind == "tranche":
        tranche = snap.tranches.get(key.ident)
        return tranche, tranche.issuer_id if tranche is not None else None
    if key.kind == "deal":
        deal = snap.deals.get(key.ident)
        return deal, deal.deal.issuer_id if deal is not None and deal.deal is not None else None
    if key.kind == "issuer":
        return snap.issuers.get(key.ident), key.ident
    return None, None


def _judged_roots(state: FamilyState) -> set[str]:
    return {
        root for root, box in state.records.items() if any(a.status == "firing" for a in box.alerts.values())
    }


async def settle_families(
    snap: Snapshot, store: StateStore, cache: StateCache | None, rules: RulesConfig
) -> None:
    cfg = rules.family_stress
    if not cfg.enabled or snap.family_when is None:
        return
    await load_more(snap, store, {FAMILIES_KEY}, cache)
    state = snap.families
    changed = False
    for key in sorted(snap.family_docs):
        doc, issuer = _owner(snap, key)
        marks = family_stress.marks_of(key, doc.alerts) if doc is not None else {}
        changed |= family_stress.reconcile(state, key, issuer, marks)
    if changed:
        snap.touch(FAMILIES_KEY)
    await _load_chains(snap, store, cache, set(state.stressed) | _judged_roots(state))
    judge_families(snap, cfg, snap.family_when)
    snap.family_docs, snap.family_due, snap.family_when = set(), False, None  # settled


async def _load_chains(snap: Snapshot, store: StateStore, cache: StateCache | None, start: set[str]) -> None:
    """The entity documents up every chain from `start`: one round trip per level."""
    frontier, visited = set(start), set(start)
    for _ in range(MAX_DEPTH):
        await load_more(snap, store, {entity_key(e) for e in frontier}, cache)
        parents = {snap.entities[e].parent_id for e in frontier if e in snap.entities}
        frontier = {p for p in parents if p is not None and p not in visited}
        visited |= frontier
        if not frontier:
            return


def judge_families(snap: Snapshot, cfg: FamilyStressConfig, when: dt.datetime) -> None:
    """Judges every family with a stressed issuer or a firing alert (pure; the chains are loaded). A firing
    verdict is stamped when the family reached its count (the latest of its members' first marks), a
    resolution at the batch's newest event that could change it."""
    state = snap.families
    parents = {i: e.parent_id for i, e in snap.entities.items()}
    by_root = family_stress.families(state, parents)
    for root in sorted(set(by_root) | _judged_roots(state)):
        members = by_root.get(root, [])
        box = state.records.setdefault(root, AlertBox())
        current = box.alerts.get(family_stress.RULE)
        verdict = family_stress.evaluate(root, members, state, snap.entities, parents, cfg, current)
        at = family_stress.when_fired(members, state, when) if isinstance(verdict, Fire) else when
        record(snap, box, FAMILIES_KEY, family_stress.RULE, Subject(entity_id=root), verdict, at)
        if not box.alerts and not box.noise:
            del state.records[root]  # nothing recorded: keep the document small
