"""What the status page and the digest show for one cycle, read from the state store.

:func:`build_report` joins the mappings (titles, owners, alignment, start,
target, units) with what the runs stored (the latest evaluation of each key
result, its check-ins with the reps' confidence and comments, the last runs
and the CRMs' quota). Every score, status, expected progress and forecast
comes from the engine's evaluations or from :mod:`okrsync.scoring`; nothing
here decides a scoring rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from okrsync.scoring import (
    CheckInPoint,
    KeyResultScore,
    Status,
    WeightedScore,
    forecast,
    round2,
    score_objective,
)
from okrsync.state.models import CheckInRow, EvaluationRow, RunRow
from okrsync.status import read_status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy.engine import Engine

    from okrsync.config import Settings
    from okrsync.model import Cycle, KeyResult, MappingSet, Objective

__all__ = [
    "CheckInView",
    "CycleView",
    "KeyResultView",
    "ObjectiveView",
    "OwnerShare",
    "Report",
    "RunView",
    "UnknownCycleError",
    "WeeklyChange",
    "build_report",
    "choose_cycle",
]


class UnknownCycleError(LookupError):
    """No cycle of that name in the mappings."""

    def __init__(self, name: str | None, known: Sequence[str]) -> None:
        if name is None:
            super().__init__("the mappings define no cycle yet")
        else:
            listed = ", ".join(known) or "none"
            super().__init__(f"no cycle named {name!r}; the mappings define {listed}")
        self.name = name
        self.known = tuple(known)


@dataclass(frozen=True, slots=True)
class CycleView:
    """A cycle's name and dates."""

    name: str
    start: date
    end: date

    @property
    def days(self) -> int:
        """Days in the cycle, both ends counted."""
        return (self.end - self.start).days + 1

    def day_of(self, day: date) -> int:
        """``day`` as days since the cycle's start (the x of the burn-up charts)."""
        return (day - self.start).days


@dataclass(frozen=True, slots=True)
class CheckInView:
    """One weekly check-in of a key result, as stored."""

    on: date
    value: float | None
    score: float | None
    status: str
    confidence: float | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class OwnerShare:
    """One owner's part of a key result (a per-owner breakdown row)."""

    owner: str
    value: float | None
    score: float | None = None
    """Progress toward the owner's personal target, graded as a score, when there is one."""
    status: str | None = None
    share: float | None = None
    """Of the team value, where values add up (counts and sums)."""


