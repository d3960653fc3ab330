"""Counts, sums, averages, minimums and maximums of many key results from one grouped scan.

The SQL path of :mod:`okrsync.compute` reads every key result's terms as
``CASE`` expressions of one ``SELECT`` per object: its cost grows with rows ×
terms. Most terms are counts, sums, averages, minimums or maximums under a
``where`` and a date window; they are answered here from a *cube* instead:
one ``GROUP BY`` per object and window date field, grouping the rows by the
calendar day of that field and by the truth of each distinct condition the
terms use::

    SELECT substr(CloseDate, 1, 10) AS day,
           CASE WHEN IsClosed = false THEN 1 ELSE 0 END AS a0, …,
           COUNT(*), SUM(Amount), COUNT(Amount), MIN(Amount), MAX(Amount)
    FROM replica_… GROUP BY day, a0, …

A term is then the sum of the groups whose conditions hold and whose day lies
in its window, computed in Python; the scan costs the same for 5 key results
or 500, and a new as-of date moves windows over groups without reading a row
again. The conditions are the SQL path's own (:meth:`okrsync.compute._Plan.condition`),
so both paths select the same rows: a row counts when its ``where`` is true,
not when it is false or unknown (``NULL``), and ``where`` combines conditions
with *and* and *or* only, so the truth of each condition decides it.

What a cube does not answer (``count_distinct``, churn rates, expressions it
does not know) goes through the SQL path, as does an object whose groups
would be too many to be worth it (:data:`MAX_GROUPS`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import sqlalchemy as sa

from okrsync.metric import Aggregate, Nps, Ratio, window_bounds

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.elements import ColumnElement

    from okrsync.metric import Condition, Expr
    from okrsync.model import Cycle
    from okrsync.state.replica import ReplicaTable

__all__ = ["MAX_GROUPS", "Cubes", "as_number", "divide"]

MAX_GROUPS = 50_000
"""Groups from which a cube is dropped for the SQL path (the Python side would cost more)."""
MAX_ATOMS = 24
"""Distinct conditions from which an object's terms go through the SQL path."""

Kind = Literal["count", "sum", "avg", "min", "max"]
Getter = Callable[[dict[int, Any]], float | None]


class Conditions(Protocol):
    """What a cube needs from the SQL path's plan: tables, columns, conditions, the cycle."""

    cycle: Cycle
    as_of: date

    def table(self, connector: str, obj: str) -> ReplicaTable:
        """The replica of an object (``MetricError`` when it is not replicated)."""
        ...

    def column(self, rt: ReplicaTable, name: str) -> sa.ColumnElement[Any]:
        """The column of a field (``MetricError`` when it is not replicated)."""
        ...

    def condition(self, rt: ReplicaTable, name: str, cond: Condition) -> ColumnElement[bool]:
        """The SQL truth of one condition on one field."""
        ...


@dataclass(eq=False)
class _Term:
    """One aggregate a key result needs, answered from a cube."""

    kind: Kind
    measure: int | None
    """Index of the measured column in the cube (``None``: a count of rows)."""
    groups: tuple[tuple[int, ...], ...]
    """Any-of groups of atom indexes, all of a group holding (``()``: every row)."""
    window: tuple[str | None, str | None] | None
    """Inclusive first and last day (ISO text; ``None``: unbounded); ``None``: no window."""


@dataclass
class _Cube:
    """The terms over one object grouped by one date field (or by none)."""

    rt: ReplicaTable
    day: str | None
    atoms: dict[str, ColumnElement[bool]] = field(default_factory=dict)
    measures: dict[str, sa.ColumnElement[Any]] = field(default_factory=dict)
    terms: list[_Term] = field(default_factory=list)

    def atom(self, key: str, make: Callable[[], ColumnElement[bool]]) -> int:
        if key not in self.atoms:
            self.atoms[key] = make()
        return list(self.atoms).index(key)

    def measure(self, name: str, column: sa.ColumnElement[Any]) -> int:
        key = name.lower()
        if key not in self.measures:
            self.measures[key] = column
        return list(self.measures).index(key)


@dataclass(slots=True)
class _Entry:
    """The aggregates of one group: rows, then per measure its sum, count, minimum, maximum."""

    rows: int
    sums: Sequence[Any]
    counts: Sequence[int]
    mins: Sequence[Any]
    maxs: Sequence[Any]


@dataclass
class _Groups:
    """A cube's groups of one combination of condition truths, in day order."""

    days: list[str] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    undated: _Entry | None = None
    """The rows whose date is empty (counted only by terms without a window)."""

    def sort(self) -> None:
        """Put the days (and their entries) in order."""
        order = sorted(range(len(self.days)), key=self.days.__getitem__)
        self.days = [self.days[i] for i in order]
        self.entries = [self.entries[i] for i in order]


