"""Metrics per record owner: one grouped query per replicated object.

A key result with ``breakdown: owner``, or a template of personal key results
(``for_each``), is also computed per owner of the records its metric reads,
**with the metric's own semantics**: the same expression is compiled as for
the team value (:mod:`okrsync.compute`), and its terms over one object are
read with one ``SELECT owner, … GROUP BY owner``; each owner's values are then
combined by the same code. So a ratio per owner is their numerator over their
denominator, an NPS per owner counts their responses, a sum is their sum.
Records without an owner form their own group (owner ``None``). A median, or
a duration to the first related record, is its own statement, grouped the
same way.

Counts and sums over the groups add up to the team value exactly (every record
is in exactly one group); ratios, NPS, averages and durations do not: the team
ratio weighs each owner by their denominator, the mean of owners' ratios does
not, and an owner with a zero denominator has no ratio at all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from okrsync.compute import MetricError, _Plan
from okrsync.metric import Aggregate

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy.sql.selectable import Select

    from okrsync.metric import Expr
    from okrsync.model import KeyResult
    from okrsync.state.replica import Replica, ReplicaTable

__all__ = ["OwnerValues", "empty_value", "evaluate_by_owner"]

Getter = Callable[[dict[int, Any]], float | None]


@dataclass(frozen=True, slots=True)
class OwnerValues:
    """A key result's metric per owner, as the owner field holds them (``None``: no owner)."""

    values: dict[str | None, float | None]
    """By the owner field's value in lower case (an e-mail, or a CRM's owner id)."""
    empty: float | None
    """The value for an owner without records (0 for a count or a sum, else none)."""
    error: str | None = None


def empty_value(expr: Expr) -> float | None:
    """The metric's value over no records: 0 for a count or a sum, no value for the rest."""
    if isinstance(expr, Aggregate) and expr.function in {"count", "sum", "count_distinct"}:
        return 0.0
    return None


def evaluate_by_owner(
    engine: Engine,
    replica: Replica,
    key_results: Sequence[KeyResult],
    as_of: date,
    owner_fields: Mapping[tuple[str, str], str],
) -> dict[str, OwnerValues]:
    """Each key result's metric per owner, by full key: one grouped query per object.

    ``owner_fields`` names the replicated field holding the owner of each
    (connector, object) the metrics read.
    """
    owner_of = _OwnerColumn(owner_fields)
    compiling = _Compiling(replica, as_of, owner_of)
    results: dict[str, OwnerValues] = {}
    compiled: dict[str, tuple[Getter, set[Hashable]]] = {}
    for kr in key_results:
        try:
            compiled[kr.full_key] = compiling.add(kr)
        except MetricError as exc:
            results[kr.full_key] = OwnerValues({}, None, str(exc))
    grouped = _Grouped()
    for (connector, obj), exprs in compiling.terms.items():
        rt = replica.get(connector, obj)
        if exprs and rt is not None:
            grouped.read_terms(engine, rt, owner_of(rt), exprs)
    for (_, obj), statements in compiling.queries.items():
        for statement in statements:
            grouped.read_query(engine, obj, statement)
    for kr in key_results:
        if kr.full_key in compiled:
            getter, used = compiled[kr.full_key]
            results[kr.full_key] = grouped.owner_values(getter, used, kr.metric.expr)
    return results


@dataclass(frozen=True, slots=True)
class _OwnerColumn:
    """The owner of an object's records as a column: lower case, an empty text as none."""

    fields: Mapping[tuple[str, str], str]

    def __call__(self, rt: ReplicaTable) -> ColumnElement[Any]:
        name = self.fields.get((rt.connector, rt.obj))
        if name is None:
            msg = f"the owner of {rt.obj} records is not replicated"
            raise MetricError(msg)
        try:
            return sa.func.nullif(sa.func.lower(rt.column(name)), "")
        except KeyError:
            msg = f"field {name} of {rt.obj} is not replicated"
            raise MetricError(msg) from None


