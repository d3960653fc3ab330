"""Burn-up charts as geometry for inline SVG: check-ins, the expected line, the forecast.

The chart of a key result spans its cycle (x: days since the cycle's start)
and its values (y). It draws the expected line from the start value on the
first day to the target on the last, the check-ins as points joined by a line,
today's value, and the forecast line from today's value to the forecast on the
cycle's last day (:attr:`KeyResultView.forecast`, from the scoring module).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from okrsync.report.fmt import format_day, format_score, format_value

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync.report.model import KeyResultView

__all__ = ["BurnUp", "Dot", "Line", "Tick", "burn_up", "nice_ticks"]

WIDTH = 640
HEIGHT = 232
LEFT, RIGHT, TOP, BOTTOM = 64, 14, 14, 30
"""Margins around the plot area, in SVG units."""
_FORECAST_ROOM = 1.0
"""How far beyond the start–target band (in band widths) the y axis stretches for a forecast."""


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis tick: its position (SVG units) and its label."""

    pos: float
    label: str


@dataclass(frozen=True, slots=True)
class Dot:
    """A point of the chart and what it says."""

    x: float
    y: float
    value: float
    on: date
    label: str


@dataclass(frozen=True, slots=True)
class Line:
    """A straight line from ``(x1, y1)`` to ``(x2, y2)`` and the value at its end."""

    x1: float
    y1: float
    x2: float
    y2: float
    end_value: float


@dataclass(frozen=True, slots=True)
class BurnUp:
    """Everything an SVG template needs to draw one key result's burn-up chart."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    y_min: float
    y_max: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    expected: Line
    target_y: float
    actual: str
    """The check-ins' polyline (``points`` attribute)."""
    dots: tuple[Dot, ...]
    now: Dot | None
    forecast: Line | None
    today_x: float | None
    description: str

    def value_at(self, y: float) -> float:
        """The value a y coordinate stands for (the inverse of the chart's scale)."""
        share = (self.bottom - y) / (self.bottom - self.top)
        return self.y_min + share * (self.y_max - self.y_min)


def nice_ticks(low: float, high: float, count: int = 4) -> tuple[float, float, list[float]]:
    """A rounded axis over ``[low, high]``: about ``count`` steps of 1, 2, 2.5 or 5 × 10ⁿ."""
    if not high > low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    n = round((last - first) / step)
    return first, last, [first + i * step for i in range(n + 1)]


def _x_ticks(kr: KeyResultView, x: Callable[[int], float]) -> tuple[Tick, ...]:
    cycle = kr.cycle
    months = []
    day = date(cycle.start.year, cycle.start.month, 1)
    while day <= cycle.end:
        if day >= cycle.start:
            months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    if len(months) >= 2:  # noqa: PLR2004
        step = max(1, math.ceil(len(months) / 8))
        return tuple(
            Tick(x(cycle.day_of(m)), f"{m:%b}" if m.month != 1 else f"{m:%b %Y}")
            for m in months[::step]
        )
    ticks = []
    day = cycle.start
    while day <= cycle.end:
        ticks.append(Tick(x(cycle.day_of(day)), f"{day.day} {day:%b}"))
        day += timedelta(days=7)
    return tuple(ticks)


def burn_up(kr: KeyResultView, currency: str | None = None) -> BurnUp:
    """The burn-up chart of ``kr``."""
    cycle = kr.cycle
    last_day = max(1, cycle.days - 1)
    plot_left, plot_right = float(LEFT), float(WIDTH - RIGHT)
    plot_top, plot_bottom = float(TOP), float(HEIGHT - BOTTOM)

    def show(v: float | None) -> str:
        return format_value(v, kr.unit, currency)

    band_low, band_high = min(kr.start, kr.target), max(kr.start, kr.target)
    room = (band_high - band_low) * _FORECAST_ROOM
    values = [kr.start, kr.target, *(c.value for c in kr.points if c.value is not None)]
    if kr.value is not None:
        values.append(kr.value)
    if kr.forecast is not None:
        values.append(min(max(kr.forecast, band_low - room), band_high + room))
    if kr.unit in {"count", "currency", "percent"} and min(values) >= 0:
        values.append(0.0)  # amounts and shares read best from zero
    y_min, y_max, y_values = nice_ticks(min(values), max(values))

    def x(day: int) -> float:
        return round(plot_left + (plot_right - plot_left) * day / last_day, 2)

    def y(value: float) -> float:
        share = (value - y_min) / (y_max - y_min)
        return round(plot_bottom - (plot_bottom - plot_top) * share, 2)

    dots = tuple(
        Dot(
            x(cycle.day_of(c.on)),
            y(c.value),
            c.value,
            c.on,
            f"{format_day(c.on)}: {show(c.value)}, score {format_score(c.score)}, "
            f"{c.status.replace('_', ' ')}",
        )
        for c in kr.points
        if c.value is not None
    )
    today = kr.as_of if kr.as_of is not None and cycle.start <= kr.as_of <= cycle.end else None
    now = None
    if kr.value is not None and kr.as_of is not None:
        on = min(max(kr.as_of, cycle.start), cycle.end)
        now = Dot(
            x(cycle.day_of(on)),
            y(kr.value),
            kr.value,
            on,
            f"Now ({format_day(kr.as_of)}): {show(kr.value)}",
        )
    forecast = None
    if kr.forecast is not None and now is not None:
        forecast = Line(now.x, now.y, x(last_day), y(kr.forecast), kr.forecast)
    return BurnUp(
        width=WIDTH,
        height=HEIGHT,
        left=plot_left,
        top=plot_top,
        right=plot_right,
        bottom=plot_bottom,
        y_min=y_min,
        y_max=y_max,
        x_ticks=_x_ticks(kr, x),
        y_ticks=tuple(Tick(y(v), show(v)) for v in y_values),
        expected=Line(x(0), y(kr.start), x(last_day), y(kr.target), kr.target),
        target_y=y(kr.target),
        actual=" ".join(f"{d.x:g},{d.y:g}" for d in dots),
        dots=dots,
        now=now,
        forecast=forecast,
        today_x=x(cycle.day_of(today)) if today else None,
        description=_describe(kr, show),
    )


def _describe(kr: KeyResultView, show: Callable[[float | None], str]) -> str:
    """The chart in words (its text alternative)."""
    parts = []
    points = kr.points
    if points:
        first, last = points[0], points[-1]
        many = "check-in" if len(points) == 1 else "check-ins"
        parts.append(
            f"{len(points)} {many}, from {show(first.value)} on {format_day(first.on)} "
            f"to {show(last.value)} on {format_day(last.on)}."
        )
    else:
        parts.append("No check-ins yet.")
    if kr.value is not None and kr.as_of is not None:
        parts.append(f"Now {show(kr.value)} ({format_day(kr.as_of)}).")
    parts.append(
        f"Expected line from {show(kr.start)} on {format_day(kr.cycle.start)} "
        f"to the target {show(kr.target)} on {format_day(kr.cycle.end)}."
    )
    if kr.forecast is not None:
        parts.append(
            f"Forecast {show(kr.forecast)} by {format_day(kr.cycle.end)} "
            f"(forecast score {format_score(kr.forecast_score)})."
        )
    return " ".join(parts)