class _TooMany(Exception):  # noqa: N818  (control flow, never escapes)
    """The cube has more groups than is worth it."""


@dataclass
class Cubes:
    """The cubes of one evaluation; :meth:`compile` a key result, then :meth:`run` them all."""

    cubes: dict[tuple[str, str, str | None], _Cube] = field(default_factory=dict)
    used: set[tuple[str, str]] = field(default_factory=set)
    """Objects the last :meth:`compile` read (a failed cube spoils their key results)."""
    fallback: set[tuple[str, str]] = field(default_factory=set)
    """Objects whose cubes were dropped: their key results are evaluated by the SQL path."""

    def compile(self, plan: Conditions, connector: str, expr: Expr) -> Getter | None:
        """Register the terms of ``expr`` and return how to combine them; ``None`` if not cube-able.

        Raises:
            MetricError: An object or field of the expression is not replicated.
        """
        pending: list[tuple[_Cube, _Term]] = []
        getter = self._expr(plan, connector, expr, pending)
        if getter is None:
            return None
        self.used = set()
        for cube, term in pending:
            cube.terms.append(term)
            self.used.add((cube.rt.connector, cube.rt.obj))
        return getter

    # -- expressions ------------------------------------------------------------------

    def _expr(
        self, plan: Conditions, connector: str, expr: Expr, pending: list[tuple[_Cube, _Term]]
    ) -> Getter | None:
        if isinstance(expr, Ratio):
            top = self._part(plan, connector, expr.ratio.numerator, pending)
            bottom = self._part(plan, connector, expr.ratio.denominator, pending)
            if top is None or bottom is None:
                return None
            return lambda values: divide(top(values), bottom(values))
        if isinstance(expr, Nps):
            return self._nps(plan, connector, expr, pending)
        if isinstance(expr, Aggregate) and expr.function != "count_distinct":
            return self._aggregate(plan, connector, expr, pending)
        return None

    def _part(
        self, plan: Conditions, connector: str, part: Any, pending: list[tuple[_Cube, _Term]]
    ) -> Getter | None:
        if isinstance(part, (Aggregate, Nps, Ratio)):
            return self._expr(plan, connector, part, pending)
        return None

    def _cube(self, plan: Conditions, connector: str, obj: str, day: str | None) -> _Cube | None:
        rt = plan.table(connector, obj)
        if (connector, rt.obj) in self.fallback:
            return None
        key = (connector, rt.obj, day.lower() if day else None)
        if key not in self.cubes:
            self.cubes[key] = _Cube(rt, day)
        return self.cubes[key]

    def _source(
        self, plan: Conditions, connector: str, expr: Aggregate | Nps
    ) -> tuple[_Cube, tuple[tuple[int, ...], ...], tuple[str, str] | None] | None:
        """The cube an expression reads, its where groups as atoms, and its window field."""
        window = expr.window_field()
        cube = self._cube(plan, connector, expr.object_name, window[0] if window else None)
        if cube is None:
            return None
        groups = self._where(plan, cube, expr.where_groups())
        if groups is None:
            return None
        return cube, groups, window

    def _where(
        self, plan: Conditions, cube: _Cube, groups: list[dict[str, Condition]]
    ) -> tuple[tuple[int, ...], ...] | None:
        out = []
        for group in groups:
            indexes = []
            for name, cond in group.items():
                plan.column(cube.rt, name)  # a field not replicated is the metric's error
                key = f"{name.lower()}\x00{cond!r}"
                indexes.append(cube.atom(key, partial(plan.condition, cube.rt, name, cond)))
            out.append(tuple(sorted(set(indexes))))
        if len(cube.atoms) > MAX_ATOMS:
            return None
        return tuple(out)

    def _window(
        self, plan: Conditions, cube: _Cube, window: tuple[str, str] | None
    ) -> tuple[str | None, str | None] | None:
        if window is None:
            return None
        plan.column(cube.rt, window[0])
        first, last = window_bounds(window[1], plan.cycle.start, plan.cycle.end, plan.as_of)
        if first is None and last is None:
            return None  # all time: every row, an empty date too (as the SQL path counts it)
        return (
            first.isoformat() if first is not None else None,
            last.isoformat() if last is not None else None,
        )

    def _aggregate(
        self,
        plan: Conditions,
        connector: str,
        expr: Aggregate,
        pending: list[tuple[_Cube, _Term]],
    ) -> Getter | None:
        found = self._source(plan, connector, expr)
        if found is None:
            return None
        cube, groups, window = found
        measure = None
        if expr.function != "count":
            name = expr.field or ""
            measure = cube.measure(name, plan.column(cube.rt, name))
        kind = cast("Kind", expr.function)
        term = _Term(kind, measure, groups, self._window(plan, cube, window))
        pending.append((cube, term))
        if expr.function in {"count", "sum"}:
            return lambda values: float(values.get(id(term)) or 0)
        return lambda values: as_number(values.get(id(term)))

    def _nps(
        self, plan: Conditions, connector: str, expr: Nps, pending: list[tuple[_Cube, _Term]]
    ) -> Getter | None:
        found = self._source(plan, connector, expr)
        if found is None:
            return None
        cube, groups, window = found
        score = plan.column(cube.rt, expr.field)
        field_key = expr.field.lower()
        valid = cube.atom(
            f"\x01valid\x00{field_key}",
            lambda: sa.and_(score.is_not(None), score >= 0, score <= 10),  # noqa: PLR2004
        )
        promoter = cube.atom(f"\x01promoter\x00{field_key}", lambda: score >= 9)  # noqa: PLR2004
        detractor = cube.atom(f"\x01detractor\x00{field_key}", lambda: score <= 6)  # noqa: PLR2004
        if len(cube.atoms) > MAX_ATOMS:
            return None
        span = self._window(plan, cube, window)
        base = groups or ((),)

        def narrowed(*extra: int) -> tuple[tuple[int, ...], ...]:
            return tuple(tuple(sorted({*g, valid, *extra})) for g in base)

        total = _Term("count", None, narrowed(), span)
        promoters = _Term("count", None, narrowed(promoter), span)
        detractors = _Term("count", None, narrowed(detractor), span)
        pending.extend((cube, t) for t in (total, promoters, detractors))

        def value(values: dict[int, Any]) -> float | None:
            n = float(values.get(id(total)) or 0)
            if not n:
                return None
            p = float(values.get(id(promoters)) or 0)
            d = float(values.get(id(detractors)) or 0)
            return (p - d) / n * 100

        return value

    # -- running ----------------------------------------------------------------------

    def run(self, engine: Engine, values: dict[int, Any], failed: dict[Hashable, str]) -> None:
        """Scan every cube once and put each term's value in ``values`` (by ``id`` of the term).

        A cube whose query fails marks its object in ``failed``; one with more
        than :data:`MAX_GROUPS` groups is left out and its object added to
        :attr:`fallback` (the caller evaluates those key results again by SQL).
        """
        for (connector, obj, _), cube in self.cubes.items():
            if not cube.terms or (connector, obj) in self.fallback:
                continue
            try:
                groups = _scan(engine, cube)
            except _TooMany:
                self.fallback.add((connector, obj))
                continue
            except sa.exc.SQLAlchemyError as exc:
                failed[connector, obj] = f"query over {obj} failed: {exc.__class__.__name__}"
                continue
            for term in cube.terms:
                values[id(term)] = _value(term, groups)


