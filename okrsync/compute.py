"""Metric values computed as SQL over the replica, every KR of a run in one pass per object.

Each key result's expression becomes aggregate terms (``SUM(CASE WHEN … THEN
field END)``, counts, …); all terms over the same replicated object are read
with a single ``SELECT``, then combined per key result (ratios, NPS, churn).
The compute step (:func:`compute_values`) reuses a key result's value while
nothing it depends on changed, and evaluates the others. Semantics, as the
design fixes them:

- dates compare as UTC calendar dates, windows are inclusive;
- ``count`` of no rows is 0, ``sum`` of no rows is 0, ``avg``/``min``/``max``
  of no rows is no value;
- a ratio with a zero (or no) denominator has no value;
- NPS with no responses has no value; scores outside 0–10 are not responses;
- string equality ignores letter case, beyond ASCII too, as SOQL and HubSpot
  search do (SQLite's ``lower`` folds ASCII only: see
  :func:`~okrsync.state.replica.unicode_lower`).
- a duration is measured between instants (a date is its midnight, UTC); an
  end that is missing, after the as-of date or before the start is no end;
  no durations, no value. An average of durations between two fields of one
  record is a term of its object's ``SELECT``; a median, or an end at the
  first related record, is a query of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from okrsync.cube import Cubes, as_number, divide
from okrsync.metric import (
    Aggregate,
    ChurnRate,
    Duration,
    Nps,
    Operators,
    Per,
    Ratio,
    window_bounds,
)
from okrsync.plan import objects_read
from okrsync.state.models import CursorRow, EvaluationRow
from okrsync.state.replica import to_replica, unicode_lower

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy.sql.selectable import Select, Subquery

    from okrsync.metric import Condition, Expr, FirstRelated
    from okrsync.model import Cycle, KeyResult
    from okrsync.state.replica import Replica, ReplicaTable

__all__ = [
    "Computed",
    "MetricError",
    "MetricValue",
    "bases",
    "compute_values",
    "evaluate",
    "moves_with_the_day",
]

log = structlog.get_logger("okrsync.engine")  # one logger for the events of a cycle

_STRINGS = {"string", "text", "email", "picklist", "id", "reference", "phone", "url", "textarea"}
_DATED = {"date", "datetime"}


class MetricError(Exception):
    """A metric cannot be computed (a field not replicated, an object missing)."""


@dataclass(frozen=True, slots=True)
class MetricValue:
    """The value of one key result's metric, or why there is none."""

    value: float | None
    error: str | None = None


Getter = Callable[[dict[int, Any]], float | None]


class _Epoch(FunctionElement[float]):
    """Seconds since 1970-01-01 UTC of a replica date or date-time (ISO text, UTC)."""

    type = sa.Float()
    name = "okrsync_epoch"
    inherit_cache = True


