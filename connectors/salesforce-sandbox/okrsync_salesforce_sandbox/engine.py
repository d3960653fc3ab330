"""Answering SOQL: names resolved against the schema, the tree compiled to store conditions, pages.

:class:`QueryEngine` runs a parsed query on the :class:`~okrsync_sandbox.store.Store`
and answers in Salesforce's JSON: records with ``attributes`` and nested
relationship objects, ``AggregateResult`` rows, or only ``totalSize`` for a
plain ``COUNT()``. Results come in pages (2 000 rows by default) behind a query
locator; a page is read from the store with ``LIMIT``, resuming by row id
(queries without ``ORDER BY``), by the last row's sort key (``ORDER BY`` on
non-text fields of the object) or by offset (the rest), so no request loads a
whole object.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from okrsync_salesforce_sandbox.dates import date_range
from okrsync_salesforce_sandbox.errors import SalesforceError
from okrsync_salesforce_sandbox.ids import is_id, make_id, normalize_id
from okrsync_salesforce_sandbox.soql import (
    Aggregate,
    BoolOp,
    Comparison,
    CountAll,
    FieldRef,
    Membership,
    Negation,
    Query,
    Value,
    error_at,
    parse,
)
from okrsync_salesforce_sandbox.values import escape_like, render_value
from okrsync_sandbox.store import And, Cmp, Cond, FieldType, Not, Or, OrderBy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from okrsync_salesforce_sandbox.schema import Schema, SField, SObjectType
    from okrsync_salesforce_sandbox.soql import Condition
    from okrsync_sandbox.store import Store

    Hidden: TypeAlias = Callable[[str, str | None], bool]
    """Whether the calling user may not see an object (field ``None``) or one of its fields."""

__all__ = [
    "DEFAULT_BATCH",
    "MAX_BATCH",
    "MAX_OFFSET",
    "MIN_BATCH",
    "QueryEngine",
    "RecordPlan",
    "window",
]

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
MAX_OFFSET = 2000
_NUMERIC = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
_TYPE_NAMES = {
    FieldType.DOUBLE: "double",
    FieldType.CURRENCY: "double",
    FieldType.PERCENT: "double",
    FieldType.INT: "integer",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.DATETIME: "dateTime",
    FieldType.ID: "id",
    FieldType.REFERENCE: "reference",
}
_UNKNOWN_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
_UNKNOWN_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_UNKNOWN_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, "
    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


# -- compiled plans -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A field path resolved on the schema."""

    path: str
    """Canonical path, e.g. ``Account.Owner.Email``."""
    field: SField
    relationships: tuple[tuple[str, SObjectType], ...]


@dataclass(frozen=True, slots=True)
class _Leaf:
    path: str
    kind: FieldType


@dataclass(slots=True)
class _Node:
    """An object in a rendered record: its type, the path of its Id, its items by name."""

    type: str
    id_path: str
    items: dict[str, _Leaf | _Node] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _RecordPlan:
    sobject: SObjectType
    paths: tuple[str, ...]
    shape: _Node
    where: Cond | None
    order: tuple[OrderBy, ...]
    mode: Literal["rowid", "keyset", "offset"]
    limit: int | None
    offset: int
    include_deleted: bool
    columns: tuple[tuple[str, FieldType], ...] = ()
    """The selected field paths and types, in SELECT order (Bulk API 2.0's CSV columns)."""


RecordPlan = _RecordPlan
"""The plan of a query that returns records (not aggregates, not ``COUNT()``)."""


@dataclass(frozen=True, slots=True)
class _Column:
    """One column of an aggregate result: a group field or an aggregate."""

    key: str
    kind: FieldType
    index: int
    shown: bool


@dataclass(frozen=True, slots=True)
class _AggregatePlan:
    sobject: SObjectType
    groups: tuple[str, ...]
    aggregates: tuple[tuple[str, str | None], ...]
    columns: tuple[_Column, ...]
    where: Cond | None
    order: tuple[tuple[int, bool, bool], ...]
    """(column index, ascending, nulls first)."""
    limit: int | None
    offset: int
    include_deleted: bool