class _Compiling:
    """The key results' expressions compiled into grouped terms and statements."""

    def __init__(self, replica: Replica, as_of: date, owner_of: _OwnerColumn) -> None:
        self.replica = replica
        self.as_of = as_of
        self.owner_of = owner_of
        self.terms: dict[tuple[str, str], list[ColumnElement[Any]]] = {}
        self.queries: dict[tuple[str, str], list[Select[Any]]] = {}
        self.plans: dict[tuple[str, date, date], _Plan] = {}

    def add(self, kr: KeyResult) -> tuple[Getter, set[Hashable]]:
        """Compile one key result: how to combine its values, and what it reads.

        Raises:
            MetricError: when it cannot be computed per owner (nothing of it is kept).
        """
        plan = self.plans.setdefault(
            (kr.cycle.name, kr.cycle.start, kr.cycle.end),
            _Plan(self.replica, kr.cycle, self.as_of, self.terms, self.queries, by=self.owner_of),
        )
        before = {k: len(v) for k, v in self.terms.items()}
        before_queries = {k: len(v) for k, v in self.queries.items()}
        try:
            getter = plan.compile(kr.source, kr.metric.expr)
            for key, items in self.terms.items():
                rt = self.replica.get(*key)
                if rt is not None and len(items) != before.get(key, 0):
                    self.owner_of(rt)  # every object it groups has its owner replicated
        except MetricError:
            for key, items in self.terms.items():
                del items[before.get(key, 0) :]
            for key, statements in self.queries.items():
                del statements[before_queries.get(key, 0) :]
            raise
        used: set[Hashable] = {k for k, v in self.terms.items() if len(v) != before.get(k, 0)}
        used |= {id(q) for k, v in self.queries.items() for q in v[before_queries.get(k, 0) :]}
        return getter, used


class _Grouped:
    """Values read per owner: by owner, the values of each term or statement."""

    def __init__(self) -> None:
        self.values: dict[str | None, dict[int, Any]] = {}
        self.owners: dict[Hashable, set[str | None]] = {}
        """Owners each object (``(connector, object)``) or statement (its id) has rows for."""
        self.failed: dict[Hashable, str] = {}

    def read_terms(
        self,
        engine: Engine,
        rt: ReplicaTable,
        owner: ColumnElement[Any],
        exprs: list[ColumnElement[Any]],
    ) -> None:
        """One ``SELECT owner, term… GROUP BY owner`` over an object."""
        key = (rt.connector, rt.obj)
        labelled = [e.label(f"t{i}") for i, e in enumerate(exprs)]
        statement = sa.select(owner.label("owner"), *labelled).select_from(rt.table).group_by(owner)
        try:
            with engine.connect() as conn:
                rows = conn.execute(statement).all()
        except sa.exc.SQLAlchemyError as exc:
            self.failed[key] = f"query over {rt.obj} per owner failed: {exc.__class__.__name__}"
            return
        seen = self.owners.setdefault(key, set())
        for row in rows:
            name = _owner(row[0])
            seen.add(name)
            bucket = self.values.setdefault(name, {})
            for expr, value in zip(exprs, row[1:], strict=True):
                bucket[id(expr)] = value

    def read_query(self, engine: Engine, obj: str, statement: Select[Any]) -> None:
        """A statement of one value per owner (a median, a duration to a related record)."""
        try:
            with engine.connect() as conn:
                rows = conn.execute(statement).all()
        except sa.exc.SQLAlchemyError as exc:
            self.failed[id(statement)] = (
                f"query over {obj} per owner failed: {exc.__class__.__name__}"
            )
            return
        seen = self.owners.setdefault(id(statement), set())
        for owner, value in rows:
            name = _owner(owner)
            seen.add(name)
            self.values.setdefault(name, {})[id(statement)] = value

    def owner_values(self, getter: Getter, used: set[Hashable], expr: Expr) -> OwnerValues:
        """The metric of every owner with rows in what it reads."""
        broken = [self.failed[u] for u in used if u in self.failed]
        if broken:
            return OwnerValues({}, None, broken[0])
        owners: set[str | None] = set()
        for unit in used:
            owners |= self.owners.get(unit, set())
        ordered = sorted(owners, key=lambda o: (o is None, o or ""))
        return OwnerValues(
            {owner: getter(self.values.get(owner, {})) for owner in ordered},
            empty_value(expr),
        )


def _owner(value: Any) -> str | None:
    """An owner as grouped (lower case; ``None``: no owner)."""
    return None if value is None else str(value)