@dataclass(frozen=True, slots=True)
class WeeklyChange:
    """How a key result moved since its last check-in before the report's day."""

    since: date
    before: float | None
    after: float | None
    score_before: float | None
    score_after: float | None

    @property
    def delta(self) -> float | None:
        """``after − before``, or ``None`` when either is missing."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def score_delta(self) -> float | None:
        """Change of score, rounded to hundredths."""
        if self.score_before is None or self.score_after is None:
            return None
        return round(self.score_after - self.score_before, 2)


@dataclass(frozen=True, slots=True)
class KeyResultView:
    """A key result with its latest evaluation and its check-in history."""

    key: str
    """The full key, ``<cycle>/<objective>/<kr>``."""
    title: str
    kind: str
    unit: str
    source: str
    metric: str
    start: float
    target: float
    cycle: CycleView
    weight: float = 1.0
    description: str | None = None
    owner: str | None = None
    as_of: date | None = None
    """Day of the latest evaluation (``None``: never evaluated)."""
    value: float | None = None
    progress: float | None = None
    score: float | None = None
    expected: float | None = None
    forecast_score: float | None = None
    forecast: float | None = None
    """The value expected on the cycle's last day (:func:`okrsync.scoring.forecast`)."""
    status: str = "no_data"
    error: str | None = None
    check_ins: tuple[CheckInView, ...] = ()
    """Check-ins within the cycle, oldest first."""
    change: WeeklyChange | None = None
    breakdown: tuple[OwnerShare, ...] = ()
    """Per-owner parts, when the key result has them."""
    parent: str | None = None
    """For a personal key result: the full key of the team key result it rolls up into."""

    @property
    def short_key(self) -> str:
        """The key result's own key (the last part of the full key)."""
        return self.key.rsplit("/", 1)[-1]

    @property
    def points(self) -> tuple[CheckInView, ...]:
        """Check-ins that carry a value: the points of the burn-up chart."""
        return tuple(c for c in self.check_ins if c.value is not None)

    @property
    def latest_voice(self) -> CheckInView | None:
        """The latest check-in where a rep gave a confidence or a comment."""
        for check_in in reversed(self.check_ins):
            if check_in.confidence is not None or check_in.comment:
                return check_in
        return None


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    """An objective, its roll-up, its key results and the objectives aligned to it."""

    key: str
    """The full key, ``<cycle>/<objective>``."""
    title: str
    cycle: CycleView
    score: float | None
    forecast_score: float | None
    status: str
    key_results: tuple[KeyResultView, ...]
    description: str | None = None
    owner: str | None = None
    owner_kind: str | None = None
    """``team`` or ``user``."""
    children: tuple[ObjectiveView, ...] = ()
    context: bool = False
    """From another cycle, shown because this cycle's objectives align to it."""

    def walk(self) -> Iterable[ObjectiveView]:
        """This objective and every objective below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as ``okrsync status`` lists it."""

    run_id: str
    kind: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    written: int = 0
    failed: int = 0
    api_calls: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the status page and the digest show for one cycle."""

    workspace: str
    title: str
    cycle: CycleView
    cycles: tuple[CycleView, ...]
    objectives: tuple[ObjectiveView, ...]
    """Roots of the alignment tree."""
    generated_at: datetime
    as_of: date | None
    """Day of the latest evaluation shown (``None``: nothing evaluated yet)."""
    last_run: RunView | None = None
    last_success: RunView | None = None
    stale: bool = False
    """No run succeeded within twice the sync interval (two days for a cron schedule)."""
    quota: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    currency: str | None = None

    def all_objectives(self) -> list[ObjectiveView]:
        """Every objective on the page, depth first."""
        return [o for root in self.objectives for o in root.walk()]

    def key_results(self) -> list[KeyResultView]:
        """Every key result on the page, in page order."""
        return [kr for o in self.all_objectives() for kr in o.key_results]

    def status_counts(self) -> dict[str, int]:
        """Key results of this cycle by status."""
        counts: dict[str, int] = {}
        for kr in self.key_results():
            if kr.cycle.name == self.cycle.name:
                counts[kr.status] = counts.get(kr.status, 0) + 1
        return counts


# -- choosing the cycle ------------------------------------------------------------------


def _view(cycle: Cycle) -> CycleView:
    return CycleView(cycle.name, cycle.start, cycle.end)


def choose_cycle(cycles: Sequence[Cycle], day: date) -> Cycle | None:
    """The cycle a page shows by default on ``day``.

    The shortest cycle containing ``day`` (the quarter rather than the half),
    else the one that ended last before it, else the first to come.
    """
    containing = [c for c in cycles if c.contains(day)]
    if containing:
        return min(containing, key=lambda c: (c.days, c.start, c.name))
    ended = [c for c in cycles if c.end < day]
    if ended:
        return max(ended, key=lambda c: (c.end, -c.days, c.name))
    return min(cycles, key=lambda c: (c.start, c.days, c.name), default=None)


# -- reading the store ----------------------------------------------------------------------


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo, as the state store returns datetimes."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True, slots=True)
class _Evaluation:
    row: EvaluationRow
    started_at: datetime


def _latest_evaluations(
    db: Engine, workspace: str, keys: list[str], runs: int = 20
) -> dict[str, _Evaluation]:
    """Each key result's evaluation by the latest of the last ``runs`` runs (not plans) with one.

    A key result no recent run evaluated (new in the mappings, or its runs all
    failed before computing) has none.
    """
    found: dict[str, _Evaluation] = {}
    wanted = set(keys)
    with Session(db) as session:
        recent = session.exec(
            select(RunRow.id, RunRow.started_at)
            .where(RunRow.workspace == workspace, RunRow.kind != "plan")
            .order_by(col(RunRow.started_at).desc())
            .limit(runs)
        ).all()
        for run_id, started in recent:
            rows = session.exec(select(EvaluationRow).where(EvaluationRow.run_id == run_id))
            for row in rows:
                if row.kr_key in wanted and row.kr_key not in found:
                    found[row.kr_key] = _Evaluation(row, started)
            if len(found) == len(wanted):
                break
    return found


def _check_ins(db: Engine, keys: list[str]) -> dict[str, list[CheckInRow]]:
    out: dict[str, list[CheckInRow]] = {}
    with Session(db) as session:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for row in session.exec(select(CheckInRow).where(col(CheckInRow.kr_key).in_(chunk))):
                out.setdefault(row.kr_key, []).append(row)
    for rows in out.values():
        rows.sort(key=lambda r: r.on)
    return out


def _run_view(data: Mapping[str, Any]) -> RunView:
    return RunView(
        run_id=str(data["run_id"]),
        kind=str(data["kind"]),
        as_of=date.fromisoformat(data["as_of"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]) if data["finished_at"] else None,
        outcome=str(data["outcome"]),
        written=int(data["written"] or 0),
        failed=int(data["failed"] or 0),
        api_calls=dict(data["api_calls"] or {}),
        error=data["error"],
    )


# -- assembling -------------------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _owner(owner: Any) -> tuple[str | None, str | None]:
    if owner is None:
        return None, None
    return owner.name, owner.kind.value


def _key_result(
    kr: KeyResult,
    evaluation: _Evaluation | None,
    history: Sequence[CheckInRow],
    breakdown: Sequence[OwnerShare],
) -> KeyResultView:
    cycle = _view(kr.cycle)
    check_ins = tuple(
        CheckInView(
            on=row.on,
            value=_finite(row.value),
            score=row.score,
            status=row.status,
            confidence=row.confidence,
            comment=row.comment,
        )
        for row in history
        if kr.cycle.contains(row.on)
    )
    owner, _ = _owner(kr.owner)
    base = KeyResultView(
        key=kr.full_key,
        title=kr.title,
        kind=kr.kind.value,
        unit=kr.unit.value,
        source=kr.source,
        metric=kr.metric.label,
        start=kr.start,
        target=kr.target,
        cycle=cycle,
        weight=kr.weight,
        description=kr.description,
        owner=owner,
        check_ins=check_ins,
        breakdown=tuple(breakdown),
        parent=kr.parent,
    )
    if evaluation is None:
        return base
    row = evaluation.row
    value = _finite(row.value)
    forecast_end = None
    if value is not None and row.error is None:
        # the scoring module's own forecast: it counts the check-ins dated before the day
        points = [CheckInPoint(c.on, c.value) for c in history if c.value is not None]
        projected = forecast(
            kr.cycle.dates, kr.start, value, row.as_of, points, accumulates=kr.accumulates
        )
        forecast_end = projected.value
    before = [c for c in check_ins if c.on < row.as_of]
    change = None
    if before:
        last = before[-1]
        change = WeeklyChange(last.on, last.value, value, last.score, row.score)
    return replace(
        base,
        as_of=row.as_of,
        value=value,
        progress=row.progress,
        score=row.score,
        expected=row.expected,
        forecast_score=row.forecast_score,
        forecast=forecast_end,
        status=row.status,
        error=row.error,
        change=change,
    )


def _roll_up(objective: Objective, krs: Sequence[KeyResultView]) -> tuple[Any, str]:
    """The objective's score from its key results' evaluations, as the engine rolls it up."""
    weighted: list[WeightedScore] = []
    days = [kr.as_of for kr in krs if kr.as_of is not None]
    for kr in krs:
        if kr.parent is not None:  # counts through its team key result
            continue
        if kr.error is not None or kr.status not in Status.__members__.values():
            continue
        if kr.expected is None:
            continue
        weighted.append(
            WeightedScore(
                KeyResultScore(
                    kr.value,
                    kr.progress,
                    kr.score,
                    kr.expected,
                    kr.forecast_score,
                    Status(kr.status),
                ),
                kr.weight,
            )
        )
    if not days:
        return None, Status.NO_DATA.value
    rolled = score_objective(objective.cycle.dates, weighted, max(days))
    return rolled, rolled.status.value


def _objective_view(
    objective: Objective,
    krs: dict[str, KeyResultView],
    children: tuple[ObjectiveView, ...],
    *,
    context: bool,
) -> ObjectiveView:
    views = tuple(
        view
        for kr in objective.key_results
        for view in (krs[kr.full_key], *(v for v in krs.values() if v.parent == kr.full_key))
    )
    rolled, status = _roll_up(objective, views)
    owner, owner_kind = _owner(objective.owner)
    return ObjectiveView(
        key=objective.full_key,
        title=objective.title,
        cycle=_view(objective.cycle),
        score=rolled.score if rolled else None,
        forecast_score=rolled.forecast_score if rolled else None,
        status=status,
        key_results=views,
        description=objective.description,
        owner=owner,
        owner_kind=owner_kind,
        children=children,
        context=context,
    )


def _tree(
    mappings: MappingSet, cycle: Cycle, krs: dict[str, KeyResultView]
) -> tuple[ObjectiveView, ...]:
    """The cycle's objectives as an alignment tree, under the objectives they align to."""
    by_key = {o.full_key: o for o in mappings.objectives}
    shown: dict[str, Objective] = {o.full_key: o for o in mappings.objectives if o.cycle == cycle}
    for objective in list(shown.values()):  # ancestors from other cycles, as context
        seen = {objective.full_key}
        parent = by_key.get(objective.aligns_to or "")
        while parent is not None and parent.full_key not in seen:
            shown.setdefault(parent.full_key, parent)
            seen.add(parent.full_key)
            parent = by_key.get(parent.aligns_to or "")
    children: dict[str, list[Objective]] = {}
    roots: list[Objective] = []
    for objective in shown.values():
        parent_key = objective.aligns_to
        if parent_key in shown and parent_key != objective.full_key:
            children.setdefault(parent_key, []).append(objective)
        else:
            roots.append(objective)

    def build(objective: Objective, path: frozenset[str]) -> ObjectiveView:
        below = tuple(
            build(child, path | {child.full_key})
            for child in children.get(objective.full_key, [])
            if child.full_key not in path
        )
        return _objective_view(objective, krs, below, context=objective.cycle != cycle)

    # objectives others align to first (the company's), then the rest in file order
    roots.sort(key=lambda o: 0 if o.full_key in children else 1)
    return tuple(build(o, frozenset({o.full_key})) for o in roots)