@dataclass(frozen=True, slots=True)
class _CountPlan:
    sobject: SObjectType
    where: Cond | None
    limit: int | None
    offset: int
    include_deleted: bool


@dataclass(slots=True)
class _Cursor:
    """An open query locator: where each page position resumes."""

    plan: _RecordPlan
    total: int
    all_rows: bool
    version: str
    batch_size: int
    resume: dict[int, Any] = field(default_factory=dict)
    used: float = 0.0
    finished: bool = False


# -- the engine -----------------------------------------------------------------


class QueryEngine:
    """Runs SOQL over a store for one API (the data API or the Tooling API).

    Args:
        store: Where the rows are.
        schema: The objects queries may name.
        today: The sandbox's current date (UTC), for date literals.
        api_path: The API's path below the version (``""`` or ``"tooling/"``).
        max_cursors: Open query locators kept; the least recently used goes first.
        cursor_ttl: Seconds an unused locator lives.
    """

    def __init__(
        self,
        store: Store,
        schema: Schema,
        today: Callable[[], date],
        *,
        api_path: str = "",
        max_cursors: int = 10,
        cursor_ttl: float = 15 * 60,
    ) -> None:
        self.store = store
        self.schema = schema
        self.today = today
        self.api_path = api_path
        self.max_cursors = max_cursors
        self.cursor_ttl = cursor_ttl
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._serial = itertools.count(1)

    # -- public -------------------------------------------------------------------

    def query(
        self,
        text: str,
        *,
        all_rows: bool = False,
        batch_size: int = DEFAULT_BATCH,
        version: str = "59.0",
        hidden: Hidden | None = None,
    ) -> dict[str, Any]:
        """The first page of the answer to ``text`` (``queryAll`` with ``all_rows``).

        ``hidden`` says which objects and fields the calling user may not see
        (:meth:`~okrsync_salesforce_sandbox.access.Access.hidden`): the query
        fails on them as on names that do not exist.
        """
        plan = self.compile(parse(text), all_rows=all_rows, hidden=hidden)
        if isinstance(plan, _CountPlan):
            count = self.store.count(
                plan.sobject.name, plan.where, include_deleted=plan.include_deleted
            )
            return {
                "totalSize": _window(count, plan.offset, plan.limit),
                "done": True,
                "records": [],
            }
        if isinstance(plan, _AggregatePlan):
            return self._aggregate(plan)
        count = self.store.count(
            plan.sobject.name, plan.where, include_deleted=plan.include_deleted
        )
        cursor = _Cursor(
            plan, _window(count, plan.offset, plan.limit), all_rows, version, batch_size
        )
        cursor.resume[0] = None
        return self._page(cursor, self._new_locator(cursor), 0, batch_size)

    def query_more(self, locator: str, *, batch_size: int | None = None) -> dict[str, Any]:
        """The page at ``locator`` (``01g…-2000``); ``INVALID_QUERY_LOCATOR`` when unknown.

        Pages keep the query's batch size unless ``batch_size`` gives another.
        """
        key, _, position_text = locator.rpartition("-")
        with self._lock:
            self._expire()
            cursor = self._cursors.get(key)
            if cursor is not None:
                self._cursors.move_to_end(key)
        if cursor is None or not position_text.isdigit():
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        position = int(position_text)
        if position not in cursor.resume:
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, key, position, batch_size or cursor.batch_size)

    def open_cursors(self) -> int:
        """How many query locators are open."""
        with self._lock:
            return len(self._cursors)

    # -- compiling ----------------------------------------------------------------

    def compile(
        self, query: Query, *, all_rows: bool = False, hidden: Hidden | None = None
    ) -> _RecordPlan | _AggregatePlan | _CountPlan:
        """A plan for a parsed query (``SalesforceError`` for unknown and hidden names, misuse)."""
        obj = self.schema.get(query.sobject)
        if obj is None or not obj.queryable or (hidden is not None and hidden(obj.name, None)):
            raise error_at(
                query.text,
                query.sobject_pos,
                _UNKNOWN_TYPE.format(name=query.sobject),
                "INVALID_TYPE",
            )
        compiler = _Compiler(self, query, obj, hidden)
        offset = query.offset or 0
        if offset > MAX_OFFSET:
            raise SalesforceError(
                400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        where = compiler.condition(query.where) if query.where is not None else None
        if not all_rows and obj.field("IsArchived") is not None:
            # query() leaves archived activities out; queryAll() returns them ("You can use
            # queryAll() to query on all Task and Event records, archived or not. You cannot
            # use query() as it automatically filters out all records where isArchived is
            # set to true": SOAP API Developer Guide, queryAll()).
            live: Cond = Cmp("IsArchived", "!=", value=True)
            where = live if where is None else And((where, live))
        counts = [item for item in query.select if isinstance(item, CountAll)]
        if counts:
            if len(query.select) > 1:
                raise error_at(
                    query.text, counts[0].pos, "COUNT() must be the only element in the SELECT list"
                )
            if query.group_by or query.order_by:
                raise error_at(
                    query.text,
                    counts[0].pos,
                    "COUNT() with GROUP BY or ORDER BY is not supported by the okrsync "
                    "sandbox's SOQL subset",
                )
            return _CountPlan(obj, where, query.limit, offset, all_rows)
        if query.group_by or any(isinstance(item, Aggregate) for item in query.select):
            return compiler.aggregate_plan(where, offset, all_rows)
        return compiler.record_plan(where, offset, all_rows)

    # -- running ------------------------------------------------------------------

    def _new_locator(self, cursor: _Cursor) -> str:
        key = make_id("01g", next(self._serial))[:15]
        cursor.used = time.monotonic()
        with self._lock:
            self._expire()
            self._cursors[key] = cursor
            while len(self._cursors) > self.max_cursors:
                finished = next((k for k, c in self._cursors.items() if c.finished), None)
                self._cursors.pop(finished if finished is not None else next(iter(self._cursors)))
        return key

    def _expire(self) -> None:
        limit = time.monotonic() - self.cursor_ttl
        for key in [k for k, c in self._cursors.items() if c.used < limit]:
            del self._cursors[key]

    def _page(self, cursor: _Cursor, key: str, position: int, batch_size: int) -> dict[str, Any]:
        plan = cursor.plan
        cursor.used = time.monotonic()
        size = max(0, min(batch_size, cursor.total - position))
        rows = self.fetch(plan, position, cursor.resume[position], size)
        records = [_render(plan.shape, row, cursor.version, self.api_path) for row in rows]
        end = position + len(rows)
        done = end >= cursor.total or len(rows) < size
        out: dict[str, Any] = {"totalSize": cursor.total, "done": done}
        if done:
            cursor.finished = True
        else:
            cursor.resume[end] = self.resume_key(plan, rows[-1], end)
            for old in [p for p in cursor.resume if p < position]:
                del cursor.resume[old]
            kind = "queryAll" if cursor.all_rows else "query"
            out["nextRecordsUrl"] = (
                f"/services/data/v{cursor.version}/{self.api_path}{kind}/{key}-{end}"
            )
        out["records"] = records
        return out

    def fetch(
        self, plan: _RecordPlan, position: int, resume: Any, size: int
    ) -> list[dict[str, Any]]:
        """Up to ``size`` rows of ``plan`` from ``position`` (``resume``: its key, or ``None``)."""
        where = plan.where
        offset = 0
        after_rowid = None
        if plan.mode == "rowid":
            after_rowid = resume
            offset = plan.offset if position == 0 else 0
        elif plan.mode == "keyset":
            if resume is not None:
                after = _after(plan.order, resume)
                where = after if where is None else And((where, after))
            else:
                offset = plan.offset
        else:
            offset = plan.offset + position
        return (
            list(
                self.store.select(
                    plan.sobject.name,
                    plan.paths,
                    where,
                    order_by=plan.order if plan.mode != "rowid" else (),
                    limit=size,
                    offset=offset,
                    after_rowid=after_rowid,
                    include_deleted=plan.include_deleted,
                    with_rowid=True,
                )
            )
            if size
            else []
        )

    @staticmethod
    def resume_key(plan: _RecordPlan, last: dict[str, Any], end: int) -> Any:
        """Where the rows after ``last`` (the row at position ``end − 1``) resume."""
        if plan.mode == "rowid":
            return last["_rowid"]
        if plan.mode == "keyset":
            return tuple(last[o.field] for o in plan.order)
        return end

    def _aggregate(self, plan: _AggregatePlan) -> dict[str, Any]:
        rows = self.store.aggregate(
            plan.sobject.name,
            plan.groups,
            plan.aggregates,
            plan.where,
            include_deleted=plan.include_deleted,
        )
        if plan.order:
            rows = sorted(rows, key=functools.cmp_to_key(_comparator(plan.order)))
        rows = rows[plan.offset :]
        if plan.limit is not None:
            rows = rows[: plan.limit]
        if len(rows) > MAX_BATCH:
            raise SalesforceError(
                400,
                "MALFORMED_QUERY",
                "Aggregate query does not support queryMore(), use LIMIT to restrict the "
                "results to a single batch",
            )
        records = []
        for row in rows:
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for column in plan.columns:
                if column.shown:
                    record[column.key] = render_value(column.kind, row[column.index])
            records.append(record)
        return {"totalSize": len(records), "done": True, "records": records}


def _window(count: int, offset: int, limit: int | None) -> int:
    rows = max(0, count - offset)
    return rows if limit is None else min(rows, limit)


window = _window
"""Rows a query answers: ``count`` matching rows after ``OFFSET`` and ``LIMIT``."""


def _after(order: Sequence[OrderBy], last: Sequence[Any]) -> Cond:
    """Rows after ``last`` in the order ``order`` (keyset paging)."""
    alternatives: list[Cond] = []
    for i, key in enumerate(order):
        beyond = _beyond(key, last[i])
        if beyond is None:
            continue
        equal = [Cmp(order[j].field, "=", last[j]) for j in range(i)]
        alternatives.append(And((*equal, beyond)))
    return Or(tuple(alternatives))


def _beyond(key: OrderBy, value: Any) -> Cond | None:
    nulls_first = key.nulls_first if key.nulls_first is not None else key.ascending
    if value is None:
        return Cmp(key.field, "!=", None) if nulls_first else None
    after: Cond = Cmp(key.field, ">" if key.ascending else "<", value)
    if not nulls_first:
        after = Or((after, Cmp(key.field, "=", None)))
    return after


def _comparator(
    order: Sequence[tuple[int, bool, bool]],
) -> Callable[[tuple[Any, ...], tuple[Any, ...]], int]:
    def compare(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
        for index, ascending, nulls_first in order:
            x, y = a[index], b[index]
            if x is None and y is None:
                continue
            if x is None or y is None:
                return (-1 if x is None else 1) * (1 if nulls_first else -1)
            if isinstance(x, str) and isinstance(y, str):
                x, y = x.casefold(), y.casefold()
            if x == y:
                continue
            result = -1 if x < y else 1
            return result if ascending else -result
        return 0

    return compare


def _render(node: _Node, row: dict[str, Any], version: str, api_path: str) -> dict[str, Any]:
    record_id = row[node.id_path]
    out: dict[str, Any] = {
        "attributes": {
            "type": node.type,
            "url": f"/services/data/v{version}/{api_path}sobjects/{node.type}/{record_id}",
        }
    }
    for name, item in node.items.items():
        if isinstance(item, _Node):
            out[name] = (
                _render(item, row, version, api_path) if row[item.id_path] is not None else None
            )
        else:
            out[name] = render_value(item.kind, row[item.path])
    return out


# -- the compiler -----------------------------------------------------------------


class _Compiler:
    """Resolves one query's names and builds its plan."""

    def __init__(
        self, engine: QueryEngine, query: Query, obj: SObjectType, hidden: Hidden | None = None
    ) -> None:
        self.engine = engine
        self.query = query
        self.obj = obj
        self.hidden = hidden

    def fail(self, pos: int, detail: str, code: str = "MALFORMED_QUERY") -> SalesforceError:
        return error_at(self.query.text, pos, detail, code)

    def resolve(self, ref: FieldRef) -> _Resolved:
        parts = ref.path.split(".")
        if (
            len(parts) > 1
            and parts[0].lower() == self.obj.name.lower()
            and self.obj.relationship(parts[0]) is None
        ):
            parts = parts[1:]
        current = self.obj
        names: list[str] = []
        relationships: list[tuple[str, SObjectType]] = []
        for part in parts[:-1]:
            ref_field = current.relationship(part)
            if ref_field is None:
                raise self.fail(ref.pos, _UNKNOWN_RELATIONSHIP.format(name=part), "INVALID_FIELD")
            if ref_field.column.relationship_name is None or ref_field.column.reference_to is None:
                raise self.fail(
                    ref.pos,
                    f"The polymorphic relationship '{ref_field.relationship_name}' is not "
                    "supported by the okrsync sandbox's SOQL subset",
                )
            target = self.engine.schema.get(ref_field.column.reference_to)
            if (
                target is None
                or self._hides(current.name, ref_field.name)
                or self._hides(target.name, None)
            ):
                raise self.fail(ref.pos, _UNKNOWN_RELATIONSHIP.format(name=part), "INVALID_FIELD")
            names.append(ref_field.column.relationship_name)
            relationships.append((ref_field.column.relationship_name, target))
            current = target
        found = current.field(parts[-1])
        if found is None or self._hides(current.name, found.name):
            raise self.fail(
                ref.pos,
                _UNKNOWN_COLUMN.format(name=parts[-1], entity=current.name),
                "INVALID_FIELD",
            )
        return _Resolved(".".join([*names, found.name]), found, tuple(relationships))

    def _hides(self, sobject: str, field: str | None) -> bool:
        """Whether the calling user may not see the object (or its field)."""
        return self.hidden is not None and self.hidden(sobject, field)

    # -- records --------------------------------------------------------------------

    def record_plan(self, where: Cond | None, offset: int, all_rows: bool) -> _RecordPlan:
        root, paths, columns = self.shape()
        order = self.record_order()
        mode: Literal["rowid", "keyset", "offset"] = "rowid"
        if order:
            if not any(o.field == "Id" for o in order):
                order.append(OrderBy("Id"))
            keyset = all(
                "." not in o.field and not self.obj.fields[o.field.lower()].stringish for o in order
            )
            mode = "keyset" if keyset else "offset"
            paths.extend(o.field for o in order)
        return _RecordPlan(
            self.obj,
            tuple(dict.fromkeys(paths)),
            root,
            where,
            tuple(order),
            mode,
            self.query.limit,
            offset,
            all_rows,
            tuple(columns),
        )

    def shape(self) -> tuple[_Node, list[str], list[tuple[str, FieldType]]]:
        """The rendered records' shape and the store paths it needs (ids of parents too)."""
        root = _Node(self.obj.name, "Id")
        seen: set[str] = set()
        paths: list[str] = ["Id"]
        columns: list[tuple[str, FieldType]] = []
        for item in self.query.select:
            if not isinstance(item, FieldRef):  # pragma: no cover - aggregates go elsewhere
                raise self.fail(item.pos, "unexpected aggregate")
            resolved = self.resolve(item)
            if resolved.path.lower() in seen:
                raise self.fail(item.pos, f"duplicate field selected: {resolved.path}")
            seen.add(resolved.path.lower())
            node = root
            prefix = ""
            for name, target in resolved.relationships:
                prefix += f"{name}."
                child = node.items.get(name)
                if not isinstance(child, _Node):
                    child = _Node(target.name, f"{prefix}Id")
                    node.items[name] = child
                    paths.append(child.id_path)
                node = child
            node.items[resolved.field.name] = _Leaf(resolved.path, resolved.field.type)
            paths.append(resolved.path)
            columns.append((resolved.path, resolved.field.type))
        return root, paths, columns

    def record_order(self) -> list[OrderBy]:
        """The sort keys of a record query."""
        order: list[OrderBy] = []
        for sort in self.query.order_by:
            if isinstance(sort.target, Aggregate):
                raise self.fail(sort.target.pos, "Ordered field must be grouped or aggregated")
            resolved = self.resolve(sort.target)
            if resolved.field.long_text:
                raise self.fail(
                    sort.target.pos,
                    f"field '{resolved.field.name}' can not be sorted in a query call",
                    "INVALID_FIELD",
                )
            order.append(OrderBy(resolved.path, sort.ascending, sort.nulls_first))
        return order

    # -- aggregates -----------------------------------------------------------------

    def aggregate_plan(self, where: Cond | None, offset: int, all_rows: bool) -> _AggregatePlan:
        groups = self.groups()
        aggregates: list[tuple[str, str | None]] = []
        columns = self.aggregate_columns(groups, aggregates)
        order = self.aggregate_order(groups, aggregates, columns)
        width = len(groups)
        fixed = tuple(
            _Column(c.key, c.kind, c.index if c.index >= 0 else width + (-c.index - 1), c.shown)
            for c in columns
        )
        return _AggregatePlan(
            self.obj,
            tuple(groups),
            tuple(aggregates),
            fixed,
            where,
            tuple(order),
            self.query.limit,
            offset,
            all_rows,
        )

    def groups(self) -> list[str]:
        """The canonical paths of GROUP BY."""
        groups: list[str] = []
        for ref in self.query.group_by:
            resolved = self.resolve(ref)
            if not resolved.field.groupable:
                raise self.fail(
                    ref.pos,
                    f"field '{resolved.field.name}' can not be grouped in a query call",
                    "INVALID_FIELD",
                )
            if resolved.path not in groups:
                groups.append(resolved.path)
        return groups

    def aggregate_columns(
        self, groups: list[str], aggregates: list[tuple[str, str | None]]
    ) -> list[_Column]:
        """The output columns of SELECT (aggregates are added to ``aggregates``).

        A column's index is its group's position, or minus the aggregate's
        position plus one (resolved once the number of groups is known).
        """
        columns: list[_Column] = []
        keys: set[str] = set()
        expr = 0
        for item in self.query.select:
            if isinstance(item, FieldRef):
                resolved = self.resolve(item)
                if resolved.path not in groups:
                    raise self.fail(
                        item.pos, f"Field must be grouped or aggregated: {resolved.field.name}"
                    )
                key = resolved.field.name
                column = _Column(key, resolved.field.type, groups.index(resolved.path), shown=True)
            elif isinstance(item, Aggregate):
                spec, kind = self.aggregate(item)
                key = item.alias or f"expr{expr}"
                expr += item.alias is None
                aggregates.append(spec)
                column = _Column(key, kind, -len(aggregates), shown=True)
            else:  # pragma: no cover - COUNT() is planned elsewhere
                raise self.fail(item.pos, "unexpected COUNT()")
            if key.lower() in keys:
                raise self.fail(item.pos, f"duplicate alias: {key}")
            keys.add(key.lower())
            columns.append(column)
        return columns

    def aggregate_order(
        self,
        groups: list[str],
        aggregates: list[tuple[str, str | None]],
        columns: list[_Column],
    ) -> list[tuple[int, bool, bool]]:
        """ORDER BY of an aggregate query as (row index, ascending, nulls first)."""
        order: list[tuple[int, bool, bool]] = []
        for sort in self.query.order_by:
            if isinstance(sort.target, Aggregate):
                spec, kind = self.aggregate(sort.target)
                if spec not in aggregates:
                    aggregates.append(spec)
                    columns.append(
                        _Column(f"_order{len(order)}", kind, -len(aggregates), shown=False)
                    )
                index = len(groups) + aggregates.index(spec)
            else:
                resolved = self.resolve(sort.target)
                if resolved.path not in groups:
                    raise self.fail(
                        sort.target.pos,
                        f"Ordered field must be grouped or aggregated: {resolved.field.name}",
                    )
                index = groups.index(resolved.path)
            nulls_first = sort.nulls_first if sort.nulls_first is not None else sort.ascending
            order.append((index, sort.ascending, nulls_first))
        return order

    def aggregate(self, item: Aggregate) -> tuple[tuple[str, str | None], FieldType]:
        resolved = self.resolve(item.field)
        kind = resolved.field.type
        fn = item.function
        if fn in {"sum", "avg"} and kind not in _NUMERIC:
            raise self.fail(
                item.pos,
                f"field {resolved.field.name} does not support aggregate operator {fn.upper()}",
            )
        if kind is FieldType.TEXTAREA or (fn in {"min", "max"} and kind is FieldType.BOOLEAN):
            raise self.fail(
                item.pos,
                f"field {resolved.field.name} does not support aggregate operator {fn.upper()}",
            )
        if fn in {"count", "count_distinct"}:
            out = FieldType.INT
        elif fn == "sum":
            out = FieldType.INT if kind is FieldType.INT else FieldType.DOUBLE
        elif fn == "avg":
            out = FieldType.DOUBLE
        else:
            out = kind
        return (fn, resolved.path), out

    # -- conditions -----------------------------------------------------------------

    def condition(self, cond: Condition) -> Cond:
        if isinstance(cond, BoolOp):
            items = tuple(self.condition(c) for c in cond.items)
            return And(items) if cond.op == "and" else Or(items)
        if isinstance(cond, Negation):
            return Not(self.condition(cond.item))
        if isinstance(cond, Membership):
            return self.membership(cond)
        return self.comparison(cond)

    def filterable(self, ref: FieldRef) -> _Resolved:
        resolved = self.resolve(ref)
        if resolved.field.long_text:
            raise self.fail(
                ref.pos,
                f"field '{resolved.field.name}' can not be filtered in a query call",
                "INVALID_FIELD",
            )
        return resolved

    def comparison(self, cond: Comparison) -> Cond:
        resolved = self.filterable(cond.field)
        item = resolved.field
        path = resolved.path
        value = cond.value
        if cond.op == "like":
            if not item.stringish:
                raise self.fail(
                    cond.field.pos,
                    f"invalid operator on field '{item.name}': LIKE applies to text fields only",
                    "INVALID_QUERY_FILTER_OPERATOR",
                )
            if value.kind != "string":
                raise self.type_error(item, value)
            return Cmp(path, "like", _like_pattern(value.raw))
        if value.kind == "null":
            return _null_comparison(path, item, cond.op)
        if item.type is FieldType.BOOLEAN and cond.op not in {"=", "!="}:
            raise self.fail(
                cond.field.pos,
                f"invalid operator on boolean field '{item.name}'",
                "INVALID_QUERY_FILTER_OPERATOR",
            )
        if value.kind == "range":
            return self.range(path, item, cond.op, value)
        literal = self.literal(item, value)
        if item.stringish and cond.op in {"=", "!="}:
            equal = Cmp(path, "like", escape_like(literal))
            if cond.op == "=":
                return equal
            return Or((Not(equal), Cmp(path, "=", None)))
        return Cmp(path, cond.op, literal)  # type: ignore[arg-type]

    def membership(self, cond: Membership) -> Cond:
        resolved = self.filterable(cond.field)
        item = resolved.field
        path = resolved.path
        has_null = any(v.kind == "null" for v in cond.values)
        values = [v for v in cond.values if v.kind != "null"]

        parts: list[Cond] = []
        plain: list[Any] = []
        for value in values:
            if value.kind == "range":
                parts.append(self.range(path, item, "=", value))
            elif item.stringish:
                parts.append(Cmp(path, "like", escape_like(self.literal(item, value))))
            else:
                plain.append(self.literal(item, value))
        if has_null and item.type is FieldType.BOOLEAN and "." not in path:
            has_null = False  # null stands for false on a checkbox, in a list as after `=`
            plain.append(False)
        if plain:
            parts.append(Cmp(path, "in", tuple(plain)))
        if not cond.negated:
            if has_null:
                parts.append(Cmp(path, "=", None))
            return Or(tuple(parts)) if len(parts) != 1 else parts[0]
        excluded = And(tuple(Not(p) for p in parts))
        if has_null:
            return And((excluded, Cmp(path, "!=", None)))
        return Or((Cmp(path, "=", None), excluded))

    def type_error(self, item: SField, value: Value) -> SalesforceError:
        kind = item.type
        if item.stringish:
            detail = "must be of type string and should be enclosed in quotes"
        else:
            name = _TYPE_NAMES.get(kind, "string")
            detail = f"must be of type {name} and should not be enclosed in quotes"
            if kind in {FieldType.ID, FieldType.REFERENCE}:
                detail = "must be of type id and should be enclosed in quotes"
        return self.fail(
            value.pos,
            f"value of filter criterion for field '{item.name}' {detail}",
            "INVALID_FIELD",
        )

    def literal(self, item: SField, value: Value) -> Any:
        kind = item.type
        if value.kind == "string" and (
            item.stringish or kind in {FieldType.ID, FieldType.REFERENCE}
        ):
            if kind in {FieldType.ID, FieldType.REFERENCE}:
                if not is_id(value.value):
                    raise self.fail(
                        value.pos,
                        f"invalid ID field: {value.value}",
                        "INVALID_QUERY_FILTER_OPERATOR",
                    )
                return normalize_id(value.value)
            return value.value
        if value.kind == "number" and kind in _NUMERIC:
            number = Decimal(value.value)
            return (
                int(number)
                if number == number.to_integral_value() and kind is FieldType.INT
                else float(number)
            )
        if value.kind == "boolean" and kind is FieldType.BOOLEAN:
            return value.value
        if value.kind == "date" and kind is FieldType.DATE:
            return value.value
        if value.kind == "datetime" and kind is FieldType.DATETIME:
            return value.value
        raise self.type_error(item, value)

    def range(self, path: str, item: SField, op: str, value: Value) -> Cond:
        if item.type not in {FieldType.DATE, FieldType.DATETIME}:
            raise self.type_error(item, value)
        name, n = value.value
        first, last = date_range(name, n, self.engine.today())
        lo: date | datetime = first
        hi: date | datetime = last
        if item.type is FieldType.DATETIME:
            lo = datetime.combine(first, clock_time(), UTC)
            hi = datetime.combine(last + timedelta(days=1), clock_time(), UTC)
            below, upto, above = "<", "<", ">="
        else:
            below, upto, above = "<", "<=", ">"
        if op == "=":
            return And((Cmp(path, ">=", lo), Cmp(path, upto, hi)))  # type: ignore[arg-type]
        if op == "!=":
            return Or((Cmp(path, below, lo), Cmp(path, above, hi), Cmp(path, "=", None)))  # type: ignore[arg-type]
        if op == "<":
            return Cmp(path, below, lo)  # type: ignore[arg-type]
        if op == "<=":
            return Cmp(path, upto, hi)  # type: ignore[arg-type]
        if op == ">":
            return Cmp(path, above, hi)  # type: ignore[arg-type]
        return Cmp(path, ">=", lo)


def _null_comparison(path: str, item: SField, op: str) -> Cond:
    """``field = null`` or ``field != null`` (other operators match nothing).

    A checkbox is never null: "WHERE Test__c = null is equivalent to WHERE Test__c =
    false ... != null is equivalent to = true" (SOQL and SOSL Reference, "Use null in
    WHERE"). A parent's checkbox (``Account.IsPartner``) is null when there is no parent.
    """
    if op not in {"=", "!="}:
        return Or(())
    if item.type is FieldType.BOOLEAN and "." not in path:
        return Cmp(path, "=", op == "!=")
    return Cmp(path, op, None)  # type: ignore[arg-type]


def _like_pattern(raw: str) -> str:
    r"""The store's LIKE pattern of a SOQL LIKE string's source (``\%`` and ``\_`` stay escaped)."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in "%_":
                out.append("\\" + nxt)
            elif nxt == "\\":
                out.append("\\\\")
            else:
                decoded = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}.get(nxt, nxt)
                out.append(decoded)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)
