"""SOQL date literals (``TODAY``, ``THIS_QUARTER``, ``LAST_N_DAYS:30``…) as ranges of days.

Each literal names an inclusive range of calendar days relative to the
sandbox's today (UTC). Weeks start on Sunday (the ``en_US`` locale); quarters
and years are calendar ones (fiscal literals are outside the subset).
Following Salesforce: ``LAST_N_DAYS:n`` and ``LAST_90_DAYS`` include today and
the n days before it; ``NEXT_N_DAYS:n`` starts tomorrow; the ``LAST_N_…`` and
``NEXT_N_…`` forms of weeks, months, quarters and years leave out the current one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DATE_LITERALS", "N_DATE_LITERALS", "UNSUPPORTED_LITERALS", "date_range"]

DATE_LITERALS = frozenset(
    {
        "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK",
        "LAST_MONTH", "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS",
        "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
    }
)  # fmt: skip
N_DATE_LITERALS = frozenset(
    {
        "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
        "N_WEEKS_AGO", "LAST_N_MONTHS", "NEXT_N_MONTHS", "N_MONTHS_AGO", "LAST_N_QUARTERS",
        "NEXT_N_QUARTERS", "N_QUARTERS_AGO", "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO",
    }
)  # fmt: skip
UNSUPPORTED_LITERALS = frozenset(
    {
        "THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER", "THIS_FISCAL_YEAR",
        "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR", "LAST_N_FISCAL_QUARTERS",
        "NEXT_N_FISCAL_QUARTERS", "N_FISCAL_QUARTERS_AGO", "LAST_N_FISCAL_YEARS",
        "NEXT_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO",
    }
)  # fmt: skip

_DAY = timedelta(days=1)


def _month_start(year: int, month: int) -> date:
    """The first day of month ``month`` of ``year`` (months past 12 or below 1 roll over)."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def _months(today: date, first: int, count: int, size: int = 1) -> tuple[date, date]:
    """``count`` periods of ``size`` months, the first ``first`` periods from the current one."""
    current = (today.month - 1) // size * size + 1
    start = _month_start(today.year, current + first * size)
    end = _month_start(today.year, current + (first + count) * size) - _DAY
    return start, end


def _quarters(today: date, first: int, count: int) -> tuple[date, date]:
    return _months(today, first, count, 3)


def _weeks(today: date, first: int, count: int) -> tuple[date, date]:
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    start = sunday + timedelta(weeks=first)
    return start, start + timedelta(weeks=count) - _DAY


def _years(today: date, first: int, count: int) -> tuple[date, date]:
    return date(today.year + first, 1, 1), date(today.year + first + count - 1, 12, 31)


_RANGES: dict[str, Callable[[date, int, int], tuple[date, date]]] = {
    "WEEK": _weeks,
    "MONTH": _months,
    "QUARTER": _quarters,
    "YEAR": _years,
}


def date_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """The inclusive range of days of the literal ``name`` (``n`` for the ``_N_`` ones)."""
    if n is None:
        fixed = {
            "YESTERDAY": (today - _DAY, today - _DAY),
            "TODAY": (today, today),
            "TOMORROW": (today + _DAY, today + _DAY),
            "LAST_90_DAYS": (today - 90 * _DAY, today),
            "NEXT_90_DAYS": (today + _DAY, today + 90 * _DAY),
        }
        if name in fixed:
            return fixed[name]
        period, _, unit = name.partition("_")
        return _RANGES[unit](today, {"LAST": -1, "THIS": 0, "NEXT": 1}[period], 1)
    if name == "LAST_N_DAYS":
        return today - n * _DAY, today
    if name == "NEXT_N_DAYS":
        return today + _DAY, today + n * _DAY
    if name == "N_DAYS_AGO":
        return today - n * _DAY, today - n * _DAY
    parts = name.split("_")
    fn = _RANGES[parts[-1].removesuffix("S")] if parts[0] != "N" else _RANGES[parts[1][:-1]]
    if parts[0] == "LAST":
        return fn(today, -n, n)
    if parts[0] == "NEXT":
        return fn(today, 1, n)
    return fn(today, -n, 1)
