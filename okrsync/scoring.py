"""Pure scoring rules for key results and objectives.

Everything here is a pure function of its arguments: no I/O and no clock. The
as-of date is always passed in explicitly.

Rules:

* ``progress = clamp((value - start) / (target - start), 0, 1)``; works in either
  direction (``start > target`` means lower is better). A milestone key result has
  progress 1 when ``value >= target`` and 0 otherwise.
* ``score = round2(progress)``, rounding half up on the decimal representation.
* ``expected = round2(clamp(elapsed_days / cycle_days, 0, 1))`` where both day counts
  include the first day of the cycle.
* ``forecast_score`` extrapolates the ordinary least-squares line through the start
  value (day 0) and the check-ins to the cycle's last day and scores that value.
* ``status`` is derived from progress and the forecast score with the bands
  ``ON_TRACK_AT`` and ``AT_RISK_AT``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

__all__ = [
    "AT_RISK_AT",
    "ON_TRACK_AT",
    "CheckInPoint",
    "CycleDates",
    "KeyResultScore",
    "ObjectiveScore",
    "Status",
    "WeightedScore",
    "clamp",
    "expected_progress",
    "forecast_score",
    "forecast_value",
    "progress",
    "round2",
    "score_key_result",
    "score_objective",
    "status_from",
]

ON_TRACK_AT = 0.7
"""Lowest forecast score that counts as ``on_track``."""

AT_RISK_AT = 0.4
"""Lowest forecast score that counts as ``at_risk`` (below it: ``off_track``)."""

_HUNDREDTH = Decimal("0.01")
# Enough digits to quantize any finite float (max ~1.8e308) to two decimals exactly.
_ROUNDING_CONTEXT = Context(prec=400, rounding=ROUND_HALF_UP)


class Status(StrEnum):
    """Status of a key result or an objective."""

    NOT_STARTED = "not_started"
    NO_DATA = "no_data"
    DONE = "done"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


@dataclass(frozen=True, slots=True)
class CycleDates:
    """First and last day (both inclusive) of an OKR cycle.

    Attributes:
        start: First day of the cycle.
        end: Last day of the cycle; ``end >= start`` (validated elsewhere).
    """

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class CheckInPoint:
    """A recorded value of a key result on a given day.

    Attributes:
        on: Day of the check-in.
        value: Recorded value, or ``None`` when the check-in carried no value.
    """

    on: date
    value: float | None


@dataclass(frozen=True, slots=True)
class KeyResultScore:
    """Scoring result for one key result.

    Attributes:
        value: Current value, or ``None`` when there is no data.
        progress: Unrounded progress in ``[0, 1]``, or ``None`` without a value.
        score: Progress rounded with :func:`round2`, or ``None`` without a value.
        expected: Share of the cycle elapsed as of the as-of date, rounded.
        forecast_score: Projected score at the end of the cycle, or ``None``.
        status: Derived status.
    """

    value: float | None
    progress: float | None
    score: float | None
    expected: float
    forecast_score: float | None
    status: Status


@dataclass(frozen=True, slots=True)
class WeightedScore:
    """A key result's score with its weight in the objective roll-up.

    Attributes:
        score: The key result's score.
        weight: Relative weight; must be finite and greater than 0.

    Raises:
        ValueError: If ``weight`` is not a finite number greater than 0.
    """

    score: KeyResultScore
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"weight must be a finite number > 0, got {self.weight!r}")


@dataclass(frozen=True, slots=True)
class ObjectiveScore:
    """Scoring result for one objective.

    Attributes:
        score: Weighted mean of the key results' scores, or ``None`` without data.
        forecast_score: Weighted mean of the key results' forecast scores, or ``None``.
        status: Derived status.
    """

    score: float | None
    forecast_score: float | None
    status: Status


def clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
    """Limit ``x`` to the closed interval ``[low, high]``.

    Args:
        x: The number to limit.
        low: Lower bound.
        high: Upper bound.

    Returns:
        ``low`` if ``x < low``, ``high`` if ``x > high``, else ``x``.
    """
    if x < low:
        return low
    if x > high:
        return high
    return x


def round2(x: float) -> float:
    """Round to two decimals, half up, on the decimal representation of ``x``.

    ``0.125`` becomes ``0.13`` and ``0.115`` becomes ``0.12``: no banker's rounding and
    no binary floating-point artefacts. Halves of negative numbers round away from zero.

    Args:
        x: A finite number.

    Returns:
        ``x`` rounded to two decimal places.

    Raises:
        ValueError: If ``x`` is not finite.
    """
    if not math.isfinite(x):
        raise ValueError(f"cannot round a non-finite number: {x!r}")
    rounded = Decimal(repr(x)).quantize(_HUNDREDTH, ROUND_HALF_UP, context=_ROUNDING_CONTEXT)
    return float(rounded)


def _check_definition(start: float, target: float, *, milestone: bool) -> None:
    if not (math.isfinite(start) and math.isfinite(target)):
        raise ValueError(f"start and target must be finite, got {start!r} and {target!r}")
    if start == target and not milestone:
        raise ValueError(f"start and target must differ, both are {start!r}")


def progress(value: float, start: float, target: float, *, milestone: bool = False) -> float:
    """Progress of a key result from ``start`` towards ``target``.

    ``clamp((value - start) / (target - start), 0, 1)``; with ``start > target`` lower
    values are better. A milestone has progress 1 when ``value >= target``, else 0.

    Args:
        value: Current value.
        start: Value at the start of the cycle.
        target: Value to reach by the end of the cycle.
        milestone: Whether the key result is a milestone (done or not done).

    Returns:
        Progress in ``[0, 1]`` (unrounded).

    Raises:
        ValueError: If a number is not finite, or ``start == target`` for a
            non-milestone key result.
    """
    _check_definition(start, target, milestone=milestone)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    if milestone:
        return 1.0 if value >= target else 0.0
    return clamp((value - start) / (target - start))


def expected_progress(cycle: CycleDates, as_of: date) -> float:
    """Share of the cycle elapsed on ``as_of``, counting ``as_of`` itself.

    ``round2(clamp(elapsed_days / cycle_days))`` with
    ``elapsed_days = (as_of - cycle.start).days + 1`` and
    ``cycle_days = (cycle.end - cycle.start).days + 1``.

    Args:
        cycle: The cycle.
        as_of: The day to evaluate on.

    Returns:
        Expected progress in ``[0, 1]``, rounded with :func:`round2`.
    """
    elapsed_days = (as_of - cycle.start).days + 1
    cycle_days = (cycle.end - cycle.start).days + 1
    return round2(clamp(elapsed_days / cycle_days))


def _ols_value_at(points: Sequence[tuple[int, float]], x: int) -> float | None:
    """Value at ``x`` of the least-squares line through ``points``; ``None`` if degenerate."""
    n = len(points)
    mean_x = sum(px for px, _ in points) / n
    mean_y = sum(py for _, py in points) / n
    sxx = sum((px - mean_x) ** 2 for px, _ in points)
    if sxx == 0:
        return None
    sxy = sum((px - mean_x) * (py - mean_y) for px, py in points)
    return mean_y + (sxy / sxx) * (x - mean_x)


def forecast_value(  # noqa: PLR0917 -- same positional signature as forecast_score
    cycle: CycleDates,
    start: float,
    target: float,
    value: float,
    as_of: date,
    check_ins: Sequence[CheckInPoint] = (),
    *,
    milestone: bool = False,
) -> float:
    """The value a key result is expected to have on the cycle's last day.

    The value on the cycle's last day of the ordinary least-squares line through
    ``(0, start)`` and one point per counted check-in (``x`` is the number of days
    since ``cycle.start``). A check-in counts when its date lies within the cycle, is
    not after ``as_of`` and it has a value. Without counted check-ins the line runs
    through ``(0, start)`` and ``(as_of_day, value)`` with
    ``as_of_day = (min(as_of, cycle.end) - cycle.start).days``. When the line is
    undefined (on or before the cycle's first day without check-ins, or every point
    on the same day) the forecast is the current ``value``.

    :func:`forecast_score` scores this value; the status page draws its forecast
    line to it.

    Args:
        cycle: The cycle.
        start: Value at the start of the cycle.
        target: Value to reach by the end of the cycle.
        value: Current value.
        as_of: The day to evaluate on.
        check_ins: Recorded check-ins, in any order.
        milestone: Whether the key result is a milestone.

    Returns:
        The forecast value (not clamped: it may lie beyond the target).

    Raises:
        ValueError: As :func:`progress`.
    """
    _check_definition(start, target, milestone=milestone)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value!r}")
    points: list[tuple[int, float]] = [(0, start)]
    points.extend(
        ((check_in.on - cycle.start).days, check_in.value)
        for check_in in check_ins
        if check_in.value is not None and cycle.start <= check_in.on <= min(cycle.end, as_of)
    )
    if len(points) == 1:
        as_of_day = (min(as_of, cycle.end) - cycle.start).days
        if as_of_day <= 0:
            return value
        points.append((as_of_day, value))
    end_value = _ols_value_at(points, (cycle.end - cycle.start).days)
    return value if end_value is None else end_value


def forecast_score(  # noqa: PLR0917 -- positional signature is the agreed API
    cycle: CycleDates,
    start: float,
    target: float,
    value: float,
    as_of: date,
    check_ins: Sequence[CheckInPoint] = (),
    *,
    milestone: bool = False,
) -> float:
    """Projected score of a key result at the end of the cycle.

    :func:`forecast_value` turned into progress with :func:`progress` and rounded
    with :func:`round2`; when that line is undefined, the current score.

    Args:
        cycle: The cycle.
        start: Value at the start of the cycle.
        target: Value to reach by the end of the cycle.
        value: Current value (used only when no check-in counts, and for the
            degenerate cases).
        as_of: The day to evaluate on.
        check_ins: Recorded check-ins, in any order.
        milestone: Whether the key result is a milestone.

    Returns:
        Forecast score in ``[0, 1]``, rounded with :func:`round2`.

    Raises:
        ValueError: As :func:`progress`.
    """
    end_value = forecast_value(cycle, start, target, value, as_of, check_ins, milestone=milestone)
    return round2(progress(end_value, start, target, milestone=milestone))


def _band(forecast: float) -> Status:
    if forecast >= ON_TRACK_AT:
        return Status.ON_TRACK
    if forecast >= AT_RISK_AT:
        return Status.AT_RISK
    return Status.OFF_TRACK


def status_from(progress: float | None, forecast: float | None, *, started: bool) -> Status:
    """Status of a key result from its progress and forecast score.

    In order: ``not_started`` when the cycle has not started, ``no_data`` without
    progress, ``done`` when progress is 1, else by the forecast score: at least
    ``ON_TRACK_AT`` is ``on_track``, at least ``AT_RISK_AT`` is ``at_risk``, below is
    ``off_track``.

    Args:
        progress: Unrounded progress, or ``None`` without a value.
        forecast: Forecast score, or ``None`` without a value.
        started: Whether the as-of date is on or after the cycle's start.

    Returns:
        The status.

    Raises:
        ValueError: If there is progress below 1 but no forecast score.
    """
    if not started:
        return Status.NOT_STARTED
    if progress is None:
        return Status.NO_DATA
    if progress == 1:
        return Status.DONE
    if forecast is None:
        raise ValueError("a key result with progress needs a forecast score")
    return _band(forecast)


def score_key_result(
    cycle: CycleDates,
    *,
    start: float,
    target: float,
    value: float | None,
    as_of: date,
    check_ins: Sequence[CheckInPoint] = (),
    milestone: bool = False,
) -> KeyResultScore:
    """Score one key result as of a given day.

    Args:
        cycle: The cycle.
        start: Value at the start of the cycle.
        target: Value to reach by the end of the cycle.
        value: Current value, or ``None`` when there is no data.
        as_of: The day to evaluate on.
        check_ins: Recorded check-ins, in any order.
        milestone: Whether the key result is a milestone.

    Returns:
        The key result's score. Without a value, progress, score and forecast score
        are ``None`` and the status is ``no_data`` (or ``not_started``).

    Raises:
        ValueError: If a number is not finite, or ``start == target`` for a
            non-milestone key result (also when ``value`` is ``None``).
    """
    _check_definition(start, target, milestone=milestone)
    expected = expected_progress(cycle, as_of)
    started = as_of >= cycle.start
    if value is None:
        return KeyResultScore(
            value=None,
            progress=None,
            score=None,
            expected=expected,
            forecast_score=None,
            status=status_from(None, None, started=started),
        )
    kr_progress = progress(value, start, target, milestone=milestone)
    forecast = forecast_score(cycle, start, target, value, as_of, check_ins, milestone=milestone)
    return KeyResultScore(
        value=value,
        progress=kr_progress,
        score=round2(kr_progress),
        expected=expected,
        forecast_score=forecast,
        status=status_from(kr_progress, forecast, started=started),
    )


def _weighted_mean(pairs: Sequence[tuple[float, float]]) -> float:
    total_weight = sum(weight for _, weight in pairs)
    return round2(sum(x * weight for x, weight in pairs) / total_weight)


def score_objective(
    cycle: CycleDates, key_results: Sequence[WeightedScore], as_of: date
) -> ObjectiveScore:
    """Roll the key results' scores up into the objective's score.

    The score is the weighted mean of the scores of the key results that have one,
    and the forecast score the weighted mean of their forecast scores (same key
    results, same weights), both rounded with :func:`round2`. Status, in order:
    ``not_started`` before the cycle's start, ``no_data`` when no key result has a
    score, ``done`` when every key result with a score is done, else the bands applied
    to the forecast score.

    Args:
        cycle: The cycle.
        key_results: The objective's key results with their weights.
        as_of: The day to evaluate on.

    Returns:
        The objective's score.

    Raises:
        ValueError: If a key result has a score but no forecast score.
    """
    with_data = [kr for kr in key_results if kr.score.score is not None]
    if not with_data:
        status = Status.NOT_STARTED if as_of < cycle.start else Status.NO_DATA
        return ObjectiveScore(score=None, forecast_score=None, status=status)
    scores: list[tuple[float, float]] = []
    forecasts: list[tuple[float, float]] = []
    for kr in with_data:
        kr_score, kr_forecast = kr.score.score, kr.score.forecast_score
        if kr_score is None or kr_forecast is None:
            raise ValueError("a key result with a score needs a forecast score")
        scores.append((kr_score, kr.weight))
        forecasts.append((kr_forecast, kr.weight))
    score = _weighted_mean(scores)
    forecast = _weighted_mean(forecasts)
    if as_of < cycle.start:
        status = Status.NOT_STARTED
    elif all(kr.score.status is Status.DONE for kr in with_data):
        status = Status.DONE
    else:
        status = _band(forecast)
    return ObjectiveScore(score=score, forecast_score=forecast, status=status)