STALE_AFTER_CRON = timedelta(days=2)
"""How old the last good sync may be, with a cron sync schedule, before the page warns."""


def _stale(
    settings: Settings, last_run: RunView | None, last_success: RunView | None, now: datetime
) -> bool:
    if last_run is None:
        return False  # nothing ran yet: the page says so
    if last_success is None:
        return True
    interval = settings.schedules.sync.interval
    allowed = timedelta(seconds=2 * interval) if interval else STALE_AFTER_CRON
    return _naive(now) - _naive(last_success.started_at) > allowed


def _personal(krs: Sequence[KeyResult], evaluated: Sequence[Mapping[str, Any]]) -> list[KeyResult]:
    """The personal key results of the templates, as the latest run made them."""
    from okrsync.contribution import personal_key_results  # noqa: PLC0415  (a cycle otherwise)

    out: list[KeyResult] = []
    for kr in krs:
        if kr.template is None:
            continue
        prefix = kr.full_key + "/"
        members = [
            str(row["key"])[len(prefix) :]
            for row in evaluated
            if str(row["key"]).startswith(prefix) and "/" not in str(row["key"])[len(prefix) :]
        ]
        out += personal_key_results(kr, members)
    return out


def _breakdowns(evaluated: Sequence[Mapping[str, Any]]) -> dict[str, list[OwnerShare]]:
    """The contributions the latest run stored, as the page shows them."""
    return {
        str(row["key"]): [
            OwnerShare(
                owner=part["owner"] or "unassigned",
                value=part["value"],
                score=None if part["progress"] is None else round2(part["progress"]),
                share=part["share"],
            )
            for part in row["breakdown"]
        ]
        for row in evaluated
        if row.get("breakdown")
    }


