"""What to pull: per connector and object, the fields and row filters the key results need.

Fields are every field a metric aggregates, filters on or windows by. The row
filter is the union (any of) of the metrics' own conditions, each narrowed to
its cycle when its window is ``cycle`` or ``cycle_to_date``; when any metric
needs every row of an object, the object is pulled unfiltered. A duration to
the first related record also pulls the related object: the records that
point at another (``WhoId`` set), dated from the cycle's start when the
duration's window on its start is the cycle. Filters do not
depend on the as-of date, so they stay the same for the whole cycle and the
replica stays valid from one run to the next.
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from okrsync._parallel import run_each
from okrsync.connector import FieldInfo, Predicate, RecordOwners
from okrsync.errors import ConnectorError, RetriableConnectorError
from okrsync.metric import Aggregate, ChurnRate, Duration, Nps, Operators, leaf_terms

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from okrsync._yaml import LocatedDocument, YamlPath
    from okrsync.connector import Connector, ObjectInfo, RowFilter
    from okrsync.errors import Problem
    from okrsync.metric import Condition
    from okrsync.model import KeyResult, MappingSet

__all__ = [
    "ObjectPlan",
    "PullPlan",
    "added_since",
    "build_plan",
    "check_fields",
    "objects_read",
    "pulled_form",
    "window_fields",
]


@dataclass
class ObjectPlan:
    """One object to replicate from one connector."""

    connector: str
    obj: str
    fields: set[str] = field(default_factory=set)
    groups: list[tuple[Predicate, ...]] | None = field(default_factory=list)
    """Any-of groups of predicates; ``None`` once some metric needs every row."""
    users: list[KeyResult] = field(default_factory=list)
    owned: list[KeyResult] = field(default_factory=list)
    """Key results computed per owner over this object: the owner field is pulled too."""
    owner_field: str | None = None
    """The connector's field holding a record's owner, once :func:`check_fields` asked it."""

    @property
    def filters(self) -> RowFilter:
        """The pushed-down row filter (``()``: every row).

        Groups that another group already covers are left out (a won deal
        closed in Q3 is also a won deal closed this year), so the filter says
        the same with fewer groups.
        """
        if not self.groups:
            return ()
        return without_covered(self.groups)

    @property
    def signature(self) -> str:
        """Digest of fields and filters: when it changes, the replica is pulled afresh."""
        data = {
            "fields": sorted(self.fields, key=str.lower),
            "filters": [[[p.field, p.op, _json(p.value)] for p in g] for g in self.filters],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def pulled_form(fields: set[str], filters: RowFilter) -> dict[str, Any]:
    """Fields and filter of a pull, JSON-ready and exact (kept with the object's cursor)."""
    return {
        "fields": sorted(fields, key=str.lower),
        "filters": [[[p.field, p.op, _typed(p.value)] for p in group] for group in filters],
    }


def added_since(obj_plan: ObjectPlan, pulled: dict[str, Any]) -> tuple[list[str], RowFilter | None]:
    """What ``obj_plan`` needs that a replica pulled as ``pulled`` (:func:`pulled_form`) lacks.

    Returns the fields it adds and the row filter of the rows to pull (``None``:
    no rows; ``()``: every row). A replica holds the rows of its filter and
    every row changed since, so a narrower filter or fewer fields need nothing;
    added any-of groups need the rows of those groups not covered by an old
    group; an added field needs every row of the new filter read again (its
    value is in no row yet), without clearing the replica or its cursor.
    """
    known = {str(name).lower() for name in pulled.get("fields") or []}
    fields = sorted((f for f in obj_plan.fields if f.lower() not in known), key=str.lower)
    new = obj_plan.filters
    if fields:
        return fields, new
    old = tuple(
        tuple(Predicate(str(f), op, _untyped(v)) for f, op, v in group)
        for group in pulled.get("filters") or []
    )
    if not old:  # every row was pulled
        return fields, None
    if not new:  # every row is needed now
        return fields, ()
    added = tuple(g for g in new if not any(_covers(o, g) for o in old))
    return fields, added or None


def _typed(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"list": [_typed(v) for v in value]}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _untyped(value: Any) -> Any:
    if isinstance(value, dict):
        if "list" in value:
            return tuple(_untyped(v) for v in value["list"])
        if "datetime" in value:
            return datetime.fromisoformat(str(value["datetime"]))
        if "date" in value:
            return date.fromisoformat(str(value["date"]))
    return value


def without_covered(groups: list[tuple[Predicate, ...]]) -> RowFilter:
    """The any-of ``groups`` less those whose rows another group already matches.

    A group is covered by another when each of the other's predicates follows
    from one of its own on the same field (``gte 2026-07-01`` follows from
    ``gte 2026-08-01``; ``in (a, b)`` from ``eq a``). Of two equal groups the
    first stays. What cannot be shown to follow (mixed types, text order)
    is kept: the result matches exactly the rows ``groups`` matches.
    """
    kept: list[tuple[Predicate, ...]] = []
    for i, group in enumerate(groups):
        covered = any(
            _covers(other, group) and (not _covers(group, other) or j < i)
            for j, other in enumerate(groups)
            if j != i
        )
        if not covered:
            kept.append(group)
    return tuple(kept)


def _covers(wide: tuple[Predicate, ...], narrow: tuple[Predicate, ...]) -> bool:
    """Whether every row matching ``narrow`` matches ``wide``."""
    return all(any(_implies(q, p) for q in narrow if q.field == p.field) for p in wide)


_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_LOWER = {"gt", "gte"}
_UPPER = {"lt", "lte"}


def _implies(q: Predicate, p: Predicate) -> bool:
    """Whether ``q`` holding on a value means ``p`` holds (``False`` when not sure)."""
    if q == p:
        return True
    try:
        if q.op == "eq" and q.value is not None:
            if p.op == "in":
                return q.value in p.value
            if p.op in _LOWER | _UPPER:
                return _holds(q.value, p.op, p.value)
            return False
        if q.op == "in" and p.op == "in":
            return set(q.value) <= set(p.value)
        if isinstance(q.value, str) or isinstance(p.value, str):
            return False  # text order is the CRM's collation, not Python's
        if q.op in _LOWER and p.op in _LOWER:
            strict = q.op == "gt" or p.op == "gte"
            return bool(q.value >= p.value) if strict else bool(q.value > p.value)
        if q.op in _UPPER and p.op in _UPPER:
            strict = q.op == "lt" or p.op == "lte"
            return bool(q.value <= p.value) if strict else bool(q.value < p.value)
    except TypeError:  # values of different types: not comparable here
        return False
    return False


def _holds(value: Any, op: str, bound: Any) -> bool:
    if isinstance(value, str) or isinstance(bound, str):
        return False  # text order is the CRM's collation, not Python's
    return bool(_ORDER[op](value, bound))


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


def _add(plan: ObjectPlan, term: Aggregate | Nps | ChurnRate, kr: KeyResult) -> None:
    groups = term.where_groups()
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
    _narrow(plan, groups, window)


def _narrow(
    plan: ObjectPlan, groups: list[dict[str, Condition]], also: tuple[Predicate, ...]
) -> None:
    """Add the rows matching any of ``groups`` (each with ``also``) to what ``plan`` pulls."""
    for group in groups:
        plan.fields.update(group)
    if plan.groups is None:
        return
    if not groups and not also:
        plan.groups = None  # this metric needs every row
        return
    for group in groups or [{}]:
        preds = tuple(p for name, cond in group.items() for p in _predicates(name, cond))
        plan.groups.append(preds + also)


def _cycle_window(found: tuple[str, str] | None, kr: KeyResult) -> tuple[Predicate, ...]:
    """The predicates of a window on the cycle (none for other windows)."""
    if found is None or found[1] not in {"cycle", "cycle_to_date"}:
        return ()
    return (Predicate(found[0], "gte", kr.cycle.start), Predicate(found[0], "lte", kr.cycle.end))


def _add_duration(plan: PullPlan, term: Duration, kr: KeyResult) -> None:
    """Plan the measured object and, for an end at the first related record, the related ones."""
    base = plan.get(kr.source, term.object_name)
    base.users.append(kr)
    if kr.by_owner:
        base.owned.append(kr)
    found = term.window_field()
    base.fields.update({term.from_, *([term.end_field] if term.end_field else [])})
    if found is not None:
        base.fields.add(found[0])
    _narrow(base, term.where_groups(), _cycle_window(found, kr))
    related = term.related
    if related is None:
        return
    # a related record ends a duration only from its start on: when the start is in the
    # cycle, so is the end (the cycle's end does not bound it: an answer may come later)
    from_cycle = found is not None and found[0] == term.from_ and bool(_cycle_window(found, kr))
    for obj, name in related.targets():
        other = plan.get(kr.source, obj)
        other.users.append(kr)
        other.fields.update({related.via, name})
        pointing = Predicate(related.via, "is_null", value=False)
        since = (Predicate(name, "gte", kr.cycle.start),) if from_cycle else ()
        _narrow(other, related.where_groups(), (pointing, *since))


def build_plan(mappings: MappingSet) -> PullPlan:
    """The pull plan of every key result in ``mappings``."""
    plan = PullPlan()
    for kr in mappings.key_results():
        for term in leaf_terms(kr.metric.expr):
            if isinstance(term, Duration):
                _add_duration(plan, term, kr)
                continue
            obj_plan = plan.get(kr.source, term.object_name)
            obj_plan.users.append(kr)
            if kr.by_owner:
                obj_plan.owned.append(kr)
            _add(obj_plan, term, kr)
    return plan


@dataclass(frozen=True, slots=True)
class _KeyResults:
    """Key results in the shape :func:`build_plan` reads (``key_results()``)."""

    items: tuple[KeyResult, ...]

    def key_results(self) -> Iterator[KeyResult]:
        """The key results, in order."""
        return iter(self.items)


def objects_read(krs: Iterable[KeyResult]) -> dict[str, set[tuple[str, str]]]:
    """Per key result (full key), the ``(connector, object)`` pairs its metric reads."""
    items = tuple(krs)
    out: dict[str, set[tuple[str, str]]] = {kr.full_key: set() for kr in items}
    plan = build_plan(cast("MappingSet", _KeyResults(items)))
    for key, obj_plan in plan.objects.items():
        for kr in obj_plan.users:
            out[kr.full_key].add(key)
    return out


def window_fields(obj_plan: ObjectPlan) -> set[str]:
    """The date fields the metrics over the plan's object window by (the replica indexes them)."""
    found: set[str] = set()
    for kr in obj_plan.users:
        for term in leaf_terms(kr.metric.expr):
            window = getattr(term, "window_field", None)
            if getattr(term, "object_name", None) != obj_plan.obj or window is None:
                continue
            span = window()
            if span is not None:
                found.add(span[0])
    return found


def resolve_field(
    connector: Connector, info: ObjectInfo, path: str, *, refresh: bool = False
) -> FieldInfo | None:
    """The description of a field or a parent path (``Owner.Email``), if the CRM has it.

    ``refresh`` describes the parent objects anew instead of from the cache.
    """
    if "." not in path:
        return info.field(path)
    head, rest = path.split(".", 1)
    candidates = [head + "Id", head, head.removesuffix("__r") + "__c"]
    for name in candidates:
        ref = info.field(name)
        if ref is not None and ref.reference_to:
            parent = connector.describe(ref.reference_to, refresh=refresh)
            found = resolve_field(connector, parent, rest, refresh=refresh)
            if found is not None:
                return FieldInfo(path, found.type, found.label, nullable=True, writable=False)
    return None


def check_fields(
    plan: PullPlan,
    connectors: Mapping[str, Connector],
    failed: dict[str, str] | None = None,
    unreachable: set[str] | None = None,
) -> tuple[dict[tuple[str, str], dict[str, FieldInfo]], list[Problem]]:
    """Describe every planned object; return field types and problems for what the CRM lacks.

    A problem points where the mappings write the missing field (see
    :func:`_missing`). A connector that is missing or fails to describe is
    recorded in ``failed`` (name → reason) and its objects are left out; one
    that could not be reached (a retriable error still failing after the
    connector's retries) is also added to ``unreachable``. The CRMs are
    described at once, so one that cannot be reached does not hold up the
    others. Connectors may answer from their schema cache; when a field is
    missing there, the object is described anew before the field is reported
    (so a field just added in the CRM is found at once).
    """
    failed = {} if failed is None else failed
    by_connector: dict[str, list[ObjectPlan]] = {}
    for _, obj_plan in sorted(plan.objects.items()):
        by_connector.setdefault(obj_plan.connector, []).append(obj_plan)
    checks: dict[str, _Check] = {}
    for name, plans in by_connector.items():
        connector = connectors.get(name)
        if name in failed:
            continue
        if connector is None:
            failed[name] = f"connector {name} is not configured"
            continue
        checks[name] = _Check(connector, plans)
    run_each([check.run for check in checks.values()], name="okrsync-describe")
    types: dict[tuple[str, str], dict[str, FieldInfo]] = {}
    problems: list[Problem] = []
    for name, check in sorted(checks.items()):
        types.update(check.types)
        problems.extend(check.problems)
        if check.error is not None:
            failed[name] = str(check.error)
            if unreachable is not None and isinstance(check.error, RetriableConnectorError):
                unreachable.add(name)
    problems.extend(_undated(plan, types))
    return types, list(dict.fromkeys(problems))


@dataclass
class _Check:
    """The describes of one connector's planned objects (run in its own thread)."""

    connector: Connector
    plans: list[ObjectPlan]
    types: dict[tuple[str, str], dict[str, FieldInfo]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    error: ConnectorError | None = None

    def run(self) -> None:
        """Describe each object in turn; the first connector error ends this connector's."""
        for obj_plan in self.plans:
            try:
                if obj_plan.owned:
                    self.problems.extend(_plan_owner(self.connector, obj_plan))
                found, missing = _described(self.connector, obj_plan, refresh=False)
                if missing:
                    found, missing = _described(self.connector, obj_plan, refresh=True)
            except ConnectorError as exc:
                self.error = exc
                return
            for name, no_object in missing:
                self.problems.extend(_missing(obj_plan, name, no_object))
            self.types[obj_plan.connector, obj_plan.obj] = found


def _plan_owner(connector: Connector, obj_plan: ObjectPlan) -> list[Problem]:
    """Add the owner field to what ``obj_plan`` pulls; a problem per key result if it has none."""
    name: str | None = None
    if isinstance(connector, RecordOwners):
        try:
            name = connector.owner_field(obj_plan.obj)
        except LookupError:
            return []  # no such object: reported as missing
    if name is not None:
        obj_plan.owner_field = name
        obj_plan.fields.add(name)
        return []
    why = (
        f"{obj_plan.connector} records have no owner"
        if not isinstance(connector, RecordOwners)
        else f"{obj_plan.connector} object `{obj_plan.obj}` has no owner field"
    )
    problems = []
    for kr in {kr.full_key: kr for kr in obj_plan.owned}.values():
        if kr.origin is None:
            continue
        at = ("breakdown",) if kr.breakdown else ("for_each",)
        problems.append(
            kr.origin.problem(
                f"{why}; expected a metric over an object whose records are owned by people "
                "to compute it per owner",
                at,
            )
        )
    return problems


def _described(
    connector: Connector, obj_plan: ObjectPlan, *, refresh: bool
) -> tuple[dict[str, FieldInfo], list[tuple[str, bool]]]:
    """The planned fields described, and those missing (``(name, whole object missing)``)."""
    try:
        info: ObjectInfo | None = connector.describe(obj_plan.obj, refresh=refresh)
    except LookupError:
        info = None
    found: dict[str, FieldInfo] = {}
    missing: list[tuple[str, bool]] = []
    for name in sorted(obj_plan.fields, key=str.lower):
        described = (
            resolve_field(connector, info, name, refresh=refresh) if info is not None else None
        )
        if described is None:
            missing.append((name, info is None))
        else:
            found[name] = described
    return found, missing


def _missing(obj_plan: ObjectPlan, name: str, no_object: bool) -> Iterator[Problem]:
    """One problem where each mapping writes the missing object or field.

    That is the key result's own metric, or the ``metrics:`` entry of a mapping
    file it names. A built-in catalog metric cannot be edited, so it is blamed
    at the name that uses it, with how to override it. Key results that share
    the object but never mention the field are not blamed.
    """
    what = f"object `{obj_plan.obj}`" if no_object else f"field `{obj_plan.obj}.{name}`"
    message = f"{obj_plan.connector} has no {what}"
    found = False
    for kr in obj_plan.users:
        if kr.origin is None:
            continue
        metrics_file = Path(kr.origin.doc.file).parent / "metrics.yaml"
        for mention in _Mentions(kr, obj_plan.obj, None if no_object else name).mentions():
            found = True
            if mention.builtin is None:
                yield mention.doc.problem(mention.path, message, key=mention.key)
            else:
                via = mention.builtin
                yield mention.doc.problem(
                    mention.path,
                    f"{message}, which the built-in metric `{via}` uses; define your own "
                    f"`{via}` under `metrics: {{{obj_plan.connector}: …}}` (for example in "
                    f"{metrics_file}) with the fields your CRM has",
                )
    if not found:  # nowhere to point at: blame each key result reading the object
        for kr in obj_plan.users:
            if kr.origin is not None:
                yield kr.origin.problem(message, ("metric",))


_TERM_KEYS = (
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "count_distinct",
    "nps",
    "churn_rate",
    "avg_duration",
    "median_duration",
)


@dataclass(frozen=True)
class _Mention:
    """A place in a YAML document that names an object or field."""

    doc: LocatedDocument
    path: YamlPath
    key: bool = False
    """The mention is a mapping key (a ``where`` or ``window`` field)."""
    builtin: str | None = None
    """The built-in metric the mention is inside, blamed where its name is written."""


class _Mentions:
    """Where one key result's metric, as written in YAML, names an object or one of its fields."""

    def __init__(self, kr: KeyResult, obj: str, field_name: str | None) -> None:
        self.kr = kr
        self.obj = obj
        self.field = field_name.casefold() if field_name else None
        self.definitions = {d.name: d for d in kr.metric.definitions}

    def mentions(self) -> list[_Mention]:
        """Each place, once."""
        if self.kr.origin is None:
            return []
        origin = self.kr.origin
        found = self._walk(_Mention(origin.doc, (*origin.path, "metric")), None, ())
        return list({(m.doc.file, m.path): m for m in found}.values())

    def _walk(self, at: _Mention, via: _Mention | None, stack: tuple[str, ...]) -> list[_Mention]:
        raw = at.doc.get(at.path)
        if isinstance(raw, str):  # a metric name: look inside its definition
            definition = self.definitions.get(raw)
            if definition is None or raw in stack:
                return []
            if definition.builtin and via is None:
                via = _Mention(at.doc, at.path, builtin=raw)
            origin = definition.origin
            return self._walk(_Mention(origin.doc, (*origin.path, "metric")), via, (*stack, raw))
        if not isinstance(raw, dict):
            return []
        quotient = next((k for k in ("ratio", "per") if isinstance(raw.get(k), dict)), None)
        if quotient is not None:
            return [
                m
                for part in ("numerator", "denominator")
                for m in self._walk(_Mention(at.doc, (*at.path, quotient, part)), via, stack)
            ]
        return [via or m for m in self._in_term(at, raw)]

    def _in_term(self, at: _Mention, raw: dict[str, Any]) -> Iterator[_Mention]:
        head = next((k for k in _TERM_KEYS if isinstance(raw.get(k), str)), None)
        if head is None or str(raw[head]).partition(".")[0] != self.obj:
            return
        if self.field is None or str(raw[head]).partition(".")[2].casefold() == self.field:
            yield _Mention(at.doc, (*at.path, head))
        if self.field is None:
            return
        for key in ("customer_since", "churned_on", "from", "to"):
            if str(raw.get(key, "")).casefold() == self.field:
                yield _Mention(at.doc, (*at.path, key))
        for sub, names in _keyed(raw):
            yield from (
                _Mention(at.doc, (*at.path, *sub, n), key=True)
                for n in names
                if n.casefold() == self.field
            )


def _keyed(raw: dict[str, Any]) -> Iterator[tuple[YamlPath, list[str]]]:
    """The field names a term uses as keys: each ``where`` group's, then the ``window``'s."""
    where = raw.get("where")
    if isinstance(where, dict):
        yield ("where",), list(where)
    elif isinstance(where, list):
        for i, group in enumerate(where):
            if isinstance(group, dict):
                yield ("where", i), list(group)
    window = raw.get("window")
    if isinstance(window, dict):
        yield ("window",), list(window)


_DATED = {"date", "datetime"}


def _undated(
    plan: PullPlan, types: Mapping[tuple[str, str], Mapping[str, FieldInfo]]
) -> Iterator[Problem]:
    """A problem for each field a duration measures from or to that is not a date or date-time."""
    krs = {kr.full_key: kr for obj_plan in plan.objects.values() for kr in obj_plan.users}
    for kr in krs.values():
        if kr.origin is None:
            continue
        inline = kr.metric.name is None and isinstance(kr.metric.expr, Duration)
        for term in leaf_terms(kr.metric.expr):
            if not isinstance(term, Duration):
                continue
            for obj, name, at in _dated_fields(term):
                info = types.get((kr.source, obj), {}).get(name)
                if info is None or info.type in _DATED:
                    continue  # a missing field is reported as missing
                message = (
                    f"expected a date or date-time field, got `{obj}.{name}` ({info.type}): "
                    "a duration is measured between dates"
                )
                if kr.metric.name:
                    message += f" (used by metric `{kr.metric.name}`)"
                yield kr.origin.problem(message, ("metric", *at) if inline else ("metric",))


def _dated_fields(term: Duration) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """``(object, field, YAML path below the metric)`` of each date a duration reads."""
    yield term.object_name, term.from_, ("from",)
    if term.end_field is not None:
        yield term.object_name, term.end_field, ("to",)
    if term.related is not None:
        for obj, name in term.related.targets():
            yield obj, name, ("to", "first")
