"""Alignment: objectives linked to their parent objective across the CRMs.

An objective is written to the connectors its key results go to. A child's
link to its parent (a Salesforce lookup, a HubSpot association) can only
point at a parent record the same CRM holds, and the parent must be written
first. So a parent goes wherever one of its descendants goes, and parents
are written before their children.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from okrsync.model import Objective

__all__ = ["parents_first", "with_ancestors"]


def with_ancestors(
    objectives: Sequence[Objective], destinations: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Connectors each objective is written to, extended with those of its descendants.

    ``destinations`` maps an objective's full key to the connectors its own
    key results are written to; the result adds, to every ancestor, the
    connectors of each objective below it.
    """
    parent = {o.full_key: o.aligns_to for o in objectives}
    out = {key: set(found) for key, found in destinations.items()}
    for key, found in destinations.items():
        seen = {key}
        above = parent.get(key)
        while above is not None and above not in seen:  # the loader refuses loops; stay safe
            seen.add(above)
            out.setdefault(above, set()).update(found)
            above = parent.get(above)
    return out


def parents_first(objectives: Sequence[Objective]) -> list[Objective]:
    """The objectives ordered so that each comes after its parent (otherwise as given)."""
    by_key = {o.full_key: o for o in objectives}
    ordered: list[Objective] = []
    placed: set[str] = set()

    def place(objective: Objective, path: frozenset[str]) -> None:
        if objective.full_key in placed or objective.full_key in path:
            return
        above = by_key.get(objective.aligns_to or "")
        if above is not None:
            place(above, path | {objective.full_key})
        placed.add(objective.full_key)
        ordered.append(objective)

    for objective in objectives:
        place(objective, frozenset())
    return ordered
