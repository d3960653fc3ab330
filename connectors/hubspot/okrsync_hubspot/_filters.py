"""Row filters: pushed down into search ``filterGroups``, and checked client-side.

A pushed-down filter must never match *fewer* rows than the replica's
evaluation of the same filter (that would silently drop rows), so anything
search cannot say the same way is left out of its group, which only widens
it, and the filter is then checked here on each record:

- dates and datetimes compare by UTC calendar day (as the replica does), so
  ``eq``/``lte``/``gt`` on a day become ranges of midnights;
- ``ne``/``not_in`` also hold for empty values in the replica; search's
  ``NEQ``/``NOT_IN`` may not, so each becomes two groups, the second
  ``NOT_HAS_PROPERTY`` (or is left out when that would pass 5 groups);
- order comparisons on text, ``in`` on dates, and unknown value types are
  left out.

Client-side matching follows the replica: text compares in lower case, dates
by day, ``ne``/``not_in`` hold for empty values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from okrsync.connector import Predicate
from okrsync_hubspot._values import (
    BOOL,
    DATE,
    DATETIME,
    ENUMERATION,
    NUMBER,
    STRING,
    day_of,
    midnight_millis,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from okrsync.connector import RowFilter
    from okrsync_hubspot._values import PropertyMeta

__all__ = ["MAX_FILTERS", "MAX_GROUPS", "Pushdown", "matches", "push_down", "widen"]

MAX_GROUPS = 5
MAX_FILTERS = 6
_TEXT = frozenset({STRING, ENUMERATION})
_DATED = frozenset({DATE, DATETIME})
_ORDER = {"gt": "GT", "gte": "GTE", "lt": "LT", "lte": "LTE"}

Filter = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pushdown:
    """The filter groups to search with, and whether they say exactly what the row filter says."""

    groups: tuple[tuple[Filter, ...], ...]
    """ORed groups of ANDed filters; ``()`` matches every record."""
    exact: bool


def _flt(name: str, operator: str, value: Any = None, values: list[str] | None = None) -> Filter:
    out: Filter = {"propertyName": name, "operator": operator}
    if value is not None:
        out["value"] = value
    if values is not None:
        out["values"] = values
    return out


def _scalar(value: Any, kind: str) -> str | None:
    """A filter value as search wants it, or ``None`` when it does not fit the type."""
    if kind == BOOL:
        return ("true" if value else "false") if isinstance(value, bool) else None
    if kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return repr(float(value)) if math.isfinite(value) else None
    if kind in _TEXT:
        return value if isinstance(value, str) else None
    return None


def _dated(pred: Predicate, name: str) -> list[Filter] | None:
    """Day comparisons as midnight ranges (the replica compares dates by day)."""
    if pred.op not in {"eq", *_ORDER}:
        return None
    try:
        day = day_of(pred.value)
    except (TypeError, ValueError, OverflowError):
        return None
    start, after = midnight_millis(day), midnight_millis(day, 1)
    return {
        "eq": [_flt(name, "GTE", start), _flt(name, "LT", after)],
        "gt": [_flt(name, "GTE", after)],
        "gte": [_flt(name, "GTE", start)],
        "lt": [_flt(name, "LT", start)],
        "lte": [_flt(name, "LT", after)],
    }[pred.op]


def _alternatives(pred: Predicate, prop: PropertyMeta) -> list[list[Filter]] | None:
    """The predicate as ORed alternatives of ANDed filters, or ``None`` when left out."""
    name, op, value, kind = prop.name, pred.op, pred.value, prop.type
    if op == "is_null" or (value is None and op in {"eq", "ne"}):
        empty = bool(value) if op == "is_null" else op == "eq"
        return [[_flt(name, "NOT_HAS_PROPERTY" if empty else "HAS_PROPERTY")]]
    if kind in _DATED:
        dated = _dated(pred, name)
        return [dated] if dated is not None else None
    if op in {"in", "not_in"}:
        members = [_scalar(v, kind) for v in value or ()]
        if not members or any(m is None for m in members):
            return None
        listed = [m for m in members if m is not None]
        if op == "in":
            return [[_flt(name, "IN", values=listed)]]
        return [[_flt(name, "NOT_IN", values=listed)], [_flt(name, "NOT_HAS_PROPERTY")]]
    scalar = _scalar(value, kind)
    if scalar is None:
        return None
    if op == "eq":
        return [[_flt(name, "EQ", scalar)]]
    if op == "ne":
        return [[_flt(name, "NEQ", scalar)], [_flt(name, "NOT_HAS_PROPERTY")]]
    if kind in _TEXT or kind == BOOL:
        return None  # order on text: collations differ; on booleans: meaningless
    return [[_flt(name, _ORDER[op], scalar)]]


def push_down(
    filters: RowFilter, props: Mapping[str, PropertyMeta], *, reserve: int = 0
) -> Pushdown:
    """``filters`` as search filter groups, widened where search cannot say it the same way.

    ``reserve`` filters per group are kept free (for keyset paging). A filter
    of more than 5 groups is widened to 5 first (:func:`widen`).
    """
    if not filters:
        return Pushdown((), exact=True)
    exact = True
    if len(filters) > MAX_GROUPS:
        filters = widen(filters, MAX_GROUPS)
        exact = False
    groups: list[list[Filter]] = []
    for conjunction in filters:
        variants: list[list[Filter]] = [[]]
        for pred in conjunction:
            prop = props.get(pred.field.lower())
            alternatives = _alternatives(pred, prop) if prop is not None else None
            if alternatives is None:
                exact = False
                continue
            widened = [v + a for v in variants for a in alternatives]
            if len(groups) + len(widened) > MAX_GROUPS or any(
                len(v) > MAX_FILTERS - reserve for v in widened
            ):
                exact = False
                continue
            variants = widened
        if any(not v for v in variants):
            return Pushdown((), exact=False)  # a group that matches everything
        groups.extend(variants)
    return Pushdown(tuple(tuple(g) for g in groups), exact=exact)


def widen(filters: RowFilter, limit: int) -> RowFilter:
    """At most ``limit`` groups matching every row ``filters`` matches (and maybe more).

    The two groups whose merge keeps the most conditions are merged until
    ``limit`` remain. A merge keeps, for each field both groups constrain,
    the same conditions when they are equal, the range spanning both
    (``closedate`` in Q1 and in Q3 → from Q1's start to Q3's end), or the
    values of both (``dealstage`` = a, = b → in (a, b)); other conditions
    are dropped, which only widens the group.
    """
    groups = [tuple(g) for g in filters]
    while len(groups) > limit:
        best: tuple[int, int, tuple[Predicate, ...]] | None = None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                merged = _hull(groups[i], groups[j])
                if best is None or len(merged) > len(best[2]):
                    best = (i, j, merged)
        assert best is not None  # noqa: S101  (more than one group remains)
        i, j, merged = best
        if not merged:
            return ()  # some two groups share nothing: every row
        groups = [g for k, g in enumerate(groups) if k not in {i, j}] + [merged]
    return tuple(groups)


def _hull(a: tuple[Predicate, ...], b: tuple[Predicate, ...]) -> tuple[Predicate, ...]:
    """The conditions a row meeting ``a`` or ``b`` surely meets (both widened)."""
    out: list[Predicate] = []
    for name in dict.fromkeys(p.field for p in a):
        mine = [p for p in a if p.field == name]
        theirs = [p for p in b if p.field == name]
        if not theirs:
            continue
        if set(mine) == set(theirs):
            out.extend(mine)
            continue
        out.extend(_span(name, mine, theirs))
    return tuple(out)


def _span(name: str, mine: list[Predicate], theirs: list[Predicate]) -> list[Predicate]:
    """One field's conditions of two groups as a range or a value list covering both."""
    sides = [mine, theirs]
    if all(p.op in {"eq", "in"} and p.value is not None for side in sides for p in side) and all(
        len(side) == 1 for side in sides
    ):
        values: list[Any] = []
        for side in sides:
            pred = side[0]
            values.extend(pred.value if pred.op == "in" else [pred.value])
        if not all(isinstance(v, str | bool | int | float) for v in values):
            return []
        return [Predicate(name, "in", tuple(dict.fromkeys(values)))]
    try:
        ranges = [_range(side) for side in sides]
    except TypeError:  # bounds of different types
        return []
    if any(r is None for r in ranges):
        return []
    (low_a, high_a), (low_b, high_b) = ranges  # type: ignore[misc]
    out: list[Predicate] = []
    try:
        if low_a is not None and low_b is not None:
            out.append(Predicate(name, "gte", min(low_a, low_b)))
        if high_a is not None and high_b is not None:
            out.append(Predicate(name, "lte", max(high_a, high_b)))
    except TypeError:  # bounds of different types
        return []
    return out


