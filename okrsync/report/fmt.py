"""Numbers as people read them: values by unit, changes, scores, dates.

Values of a ``percent`` key result are fractions (0.15 is 15 %); ``currency``
values are shown compactly (``€1.25 M``, ``€750 k``) with the configured
currency; counts as whole numbers with thousands separators; NPS as a signed
whole number.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from okrsync.numbers import plain_number, trim_zeros

if TYPE_CHECKING:
    from datetime import date

__all__ = [
    "CURRENCY_SYMBOLS",
    "format_change",
    "format_day",
    "format_score",
    "format_share",
    "format_value",
]

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}
"""Symbols written before an amount; other ISO codes are written after it."""
_MILLION = 1_000_000
_HUNDRED_THOUSAND = 100_000
_TEN_THOUSAND = 10_000
_MINUS = "\N{MINUS SIGN}"
_THIN = "\N{NARROW NO-BREAK SPACE}"


def _signed(text: str, negative: bool, *, plus: bool) -> str:
    if negative:
        return _MINUS + text
    return "+" + text if plus else text


def _compact(amount: float) -> str:
    """``2500000`` → ``2.5 M``, ``750000`` → ``750 k``, ``1234`` → ``1,234``."""
    size = abs(amount)
    if size >= _MILLION - 500:  # 999,500 and up reads as 1 M, not 1000 k
        return f"{trim_zeros(f'{size / _MILLION:.2f}')}{_THIN}M"
    if size >= _HUNDRED_THOUSAND:
        return f"{size / 1000:.0f}{_THIN}k"
    if size >= _TEN_THOUSAND:
        return f"{trim_zeros(f'{size / 1000:.1f}')}{_THIN}k"
    return f"{size:,.0f}" if size >= 100 else trim_zeros(f"{size:,.2f}")  # noqa: PLR2004


def _money(amount: float, currency: str | None, *, plus: bool) -> str:
    body = _compact(amount)
    code = (currency or "").upper()
    if code in CURRENCY_SYMBOLS:
        body = CURRENCY_SYMBOLS[code] + body
    elif code:
        body = f"{body}{_THIN}{code}"
    return _signed(body, amount < 0, plus=plus)


def _plain(value: float, unit: str | None, *, plus: bool) -> str:
    body = plain_number(abs(value), unit)
    zero = float(body.replace(",", "")) == 0
    return _signed(body, value < 0 and not zero, plus=plus and not zero)


def format_value(value: float | None, unit: str | None = None, currency: str | None = None) -> str:
    """A key result's value for people: ``15%``, ``€1.2 M``, ``42``, ``—`` for none."""
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "percent":
        body = trim_zeros(f"{abs(value) * 100:.1f}") + "%"
        return _signed(body, value < 0 and body != "0%", plus=False)
    if unit == "currency":
        return _money(value, currency, plus=False)
    return _plain(value, unit, plus=False)


def format_change(delta: float | None, unit: str | None = None, currency: str | None = None) -> str:
    """A change of value, always signed: ``+1.5 pp``, ``−€20 k``, ``+3``, ``±0``."""
    if delta is None or not math.isfinite(delta):
        return "—"
    if unit == "percent":
        body = trim_zeros(f"{abs(delta) * 100:.1f}")
        if body == "0":
            return "±0 pp"
        return _signed(f"{body}{_THIN}pp", delta < 0, plus=True)
    if unit == "currency":
        if round(delta, 2) == 0:
            return "±0"
        return _money(delta, currency, plus=True)
    text = _plain(delta, unit, plus=True)
    return "±0" if text == "0" else text


def format_score(score: float | None) -> str:
    """A score like ``0.70`` (two decimals, as graded); ``—`` for none."""
    return "—" if score is None else f"{score:.2f}"


def format_share(share: float | None) -> str:
    """A fraction in [0, 1] as a whole percentage: ``0.625`` → ``63%``."""
    return "—" if share is None else f"{share * 100:.0f}%"


def format_day(day: date) -> str:
    """A date as ``Mon 28 Sep 2026``."""
    return f"{day:%a} {day.day} {day:%b %Y}"