def _scan(engine: Engine, cube: _Cube) -> dict[tuple[int, ...], _Groups]:
    """Run the cube's ``GROUP BY``; its groups by combination of condition truths."""
    rt = cube.rt
    columns: list[sa.ColumnElement[Any]] = []
    if cube.day is not None:
        columns.append(sa.func.substr(rt.column(cube.day), 1, 10).label("day"))
    columns += [
        sa.case((atom, 1), else_=0).label(f"a{i}") for i, atom in enumerate(cube.atoms.values())
    ]
    keys = list(columns)
    columns.append(sa.func.count().label("n"))
    for i, measure in enumerate(cube.measures.values()):
        columns += [
            sa.func.sum(measure).label(f"s{i}"),
            sa.func.count(measure).label(f"c{i}"),
            sa.func.min(measure).label(f"lo{i}"),
            sa.func.max(measure).label(f"hi{i}"),
        ]
    statement = sa.select(*columns).select_from(rt.table).where(*_in_windows(engine, cube))
    if keys:
        statement = statement.group_by(*keys)
    out: dict[tuple[int, ...], _Groups] = {}
    with engine.connect() as conn:
        for seen, row in enumerate(conn.execute(statement)):
            if seen >= MAX_GROUPS:
                raise _TooMany
            _add_row(out, cube, tuple(row))
    for groups in out.values():
        groups.sort()
    return out


def _in_windows(engine: Engine, cube: _Cube) -> list[ColumnElement[bool]]:
    """Conditions keeping only the rows some window of the cube covers (an index serves them).

    On SQLite, which keeps no statistics of value ranges, they are left out when
    the windows span most of the dates the replica holds (two index lookups
    tell): a scan of the table is then cheaper than a walk through the index.
    """
    span = _span(cube)
    if span is None or cube.day is None:
        return []
    stamp: ColumnElement[Any] = cube.rt.column(cube.day)
    if engine.dialect.name == "postgresql":  # ISO text in byte order, whatever the locale
        stamp = stamp.collate("C")
    elif _covers_most(engine, cube, span):
        return []
    first, after = span
    out = []
    if first is not None:
        out.append(stamp >= first)
    if after is not None:
        out.append(stamp < after)
    return out


