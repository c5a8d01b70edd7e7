"""Credit families (contract v2): who owns whom, followed up to the government.

An issuer's `issuer_id` is its entity id (abs.entities). Its family root is reached by following
`parent_id` until an entity without a known parent: an entity with no record, or a record without a parent.
A parent named but never reported is still the root (two companies of "wuhan-gov" are one family before
wuhan-gov itself is reported). A cycle of parents stops at the last entity before the repeat; an issuer
with no entity record is its own root. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.model.events import Entity
from streams.model.state import EntityState

MAX_DEPTH = 64
"""Links followed at most: a real chain (tranche, originator, district, city, province) is a handful; the
bound keeps a corrupt chain from walking for ever, and the last entity reached is then the root."""


def family_chain(entity_id: str, parents: Mapping[str, str | None]) -> list[str]:
    """`entity_id`, its parent, its grandparent ... up to the root, each entity once."""
    chain, seen = [entity_id], {entity_id}
    current = entity_id
    while len(chain) < MAX_DEPTH:
        parent = parents.get(current)
        if parent is None or parent in seen:  # the top, or a cycle: stop before the repeat
            break
        chain.append(parent)
        seen.add(parent)
        current = parent
    return chain


def family_root(entity_id: str, parents: Mapping[str, str | None]) -> str:
    """The root of `entity_id`'s family; `parents` maps each recorded entity to its parent (None: none)."""
    return family_chain(entity_id, parents)[-1]


def newer(known: EntityState | None, event: Entity) -> bool:
    """Whether `event` replaces the record: the newest `updated_at` wins; at the same time, the later read
    (a correction sent again with the same stamp)."""
    return known is None or event.updated_at >= known.updated_at


def entity_state(event: Entity, alerts_of: EntityState | None = None) -> EntityState:
    return EntityState(
        entity_id=event.entity_id,
        event_id=event.event_id,
        name=event.name,
        kind=event.kind,
        parent_id=event.parent_id,
        region=event.region,
        updated_at=event.updated_at,
        alerts=alerts_of.alerts if alerts_of is not None else {},
        noise=alerts_of.noise if alerts_of is not None else {},
    )
