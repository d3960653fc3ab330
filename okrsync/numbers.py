"""Numbers for people, shared by the terminal tables and the status page (no dependencies)."""

from __future__ import annotations

__all__ = ["plain_number", "trim_zeros"]

_TEN_THOUSAND = 10_000


def trim_zeros(text: str) -> str:
    """``2.50`` → ``2.5``, ``3.00`` → ``3``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def plain_number(size: float, unit: str | None) -> str:
    """A non-negative number with the decimals that matter for its unit, never an exponent.

    ``count`` and ``nps``: whole numbers unless a tenth shows (``11.1``); other
    numbers: whole from 10 000 or when integral, else at most two decimals.
    """
    if unit in {"count", "nps"}:
        decimals = 0 if abs(size - round(size)) < 0.05 else 1  # noqa: PLR2004
    elif size >= _TEN_THOUSAND or float(size).is_integer():
        decimals = 0
    else:
        decimals = 2
    return trim_zeros(f"{size:,.{decimals}f}") if decimals else f"{size:,.0f}"