WIDE = 0.5
"""Share of the replica's date range from which a window scan reads the whole table."""


def _covers_most(engine: Engine, cube: _Cube, span: tuple[str | None, str | None]) -> bool:
    """Whether ``span`` covers more than :data:`WIDE` of the days the cube's dates range over."""
    assert cube.day is not None  # noqa: S101  (the caller checked)
    column = cube.rt.column(cube.day)
    with engine.connect() as conn:  # one extreme a query: SQLite reads each off the index
        low = conn.execute(sa.select(sa.func.min(column))).scalar()
        high = conn.execute(sa.select(sa.func.max(column))).scalar()
    if low is None or high is None:
        return True
    try:
        oldest, newest = date.fromisoformat(str(low)[:10]), date.fromisoformat(str(high)[:10])
        first = date.fromisoformat(span[0]) if span[0] else oldest
        after = date.fromisoformat(span[1]) if span[1] else newest + timedelta(days=1)
    except ValueError:
        return True
    whole = (newest - oldest).days + 1
    inside = (min(after, newest + timedelta(days=1)) - max(first, oldest)).days
    return inside > WIDE * whole


def _span(cube: _Cube) -> tuple[str | None, str | None] | None:
    """The first day and the day after the last of all the cube's windows; ``None``: every row.

    A replica keeps dates and date-times as ISO text in UTC, so ``first <= value <
    day after last`` selects exactly the values whose day lies in between.
    """
    if not cube.terms or any(term.window is None for term in cube.terms):
        return None
    firsts = [term.window[0] for term in cube.terms if term.window is not None]
    lasts = [term.window[1] for term in cube.terms if term.window is not None]
    first = None if any(f is None for f in firsts) else min(f for f in firsts if f is not None)
    if any(last is None for last in lasts):
        return first, None
    last = max(last for last in lasts if last is not None)
    if first is not None and last < first:  # windows all empty (an as-of before the cycle)
        return first, first
    return first, (date.fromisoformat(last) + timedelta(days=1)).isoformat()


def _add_row(out: dict[tuple[int, ...], _Groups], cube: _Cube, row: tuple[Any, ...]) -> None:
    """File one row of a cube's result under its combination of condition truths."""
    dated = cube.day is not None
    offset = 1 if dated else 0
    at = offset + len(cube.atoms)
    bits = row[offset:at]  # 0 or 1 each
    aggregates = row[at + 1 :]  # per measure: sum, count, minimum, maximum
    entry = _Entry(
        int(row[at]), aggregates[0::4], aggregates[1::4], aggregates[2::4], aggregates[3::4]
    )
    groups = out.setdefault(bits, _Groups())
    if dated and row[0] is None:
        groups.undated = entry
    else:
        groups.days.append(str(row[0]) if dated else "")
        groups.entries.append(entry)


def _holds(term: _Term, bits: tuple[int, ...]) -> bool:
    if not term.groups:
        return True
    return any(all(bits[i] for i in group) for group in term.groups)


def _picked(term: _Term, groups: _Groups) -> list[_Entry]:
    """The entries of ``groups`` inside the term's window (the undated ones without a window)."""
    if term.window is None:
        return groups.entries + ([groups.undated] if groups.undated else [])
    first, last = term.window
    lo = 0 if first is None else bisect.bisect_left(groups.days, first)
    hi = len(groups.days) if last is None else bisect.bisect_right(groups.days, last)
    return groups.entries[lo:hi]


def _value(term: _Term, cubes: dict[tuple[int, ...], _Groups]) -> Any:
    """The term's aggregate over the groups it selects (``None`` where SQL gives none)."""
    entries = [e for bits, g in cubes.items() if _holds(term, bits) for e in _picked(term, g)]
    if term.kind == "count":
        return sum(e.rows for e in entries)
    m = term.measure
    assert m is not None  # noqa: S101  (every kind but count measures a column)
    present = [e for e in entries if e.counts[m]]
    if not present:
        return None
    if term.kind == "sum":
        return math.fsum(float(e.sums[m]) for e in present)
    if term.kind == "avg":
        return math.fsum(float(e.sums[m]) for e in present) / sum(e.counts[m] for e in present)
    if term.kind == "min":
        return min(e.mins[m] for e in present)
    return max(e.maxs[m] for e in present)


def as_number(value: Any) -> float | None:
    """A value read from the replica as a float (``None`` stays ``None``)."""
    return None if value is None else float(value)


def divide(top: float | None, bottom: float | None) -> float | None:
    """``top / bottom``, or ``None`` when either is missing or the bottom is 0."""
    if top is None or not bottom:
        return None
    return top / bottom
