"""Record values from Salesforce's JSON to Python, by the field's normalised type.

Dates ``2026-07-01`` become ``date``; datetimes ``2026-07-01T10:00:00.000+0000``
aware ``datetime`` in UTC; numbers ``float`` (``int`` for integer fields);
checkboxes ``bool``; text stays text. A value that does not fit its field
raises ``ValueError`` or ``TypeError``: the record is reported as skipped, the
pull goes on.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from okrsync_salesforce._soql import parse_datetime

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["dig", "to_python"]


def dig(record: dict[str, Any], parts: Sequence[str]) -> Any:
    """The value at a path of a query record (``("Owner", "Email")``); ``None`` past a null."""
    value: Any = record
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ValueError(f"not a checkbox value: {value!r}")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _integer(value: Any) -> int:
    number = _number(value)
    if not number.is_integer():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise TypeError(f"not a date: {value!r}")
    return date.fromisoformat(value)


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"not a datetime: {value!r}")
    return parse_datetime(value)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise TypeError(f"not a scalar value: {type(value).__name__}")
    return value if isinstance(value, str) else str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "boolean": _boolean,
    "int": _integer,
    "double": _number,
    "currency": _number,
    "percent": _number,
    "date": _date,
    "datetime": _datetime,
}


def to_python(kind: str, value: Any) -> Any:
    """The Python value of a wire value of a field of normalised type ``kind``.

    Raises:
        TypeError: The value is of the wrong JSON kind (unusable record).
        ValueError: The value does not fit the field (unusable record).
    """
    if value is None:
        return None
    converter = _CONVERTERS.get(kind)
    return _text(value) if converter is None else converter(value)
