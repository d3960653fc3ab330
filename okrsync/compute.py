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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from okrsync.cube import Cubes
from okrsync.metric import Aggregate, ChurnRate, Nps, Operators, Ratio, window_bounds
from okrsync.plan import objects_read
from okrsync.state.models import CursorRow, EvaluationRow
from okrsync.state.replica import to_replica, unicode_lower

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.elements import ColumnElement

    from okrsync.metric import Condition, Expr
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


@dataclass
class _Plan:
    """Terms to read per replicated object, and how each KR combines them."""

    replica: Replica
    cycle: Cycle
    as_of: date
    terms: dict[tuple[str, str], list[ColumnElement[Any]]]

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
            return lambda values: _divide(top(values), bottom(values))
        if isinstance(expr, Nps):
            return self.nps(connector, expr)
        if isinstance(expr, ChurnRate):
            return self.churn(connector, expr)
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
        return lambda values: _number(values.get(key))

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
        return lambda values: _divide(
            float(values.get(lost_key) or 0), float(values.get(active_key) or 0)
        )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _divide(top: float | None, bottom: float | None) -> float | None:
    if top is None or not bottom:
        return None
    return top / bottom


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
    getters: dict[str, tuple[Getter, set[tuple[str, str]]]] = {}
    cubed: set[str] = set()
    plans: dict[tuple[str, date, date], _Plan] = {}
    terms: dict[tuple[str, str], list[ColumnElement[Any]]] = {}
    for kr in key_results:
        plan = plans.setdefault(
            (kr.cycle.name, kr.cycle.start, kr.cycle.end), _Plan(replica, kr.cycle, as_of, terms)
        )
        before = {k: len(v) for k, v in terms.items()}
        try:
            getter = cubes.compile(plan, kr.source, kr.metric.expr) if cubes else None
            if getter is not None and cubes is not None:
                cubed.add(kr.full_key)
                getters[kr.full_key] = (getter, set(cubes.used))
                continue
            getter = plan.compile(kr.source, kr.metric.expr)
        except MetricError as exc:
            for k, n in before.items():
                del terms[k][n:]
            results[kr.full_key] = MetricValue(None, str(exc))
            continue
        used = {k for k, v in terms.items() if len(v) != before.get(k, 0)}
        getters[kr.full_key] = (getter, used)
    values: dict[int, Any] = {}
    failed: dict[tuple[str, str], str] = {}
    _read_terms(engine, replica, terms, values, failed)
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
    failed: dict[tuple[str, str], str],
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