def build_report(
    settings: Settings,
    db: Engine,
    mappings: MappingSet,
    *,
    cycle: str | None = None,
    now: datetime | None = None,
    breakdowns: Mapping[str, Sequence[OwnerShare]] | None = None,
) -> Report:
    """Everything the page and the digest need for one cycle.

    Args:
        settings: The configuration (workspace, page title, currency).
        db: The state store.
        mappings: The loaded mappings.
        cycle: The cycle's name; by default the cycle of the latest run's day
            (:func:`choose_cycle`), or of today when nothing ran yet.
        now: The time the report is made (default: now).
        breakdowns: Per-owner parts of key results, by full key.

    Raises:
        UnknownCycleError: When no cycle is named ``cycle`` (or none is defined).
    """
    moment = now or datetime.now(UTC)
    status = read_status(settings, runs=20, db=db)
    runs = [_run_view(r) for r in status["runs"]]
    real = [r for r in runs if r.kind != "plan"]
    last_run = real[0] if real else None
    last_success = next((r for r in real if r.outcome in {"succeeded", "partial"}), None)
    names = [c.name for c in mappings.cycles]
    if cycle is not None:
        chosen = next((c for c in mappings.cycles if c.name == cycle), None)
        if chosen is None:
            raise UnknownCycleError(cycle, names)
    else:
        day = last_run.as_of if last_run else moment.date()
        chosen = choose_cycle(mappings.cycles, day)
        if chosen is None:
            raise UnknownCycleError(None, names)
    shown_krs = list(mappings.key_results())
    shown_krs += _personal(shown_krs, status["key_results"])
    keys = [kr.full_key for kr in shown_krs]
    evaluations = _latest_evaluations(db, settings.workspace, keys)
    history = _check_ins(db, keys)
    parts = breakdowns if breakdowns is not None else _breakdowns(status["key_results"])
    krs = {
        kr.full_key: _key_result(
            kr,
            evaluations.get(kr.full_key),
            history.get(kr.full_key, []),
            parts.get(kr.full_key, ()),
        )
        for kr in shown_krs
    }
    in_cycle = [kr for kr in krs.values() if kr.cycle.name == chosen.name and kr.as_of]
    page = settings.page
    return Report(
        workspace=settings.workspace,
        title=page.title,
        cycle=_view(chosen),
        cycles=tuple(sorted((_view(c) for c in mappings.cycles), key=lambda c: (c.start, c.name))),
        objectives=_tree(mappings, chosen, krs),
        generated_at=moment,
        as_of=max((kr.as_of for kr in in_cycle if kr.as_of), default=None),
        last_run=last_run,
        last_success=last_success,
        stale=_stale(settings, last_run, last_success, moment),
        quota={name: dict(q) for name, q in sorted(status["quota"].items())},
        currency=page.currency,
    )