@compiles(_Epoch)
def _epoch(element: _Epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL: a `timestamp` literal ignores the zone suffix (the replica's is always Z)
    return f"EXTRACT(EPOCH FROM CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMP))"


@compiles(_Epoch, "sqlite")
def _epoch_sqlite(element: _Epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # whole seconds, then the replica's milliseconds (julianday() would blur them: ~40 µs)
    text = compiler.process(element.clauses, **kw)
    millis = f"CASE WHEN substr({text}, 20, 1) = '.' THEN CAST(substr({text}, 21, 3) AS REAL)"
    return f"(CAST(strftime('%s', {text}) AS REAL) + {millis} / 1000.0 ELSE 0.0 END)"


@dataclass
class _Plan:
    """Terms to read per replicated object, and how each KR combines them."""

    replica: Replica
    cycle: Cycle
    as_of: date
    terms: dict[tuple[str, str], list[ColumnElement[Any]]]
    queries: dict[tuple[str, str], list[Select[Any]]] = field(default_factory=dict)
    """Statements of one value each, run on their own (medians, related records), by object."""
    by: Callable[[ReplicaTable], ColumnElement[Any]] | None = None
    """Per what the statements of :attr:`queries` group (``None``: one value each);
    see :mod:`okrsync.breakdown`."""

    def table(self, connector: str, obj: str) -> ReplicaTable:
        found = self.replica.get(connector, obj)
        if found is None:
            msg = f"object {obj} of {connector} is not replicated"
            raise MetricError(msg)
        return found

    def term(self, connector: str, obj: str, expr: ColumnElement[Any]) -> int:
        bucket = self.terms.setdefault((connector, obj), [])
        bucket.append(expr)
        return id(expr)

    def query(self, connector: str, obj: str, statement: Select[Any]) -> int:
        self.queries.setdefault((connector, obj), []).append(statement)
        return id(statement)

    # -- conditions --------------------------------------------------------------

    def column(self, rt: ReplicaTable, name: str) -> sa.ColumnElement[Any]:
        try:
            return rt.column(name)
        except KeyError:
            msg = f"field {name} of {rt.obj} is not replicated"
            raise MetricError(msg) from None

    def day(self, rt: ReplicaTable, name: str) -> sa.ColumnElement[Any]:
        return sa.func.substr(self.column(rt, name), 1, 10)

    def comparable(
        self, rt: ReplicaTable, name: str, value: Any, *, wide: bool = False
    ) -> tuple[sa.ColumnElement[Any], Any]:
        """Column expression and value, made comparable (dates by day, text by lower case).

        Text ignores letter case beyond ASCII (``MÜLLER`` is ``Müller``) as the CRMs
        do; ``wide`` forces the Unicode fold for the column even for an ASCII value
        (a list of values with one that is not ASCII).
        """
        kind = rt.info(name).type
        if kind in _DATED:
            return self.day(rt, name), str(to_replica(value))[:10]
        if kind in _STRINGS and isinstance(value, str):
            column = self.column(rt, name)
            if wide or not value.isascii():
                return unicode_lower(column), value.lower()
            # Only ASCII letters lower to ASCII (the Kelvin sign aside): the database's
            # own (ASCII) lower() is exact here, and cheaper than a Python function.
            return sa.func.lower(column), value.lower()
        return self.column(rt, name), to_replica(value)

    def condition(self, rt: ReplicaTable, name: str, cond: Condition) -> ColumnElement[bool]:
        if isinstance(cond, Operators):
            parts = [self.operator(rt, name, op, value) for op, value in cond.items()]
            return sa.and_(*parts)
        if isinstance(cond, tuple):
            return self.operator(rt, name, "in", cond)
        return self.operator(rt, name, "eq", cond)

    def operator(self, rt: ReplicaTable, name: str, op: str, value: Any) -> ColumnElement[bool]:
        raw = self.column(rt, name)
        if op == "is_null":
            return raw.is_(None) if value else raw.is_not(None)
        if op in {"in", "not_in"}:
            wide = any(isinstance(v, str) and not v.isascii() for v in value)
            pairs = [self.comparable(rt, name, v, wide=wide) for v in value]
            col = pairs[0][0] if pairs else raw
            members = [v for _, v in pairs]
            if op == "in":
                return col.in_(members) if members else sa.false()
            return sa.or_(col.not_in(members), raw.is_(None)) if members else sa.true()
        col, val = self.comparable(rt, name, value)
        if op == "ne":
            return sa.or_(col != val, raw.is_(None))
        result: ColumnElement[bool]
        if op == "eq":
            result = col == val
        elif op == "gt":
            result = col > val
        elif op == "gte":
            result = col >= val
        elif op == "lt":
            result = col < val
        else:
            result = col <= val
        return result

    def where(self, rt: ReplicaTable, groups: list[dict[str, Condition]]) -> ColumnElement[bool]:
        if not groups:
            return sa.true()
        return sa.or_(
            *(sa.and_(*(self.condition(rt, f, c) for f, c in group.items())) for group in groups)
        )

    def window(self, rt: ReplicaTable, window: tuple[str, str] | None) -> ColumnElement[bool]:
        if window is None:
            return sa.true()
        name, span = window
        first, last = window_bounds(span, self.cycle.start, self.cycle.end, self.as_of)
        day = self.day(rt, name)
        parts = []
        if first is not None:
            parts.append(day >= first.isoformat())
        if last is not None:
            parts.append(day <= last.isoformat())
        return sa.and_(*parts) if parts else sa.true()

    # -- expressions -------------------------------------------------------------

    def compile(self, connector: str, expr: Expr) -> Getter:
        """Register the terms of ``expr``; return how to combine their values."""
        if isinstance(expr, Ratio):
            top = self.compile(connector, expr.ratio.numerator)  # type: ignore[arg-type]
            bottom = self.compile(connector, expr.ratio.denominator)  # type: ignore[arg-type]
            return lambda values: divide(top(values), bottom(values))
        if isinstance(expr, Per):
            return self.per(connector, expr)
        if isinstance(expr, Nps):
            return self.nps(connector, expr)
        if isinstance(expr, ChurnRate):
            return self.churn(connector, expr)
        if isinstance(expr, Duration):
            return self.duration(connector, expr)
        return self.aggregate(connector, expr)

    def aggregate(self, connector: str, expr: Aggregate) -> Getter:
        rt = self.table(connector, expr.object_name)
        cond = sa.and_(self.where(rt, expr.where_groups()), self.window(rt, expr.window_field()))
        fn = expr.function
        if fn == "count":
            key = self.term(connector, rt.obj, sa.func.sum(sa.case((cond, 1), else_=0)))
            return lambda values: float(values.get(key) or 0)
        col = self.column(rt, expr.field or "")
        picked = sa.case((cond, col), else_=None)
        sql = {
            "sum": sa.func.sum(picked),
            "avg": sa.func.avg(picked),
            "min": sa.func.min(picked),
            "max": sa.func.max(picked),
            "count_distinct": sa.func.count(sa.distinct(picked)),
        }[fn]
        key = self.term(connector, rt.obj, sql)
        if fn == "sum":
            return lambda values: float(values.get(key) or 0)
        if fn == "count_distinct":
            return lambda values: float(values.get(key) or 0)
        return lambda values: as_number(values.get(key))

    def nps(self, connector: str, expr: Nps) -> Getter:
        rt = self.table(connector, expr.object_name)
        score = self.column(rt, expr.field)
        valid = sa.and_(score.is_not(None), score >= 0, score <= 10)  # noqa: PLR2004
        cond = sa.and_(
            self.where(rt, expr.where_groups()), self.window(rt, expr.window_field()), valid
        )
        total = self.term(connector, rt.obj, sa.func.sum(sa.case((cond, 1), else_=0)))
        promoters = self.term(
            connector,
            rt.obj,
            sa.func.sum(sa.case((sa.and_(cond, score >= 9), 1), else_=0)),  # noqa: PLR2004
        )
        detractors = self.term(
            connector,
            rt.obj,
            sa.func.sum(sa.case((sa.and_(cond, score <= 6), 1), else_=0)),  # noqa: PLR2004
        )

        def value(values: dict[int, Any]) -> float | None:
            n = float(values.get(total) or 0)
            if not n:
                return None
            p, d = float(values.get(promoters) or 0), float(values.get(detractors) or 0)
            return (p - d) / n * 100

        return value

    def churn(self, connector: str, expr: ChurnRate) -> Getter:
        rt = self.table(connector, expr.object_name)
        since = self.day(rt, expr.customer_since)
        churned = self.day(rt, expr.churned_on)
        start = self.cycle.start.isoformat()
        last = min(self.cycle.end, self.as_of).isoformat()
        base = sa.and_(self.where(rt, expr.where_groups()), since < start)
        active = sa.and_(base, sa.or_(churned.is_(None), churned >= start))
        lost = sa.and_(base, churned >= start, churned <= last)
        active_key = self.term(connector, rt.obj, sa.func.sum(sa.case((active, 1), else_=0)))
        lost_key = self.term(connector, rt.obj, sa.func.sum(sa.case((lost, 1), else_=0)))
        return lambda values: divide(
            float(values.get(lost_key) or 0), float(values.get(active_key) or 0)
        )

    def per(self, connector: str, expr: Per) -> Getter:
        top = self.compile(connector, expr.per.numerator)  # type: ignore[arg-type]
        bottom = self.compile(connector, expr.per.denominator)  # type: ignore[arg-type]
        return lambda values: divide(top(values), bottom(values))

    def duration(self, connector: str, expr: Duration) -> Getter:
        """Average or median of the durations of the matching records, in the stated unit."""
        rt = self.table(connector, expr.object_name)
        start = _Epoch(self.column(rt, expr.from_))
        limit = datetime.combine(self.as_of + timedelta(days=1), time(), UTC).timestamp()
        source: sa.FromClause = rt.table
        related = expr.related
        if related is None:
            end: ColumnElement[Any] = _Epoch(self.column(rt, expr.end_field or ""))
        else:
            firsts = self.first_related(connector, rt, start, related)
            source = rt.table.outerjoin(firsts, firsts.c.id == rt.table.c.id)
            end = firsts.c.first
        ended = sa.and_(end.is_not(None), end <= limit, end >= start)
        whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [(ended, end - start)]
        if expr.missing_end == "as_of":
            still_open = sa.and_(sa.or_(end.is_(None), end > limit), start <= limit)
            whens.append((still_open, sa.literal(limit) - start))
        cond = sa.and_(
            self.where(rt, expr.where_groups()),
            self.window(rt, expr.window_field()),
            start.is_not(None),
        )
        picked = sa.case(*((sa.and_(cond, when), then) for when, then in whens), else_=None)
        seconds = float(expr.seconds)
        if expr.function == "avg" and related is None:  # one term of the object's SELECT
            key = self.term(connector, rt.obj, sa.func.avg(picked))
        else:
            group = [] if self.by is None else [self.by(rt).label("g")]
            durations = (
                sa.select(picked.label("v"), *group).select_from(source).where(picked.is_not(None))
            ).subquery()
            key = self.query(
                connector, rt.obj, _summary(expr.function, durations, grouped=bool(group))
            )
        return lambda values: _scaled(values.get(key), seconds)

    def first_related(
        self,
        connector: str,
        rt: ReplicaTable,
        start: ColumnElement[Any],
        related: FirstRelated,
    ) -> Subquery:
        """Per record of ``rt`` that has one, the first related date not before its start."""
        parts = []
        for obj, name in related.targets():
            other = self.table(connector, obj)
            via = self.column(other, related.via)
            at = _Epoch(self.column(other, name))
            parts.append(
                sa.select(via.label("ref"), at.label("at")).where(
                    via.is_not(None), at.is_not(None), self.where(other, related.where_groups())
                )
            )
        dated = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()
        record = rt.table.c.id
        return (
            sa.select(record.label("id"), sa.func.min(dated.c.at).label("first"))
            .select_from(rt.table.join(dated, dated.c.ref == record))
            .where(dated.c.at >= start)
            .group_by(record)
            .subquery()
        )


def _summary(function: str, durations: Subquery, *, grouped: bool = False) -> Select[Any]:
    """The average, or the median (portable: ranks, no ``percentile_cont``), of ``durations.v``.

    ``grouped``: one row ``(g, value)`` per group ``durations.g`` instead of one value.
    """
    by = [durations.c.g] if grouped else []
    if function == "avg":
        return sa.select(*by, sa.func.avg(durations.c.v)).group_by(*by)
    ranked = sa.select(
        *by,
        durations.c.v,
        sa.func.row_number().over(partition_by=by or None, order_by=durations.c.v).label("rank"),
        sa.func.count().over(partition_by=by or None).label("n"),
    ).subquery()
    middle = ((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2)  # one row when n is odd, two if even
    groups = [ranked.c.g] if grouped else []
    return (
        sa.select(*groups, sa.func.avg(ranked.c.v))
        .where(ranked.c.rank.in_(middle))
        .group_by(*groups)
    )


def _scaled(value: Any, seconds: float) -> float | None:
    return None if value is None else float(value) / seconds


def evaluate(
    engine: Engine, replica: Replica, key_results: Sequence[KeyResult], as_of: date
) -> dict[str, MetricValue]:
    """Value of every key result's metric as of ``as_of``, by full key.

    A key result whose metric cannot be computed gets an error; the others are
    unaffected. Counts, sums, averages, extremes and NPS come from one grouped
    scan per object and window date field (:mod:`okrsync.cube`); the other
    terms over one object are read in one query.
    """
    first: dict[tuple[str, str, date, date, str], str] = {}
    same: dict[str, str] = {}
    unique: list[KeyResult] = []
    for kr in key_results:  # key results of the same metric and cycle have the same value
        key = (kr.source, kr.cycle.name, kr.cycle.start, kr.cycle.end, repr(kr.metric.expr))
        if key in first:
            same[kr.full_key] = first[key]
        else:
            first[key] = kr.full_key
            unique.append(kr)
    results = _evaluate(engine, replica, unique, as_of, Cubes())
    for alias, original in same.items():
        results[alias] = results[original]
    return results


def _evaluate(
    engine: Engine,
    replica: Replica,
    key_results: Sequence[KeyResult],
    as_of: date,
    cubes: Cubes | None,
) -> dict[str, MetricValue]:
    results: dict[str, MetricValue] = {}
    getters: dict[str, tuple[Getter, set[Hashable]]] = {}
    cubed: set[str] = set()
    plans: dict[tuple[str, date, date], _Plan] = {}
    terms: dict[tuple[str, str], list[ColumnElement[Any]]] = {}
    queries: dict[tuple[str, str], list[Select[Any]]] = {}
    for kr in key_results:
        plan = plans.setdefault(
            (kr.cycle.name, kr.cycle.start, kr.cycle.end),
            _Plan(replica, kr.cycle, as_of, terms, queries),
        )
        before = {k: len(v) for k, v in terms.items()}
        before_queries = {k: len(v) for k, v in queries.items()}
        try:
            getter = cubes.compile(plan, kr.source, kr.metric.expr) if cubes else None
            if getter is not None and cubes is not None:
                cubed.add(kr.full_key)
                getters[kr.full_key] = (getter, set(cubes.used))
                continue
            getter = plan.compile(kr.source, kr.metric.expr)
        except MetricError as exc:
            _truncate(terms, before)
            _truncate(queries, before_queries)
            results[kr.full_key] = MetricValue(None, str(exc))
            continue
        used: set[Hashable] = {k for k, v in terms.items() if len(v) != before.get(k, 0)}
        used |= {id(q) for k, v in queries.items() for q in v[before_queries.get(k, 0) :]}
        getters[kr.full_key] = (getter, used)
    values: dict[int, Any] = {}
    failed: dict[Hashable, str] = {}
    _read_terms(engine, replica, terms, values, failed)
    _run_queries(engine, queries, values, failed)
    again: list[KeyResult] = []
    if cubes is not None:
        cubes.run(engine, values, failed)
        again = [
            kr
            for kr in key_results
            if kr.full_key in cubed and getters[kr.full_key][1] & cubes.fallback
        ]
    for key, (getter, used) in getters.items():
        broken = [failed[u] for u in used if u in failed]
        results[key] = MetricValue(None, broken[0]) if broken else MetricValue(getter(values))
    if again:  # cubes of too many groups: those key results by the SQL path
        results.update(_evaluate(engine, replica, again, as_of, None))
    return results


def _read_terms(
    engine: Engine,
    replica: Replica,
    terms: dict[tuple[str, str], list[ColumnElement[Any]]],
    values: dict[int, Any],
    failed: dict[Hashable, str],
) -> None:
    """Read every object's terms with one ``SELECT`` each (a failed one marks its object)."""
    for (connector, obj), exprs in terms.items():
        if not exprs:
            continue
        rt = replica.get(connector, obj)
        if rt is None:  # pragma: no cover  (compile checked it)
            continue
        labelled = [e.label(f"t{i}") for i, e in enumerate(exprs)]
        try:
            with engine.connect() as conn:
                row = conn.execute(sa.select(*labelled).select_from(rt.table)).one()
        except sa.exc.SQLAlchemyError as exc:
            failed[connector, obj] = f"query over {obj} failed: {exc.__class__.__name__}"
            continue
        for expr, value in zip(exprs, row, strict=True):
            values[id(expr)] = value


def _truncate(buckets: Mapping[tuple[str, str], list[Any]], lengths: Mapping[Any, int]) -> None:
    """Drop what was added to ``buckets`` since they had ``lengths``."""
    for key, items in buckets.items():
        del items[lengths.get(key, 0) :]


def _run_queries(
    engine: Engine,
    queries: dict[tuple[str, str], list[Select[Any]]],
    values: dict[int, Any],
    failed: dict[Hashable, str],
) -> None:
    """Run each query of one value on its own: one that fails spoils only its key results."""
    for (_, obj), statements in queries.items():
        for statement in statements:
            try:
                with engine.connect() as conn:
                    values[id(statement)] = conn.execute(statement).scalar()
            except sa.exc.SQLAlchemyError as exc:
                failed[id(statement)] = f"query over {obj} failed: {exc.__class__.__name__}"


# -- the compute step: values reused while nothing they depend on changed ------------------


@dataclass(frozen=True, slots=True)
class Computed:
    """Every key result's value, and the basis it was computed on."""

    values: dict[str, MetricValue]
    """By full key."""
    bases: dict[str, str]
    """By full key: a digest of what the value depends on (see :func:`bases`)."""


def compute_values(
    engine: Engine, replica: Replica, key_results: Sequence[KeyResult], as_of: date
) -> Computed:
    """Every key result's value as of ``as_of``: reused while its basis holds, else evaluated."""
    krs = list(key_results)
    found = bases(engine, krs, as_of)
    values = _reusable(engine, found)
    fresh = [kr for kr in krs if kr.full_key not in values]
    if fresh:
        values.update(evaluate(engine, replica, fresh, as_of))
    log.info("sync.evaluated", computed=len(fresh), reused=len(krs) - len(fresh))
    return Computed(values, found)


def bases(engine: Engine, krs: Sequence[KeyResult], day: date) -> dict[str, str]:
    """Per key result, a digest of everything its value depends on.

    The metric, the cycle, the as-of date when the value can move with it
    (:func:`moves_with_the_day`), and which run last changed the replica of
    each object the metric reads (set before rows change, see
    :meth:`okrsync.pull.PullStep._mark_changed`): a change to another object,
    or a new day for a metric over whole cycles, leaves the value as it was.
    """
    changes: dict[tuple[str, str], str | None] = {}
    with Session(engine) as session:
        for row in session.exec(select(CursorRow)):
            changes[row.connector, row.object] = row.changed_run
    read = objects_read(krs)
    out: dict[str, str] = {}
    for kr in krs:
        expr = kr.metric.expr
        parts = [
            day.isoformat() if moves_with_the_day(expr) else "",
            kr.source,
            repr(expr),
            kr.cycle.name,
            kr.cycle.start.isoformat(),
            kr.cycle.end.isoformat(),
            sorted((obj, changes.get((connector, obj))) for connector, obj in read[kr.full_key]),
        ]
        text = json.dumps(parts, default=str, sort_keys=True)
        out[kr.full_key] = hashlib.sha256(text.encode()).hexdigest()
    return out


def moves_with_the_day(expr: Expr) -> bool:
    """Whether a metric's value may change with the as-of date alone (no data changed).

    Counts, sums, averages, extremes and NPS over a whole cycle, all time or no
    window do not; ``cycle_to_date`` and ``last_N_days`` windows, churn rates
    (counted up to the as-of date) and any expression not known here do.
    """
    if isinstance(expr, Ratio):
        return any(
            not isinstance(part, (Aggregate, Nps, Ratio)) or moves_with_the_day(part)
            for part in (expr.ratio.numerator, expr.ratio.denominator)
        )
    if isinstance(expr, (Aggregate, Nps)):
        window = expr.window_field()
        return window is not None and window[1] not in {"cycle", "all_time"}
    return True


def _reusable(engine: Engine, bases: dict[str, str]) -> dict[str, MetricValue]:
    """Values computed before on the same basis (nothing they depend on changed since)."""
    wanted = sorted(set(bases.values()))
    found: dict[str, MetricValue] = {}
    with Session(engine) as session:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            statement = select(EvaluationRow.basis, EvaluationRow.value).where(
                col(EvaluationRow.basis).in_(chunk)
            )
            for basis, value in session.exec(statement):
                found[str(basis)] = MetricValue(value)
    return {key: found[basis] for key, basis in bases.items() if basis in found}
