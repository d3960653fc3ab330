"""What to pull: per connector and object, the fields and row filters the key results need.

Fields are every field a metric aggregates, filters on or windows by. The row
filter is the union (any of) of the metrics' own conditions, each narrowed to
its cycle when its window is ``cycle`` or ``cycle_to_date``; when any metric
needs every row of an object, the object is pulled unfiltered. Filters do not
depend on the as-of date, so they stay the same for the whole cycle and the
replica stays valid from one run to the next.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync.connector import FieldInfo, Predicate
from okrsync.errors import ConnectorError
from okrsync.metric import Aggregate, ChurnRate, Nps, Operators, Ratio

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from okrsync.connector import Connector, ObjectInfo, RowFilter
    from okrsync.errors import Problem
    from okrsync.metric import Condition, Expr
    from okrsync.model import KeyResult, MappingSet

__all__ = ["ObjectPlan", "PullPlan", "build_plan", "check_fields"]


@dataclass
class ObjectPlan:
    """One object to replicate from one connector."""

    connector: str
    obj: str
    fields: set[str] = field(default_factory=set)
    groups: list[tuple[Predicate, ...]] | None = field(default_factory=list)
    """Any-of groups of predicates; ``None`` once some metric needs every row."""
    users: list[KeyResult] = field(default_factory=list)

    @property
    def filters(self) -> RowFilter:
        """The pushed-down row filter (``()``: every row)."""
        if not self.groups:
            return ()
        unique = list(dict.fromkeys(self.groups))
        return tuple(unique)

    @property
    def signature(self) -> str:
        """Digest of fields and filters: when it changes, the replica is pulled afresh."""
        data = {
            "fields": sorted(self.fields, key=str.lower),
            "filters": [[[p.field, p.op, _json(p.value)] for p in g] for g in self.filters],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


@dataclass
class PullPlan:
    """Every object to replicate, by (connector, object)."""

    objects: dict[tuple[str, str], ObjectPlan] = field(default_factory=dict)

    def get(self, connector: str, obj: str) -> ObjectPlan:
        """The plan of an object, created on first use."""
        key = (connector, obj)
        if key not in self.objects:
            self.objects[key] = ObjectPlan(connector, obj)
        return self.objects[key]

    def for_connector(self, connector: str) -> list[ObjectPlan]:
        """The objects of one connector, by name."""
        return sorted(
            (p for p in self.objects.values() if p.connector == connector), key=lambda p: p.obj
        )


def _predicates(name: str, cond: Condition) -> Iterator[Predicate]:
    if isinstance(cond, Operators):
        for op, value in cond.items():
            yield Predicate(name, op, value)  # type: ignore[arg-type]
    elif isinstance(cond, tuple):
        yield Predicate(name, "in", cond)
    else:
        yield Predicate(name, "eq", cond)


def _terms(expr: Expr) -> Iterator[Aggregate | Nps | ChurnRate]:
    if isinstance(expr, Ratio):
        yield from _terms(expr.ratio.numerator)  # type: ignore[arg-type]
        yield from _terms(expr.ratio.denominator)  # type: ignore[arg-type]
    else:
        yield expr


def _add(plan: ObjectPlan, term: Aggregate | Nps | ChurnRate, kr: KeyResult) -> None:
    groups = term.where_groups()
    for group in groups:
        plan.fields.update(group)
    window: tuple[Predicate, ...] = ()
    if isinstance(term, ChurnRate):
        plan.fields.update({term.customer_since, term.churned_on})
    else:
        measured = term.field
        if measured:
            plan.fields.add(measured)
        found = term.window_field()
        if found is not None:
            date_field, span = found
            plan.fields.add(date_field)
            if span in {"cycle", "cycle_to_date"}:
                window = (
                    Predicate(date_field, "gte", kr.cycle.start),
                    Predicate(date_field, "lte", kr.cycle.end),
                )
    if plan.groups is None:
        return
    if not groups and not window:
        plan.groups = None  # this metric needs every row
        return
    for group in groups or [{}]:
        preds = tuple(p for name, cond in group.items() for p in _predicates(name, cond))
        plan.groups.append(preds + window)


def build_plan(mappings: MappingSet) -> PullPlan:
    """The pull plan of every key result in ``mappings``."""
    plan = PullPlan()
    for kr in mappings.key_results():
        for term in _terms(kr.metric.expr):
            obj_plan = plan.get(kr.source, term.object_name)
            obj_plan.users.append(kr)
            _add(obj_plan, term, kr)
    return plan


def resolve_field(connector: Connector, info: ObjectInfo, path: str) -> FieldInfo | None:
    """The description of a field or a parent path (``Owner.Email``), if the CRM has it."""
    if "." not in path:
        return info.field(path)
    head, rest = path.split(".", 1)
    candidates = [head + "Id", head, head.removesuffix("__r") + "__c"]
    for name in candidates:
        ref = info.field(name)
        if ref is not None and ref.reference_to:
            parent = connector.describe(ref.reference_to)
            found = resolve_field(connector, parent, rest)
            if found is not None:
                return FieldInfo(path, found.type, found.label, nullable=True, writable=False)
    return None


def check_fields(
    plan: PullPlan,
    connectors: Mapping[str, Connector],
    failed: dict[str, str] | None = None,
) -> tuple[dict[tuple[str, str], dict[str, FieldInfo]], list[Problem]]:
    """Describe every planned object; return field types and problems for what the CRM lacks.

    A problem points at the key result's ``metric`` (``file:line:col``) and, for
    a catalog metric, names where the metric is defined. A connector that is
    missing or fails to describe is recorded in ``failed`` (name → reason) and
    its objects are left out.
    """
    failed = {} if failed is None else failed
    types: dict[tuple[str, str], dict[str, FieldInfo]] = {}
    problems: list[Problem] = []
    for key, obj_plan in sorted(plan.objects.items()):
        connector = connectors.get(obj_plan.connector)
        if obj_plan.connector in failed:
            continue
        if connector is None:
            failed[obj_plan.connector] = f"connector {obj_plan.connector} is not configured"
            continue
        try:
            info = connector.describe(obj_plan.obj)
        except LookupError:
            info = None
        except ConnectorError as exc:
            failed[obj_plan.connector] = str(exc)
            continue
        found: dict[str, FieldInfo] = {}
        for name in sorted(obj_plan.fields, key=str.lower):
            described = resolve_field(connector, info, name) if info is not None else None
            if described is None:
                problems.extend(_missing(obj_plan, name, info is None))
                continue
            found[name] = described
        types[key] = found
    return types, problems


def _missing(obj_plan: ObjectPlan, name: str, no_object: bool) -> Iterator[Problem]:
    seen: set[str] = set()
    for kr in obj_plan.users:
        if kr.origin is None or kr.full_key in seen:
            continue
        seen.add(kr.full_key)
        what = f"object `{obj_plan.obj}`" if no_object else f"field `{obj_plan.obj}.{name}`"
        message = f"{obj_plan.connector} has no {what}"
        if kr.metric.name:
            message += f" (used by metric `{kr.metric.name}`; override it in mappings/metrics.yaml)"
        yield kr.origin.problem(message, ("metric",))
