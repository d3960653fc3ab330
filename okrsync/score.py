"""The score step: each key result's value scored, objectives rolled up, evaluations stored.

The rules themselves (progress, score, expected, forecast, status) are in
:mod:`okrsync.scoring`; this step applies them to one run's values, with each
key result's check-in history, and records every evaluation in the state store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okrsync.compute import MetricValue
from okrsync.model import KeyResultKind, Rollup
from okrsync.scoring import (
    KeyResultScore,
    WeightedScore,
    score_key_result,
    score_objective,
)
from okrsync.state.models import EvaluationRow

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from sqlalchemy.engine import Engine

    from okrsync.model import KeyResult, Objective
    from okrsync.scoring import CheckInPoint, ObjectiveScore

__all__ = ["KeyResultResult", "Scored", "record_evaluations", "score_all"]


@dataclass
class KeyResultResult:
    """A key result after a run: its value, its score, or its error."""

    kr: KeyResult
    value: MetricValue
    score: KeyResultScore

    @property
    def status(self) -> str:
        """Scoring status, or ``error`` when the metric failed."""
        return "error" if self.value.error else self.score.status.value

    def as_json(self) -> dict[str, Any]:
        """The ``key_results`` entry of the JSON report."""
        return {
            "key": self.kr.full_key,
            "objective": f"{self.kr.cycle.name}/{self.kr.objective_key}",
            "parent": self.kr.parent,
            "source": self.kr.source,
            "metric": self.kr.metric.label,
            "value": self.value.value,
            "start": self.kr.start,
            "target": self.kr.target,
            "progress": self.score.progress,
            "score": self.score.score,
            "expected": self.score.expected,
            "forecast_score": self.score.forecast_score,
            "forecast": self.score.forecast.value if self.score.forecast else None,
            "accumulates": self.kr.accumulates,
            "status": self.status,
            "error": self.value.error,
        }


@dataclass(frozen=True, slots=True)
class Scored:
    """The scored key results (in mapping order) and objectives (by full key)."""

    key_results: list[KeyResultResult]
    objectives: dict[str, ObjectiveScore]


def score_all(
    krs: Sequence[KeyResult],
    objectives: Sequence[Objective],
    values: Mapping[str, MetricValue],
    *,
    failed_sources: Mapping[str, str],
    history: Mapping[str, list[CheckInPoint]],
    day: date,
) -> Scored:
    """Score every key result as of ``day``; a key result of a failed pull carries that error.

    A personal key result (made from a template) counts toward its team key
    result, not toward the objective: a template that rolls up by ``mean``
    takes the weighted mean of its members' scores, as an objective does.
    """
    results: list[KeyResultResult] = []
    for kr in krs:
        value = values[kr.full_key]
        if kr.source in failed_sources:
            value = MetricValue(None, f"pull from {kr.source} failed: {failed_sources[kr.source]}")
        score = score_key_result(
            kr.cycle.dates,
            start=kr.start,
            target=kr.target,
            value=value.value,
            as_of=day,
            check_ins=history.get(kr.full_key, []),
            milestone=kr.kind is KeyResultKind.MILESTONE,
            accumulates=kr.accumulates,
        )
        results.append(KeyResultResult(kr, value, score))
    results = _rolled_up(results, day)
    by_objective: dict[str, list[WeightedScore]] = {}
    for result in results:
        kr = result.kr
        if result.value.error is None and kr.parent is None:
            objective_key = f"{kr.cycle.name}/{kr.objective_key}"
            by_objective.setdefault(objective_key, []).append(
                WeightedScore(result.score, kr.weight)
            )
    scores = {
        objective.full_key: score_objective(
            objective.cycle.dates, by_objective.get(objective.full_key, []), day
        )
        for objective in objectives
    }
    return Scored(results, scores)


def _rolled_up(results: list[KeyResultResult], day: date) -> list[KeyResultResult]:
    """Templates rolling up by ``mean``: scored as the weighted mean of their members' scores.

    The team key result keeps its own value; its progress, score and forecast
    score are the means of its members' (those with a value), its status
    follows the objective rule. Without a member's score it keeps its own.
    """
    members: dict[str, list[KeyResultResult]] = {}
    for result in results:
        if result.kr.parent is not None and result.value.error is None:
            members.setdefault(result.kr.parent, []).append(result)
    out: list[KeyResultResult] = []
    for result in results:
        kr = result.kr
        mine = [m for m in members.get(kr.full_key, []) if m.score.score is not None]
        if kr.template is None or kr.template.rollup is not Rollup.MEAN or not mine:
            out.append(result)
            continue
        weighted = [WeightedScore(m.score, m.kr.weight) for m in mine]
        rolled = score_objective(kr.cycle.dates, weighted, day)
        total = sum(m.kr.weight for m in mine)
        progress = sum((m.score.progress or 0.0) * m.kr.weight for m in mine) / total
        score = KeyResultScore(
            value=result.score.value,
            progress=progress,
            score=rolled.score,
            expected=result.score.expected,
            forecast_score=rolled.forecast_score,
            status=rolled.status,
        )
        out.append(KeyResultResult(kr, result.value, score))
    return out


def record_evaluations(
    engine: Engine,
    run_id: str,
    day: date,
    results: Sequence[KeyResultResult],
    bases: Mapping[str, str],
) -> None:
    """Store each key result's evaluation; one without error can be reused on the same basis.

    One multi-row ``INSERT`` (no ORM objects: a run of 500 key results stores them
    in milliseconds).
    """
    rows = [
        {
            "run_id": run_id,
            "kr_key": result.kr.full_key,
            "as_of": day,
            "value": result.value.value,
            "progress": result.score.progress,
            "score": result.score.score,
            "expected": result.score.expected,
            "forecast_score": result.score.forecast_score,
            "status": result.status,
            "error": result.value.error,
            # an error may be passing (a failed query, a failed pull): not reused
            "basis": None if result.value.error else bases.get(result.kr.full_key),
        }
        for result in results
    ]
    if rows:
        with engine.begin() as conn:
            conn.execute(EvaluationRow.__table__.insert(), rows)  # type: ignore[attr-defined]