def _range(side: list[Predicate]) -> tuple[Any, Any] | None:
    """``(lowest, highest)`` a field's conditions allow (``None`` ends: open), or ``None``."""
    low: Any = None
    high: Any = None
    for pred in side:
        value = pred.value
        if value is None or isinstance(value, str | bool) or pred.op not in {"eq", *_ORDER}:
            return None  # text order is the CRM's collation; other operators are not ranges
        if pred.op in {"eq", "gt", "gte"}:
            low = value if low is None else max(low, value)
        if pred.op in {"eq", "lt", "lte"}:
            high = value if high is None else min(high, value)
    return low, high


def _comparable(value: Any, kind: str) -> Any:
    if kind in _DATED:
        return day_of(value).isoformat()
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime | date):
        return day_of(value).isoformat()
    return value


def _holds(value: Any, pred: Predicate, kind: str) -> bool:
    op = pred.op
    if op == "is_null":
        return (value is None) == bool(pred.value)
    if pred.value is None and op in {"eq", "ne"}:
        return (value is None) == (op == "eq")
    try:
        if op in {"in", "not_in"}:
            members = {_comparable(v, kind) for v in pred.value or ()}
            if op == "in":
                return value is not None and _comparable(value, kind) in members
            return value is None or _comparable(value, kind) not in members
        if op == "ne":
            return value is None or _comparable(value, kind) != _comparable(pred.value, kind)
        if value is None:
            return False
        mine, theirs = _comparable(value, kind), _comparable(pred.value, kind)
        return bool(
            {
                "eq": lambda: mine == theirs,
                "gt": lambda: mine > theirs,
                "gte": lambda: mine >= theirs,
                "lt": lambda: mine < theirs,
                "lte": lambda: mine <= theirs,
            }[op]()
        )
    except (TypeError, ValueError, OverflowError):
        return True  # incomparable: keep the record; the replica decides


def matches(
    values: Mapping[str, Any], filters: RowFilter, props: Mapping[str, PropertyMeta]
) -> bool:
    """Whether a record's values (by property name) satisfy ``filters`` as the replica does."""
    if not filters:
        return True
    for conjunction in filters:
        held = True
        for pred in conjunction:
            prop = props.get(pred.field.lower())
            name = prop.name if prop is not None else pred.field
            kind = prop.type if prop is not None else STRING
            if not _holds(values.get(name), pred, kind):
                held = False
                break
        if held:
            return True
    return False
