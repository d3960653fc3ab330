"""A row filter (``RowFilter``) as a SQL ``WHERE`` clause: bound parameters only, quoted names.

The clause may match more rows than the filter, never fewer: the replica
applies the filter again exactly, so a condition SQL cannot say as okrsync
means it is left out of the query (its group then matches more):

- text compares in any letter case: an ASCII value is compared with
  ``lower()`` (every database lowers ASCII alike); a value beyond ASCII, or a
  text order (``gt`` on text: the database's collation is not okrsync's), is
  left to the replica;
- dates and timestamps compare by UTC calendar day, as the replica does: a
  timestamp column is bounded by the UTC midnights of the days (in the
  connector's ``timezone`` for timestamps stored without one); ``ne``, ``in``
  and ``not_in`` on a timestamp are left to the replica;
- a value of another type than its column (a number for a text column) is left
  to the replica.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from okrsync_sql._values import NUMBERS, TEXTS

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from okrsync.connector import Predicate, RowFilter
    from okrsync_sql._schema import Source

__all__ = ["bound", "where"]

_ORDER = frozenset({"gt", "gte", "lt", "lte"})


def where(filters: RowFilter, source: Source) -> ColumnElement[bool]:
    """The ``WHERE`` clause of a first pull: any group, all its conditions (those SQL can say)."""
    if not filters:
        return sa.true()
    groups = []
    for group in filters:
        parts = [c for p in group if (c := _condition(p, source)) is not None]
        if not parts:
            return sa.true()  # a group SQL cannot narrow: every row may match
        groups.append(sa.and_(*parts))
    return sa.or_(*groups)


def bound(column: sa.Column[Any], moment: datetime, zone: Any) -> ColumnElement[Any]:
    """``moment`` as a parameter comparable with the timestamp ``column``.

    A column with a time zone takes the aware moment; one without takes the
    wall-clock time in ``zone``. The column's type writes the parameter (SQLite
    stores timestamps as text in SQLAlchemy's format).
    """
    aware = getattr(column.type, "timezone", False)
    value = moment if aware else moment.astimezone(zone).replace(tzinfo=None)
    return sa.bindparam(None, value, type_=column.type)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_day(value: Any) -> bool:
    return isinstance(value, date)


def _day(value: date) -> date:
    """A date, or a timestamp's UTC calendar day (a naive timestamp is UTC)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).date()
    return value


def _fits(kind: str, value: Any) -> bool:
    if kind in TEXTS:
        return isinstance(value, str) and value.isascii()
    if kind in NUMBERS:
        return _is_number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in {"date", "datetime"}:
        return _is_day(value)
    return False


def _condition(pred: Predicate, source: Source) -> ColumnElement[bool] | None:
    """One predicate in SQL, or ``None`` when SQL cannot say it as okrsync means it."""
    column = source.column(pred.field)
    kind = source.kind(pred.field)
    op, value = pred.op, pred.value
    if op == "is_null":
        return column.is_(None) if value else column.is_not(None)
    values = tuple(value) if op in {"in", "not_in"} else (value,)
    if not values or not all(_fits(kind, v) for v in values):
        return None
    if kind == "datetime":
        return _timestamp(column, op, _day(value), source.zone) if op in _ORDER | {"eq"} else None
    if kind in TEXTS:
        if op in _ORDER:
            return None
        text = (
            sa.cast(column, sa.Text()) if kind == "picklist" else column
        )  # an enum has no lower()
        return _compare(
            sa.func.lower(text), column, op, tuple(v.lower() for v in values), sa.Text()
        )
    if kind == "date":
        values = tuple(_day(v) for v in values)
    return _compare(column, column, op, values, column.type)


def _compare(
    left: ColumnElement[Any],
    column: sa.Column[Any],
    op: str,
    values: tuple[Any, ...],
    kind: sa.types.TypeEngine[Any],
) -> ColumnElement[bool]:
    params = [sa.bindparam(None, v, type_=kind) for v in values]
    if op == "in":
        return left.in_(params)
    if op == "not_in":
        return sa.or_(left.not_in(params), column.is_(None))
    param = params[0]
    if op == "eq":
        return left == param
    if op == "ne":
        return sa.or_(left != param, column.is_(None))
    return {"gt": left > param, "gte": left >= param, "lt": left < param, "lte": left <= param}[op]


def _timestamp(column: sa.Column[Any], op: str, day: date, zone: Any) -> ColumnElement[bool]:
    """A timestamp compared with a UTC calendar day: bounded by that day's UTC midnights."""

    def midnight(d: date) -> ColumnElement[Any]:
        return bound(column, datetime.combine(d, datetime.min.time(), UTC), zone)

    after = day + timedelta(days=1)
    if op == "eq":
        return sa.and_(column >= midnight(day), column < midnight(after))
    if op == "gte":
        return column >= midnight(day)
    if op == "gt":
        return column >= midnight(after)
    if op == "lte":
        return column < midnight(after)
    return column < midnight(day)
