"""Property values: HubSpot's types, their store columns, and their form on the wire.

On the wire every property value is a string: numbers like ``"1200.5"``,
booleans ``"true"``/``"false"``, dates ``"2026-07-01"``, datetimes
``"2026-07-01T10:00:00.123Z"``. Clients may send numbers and booleans as JSON
values and dates and datetimes as epoch milliseconds too.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from okrsync_sandbox.store import FieldType

__all__ = [
    "InvalidValue",
    "PropertyType",
    "from_wire",
    "iso_millis",
    "parse_moment",
    "store_type",
    "to_wire",
]


class PropertyType(StrEnum):
    """HubSpot's property types."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    ENUMERATION = "enumeration"
    BOOL = "bool"


_STORE_TYPES = {
    PropertyType.STRING: FieldType.STRING,
    PropertyType.ENUMERATION: FieldType.PICKLIST,
    PropertyType.NUMBER: FieldType.DOUBLE,
    PropertyType.BOOL: FieldType.BOOLEAN,
    PropertyType.DATE: FieldType.DATE,
    PropertyType.DATETIME: FieldType.DATETIME,
}


def store_type(kind: PropertyType) -> FieldType:
    """The store column type holding values of ``kind``."""
    return _STORE_TYPES[kind]


class InvalidValue(ValueError):  # noqa: N818  (named for what it reports, like HubSpot's codes)
    """A value that does not fit its property; ``code`` is HubSpot's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def iso_millis(moment: datetime) -> str:
    """``2026-07-01T10:00:00.123Z``: UTC with milliseconds, as HubSpot writes datetimes."""
    stamp = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _number(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:  # noqa: PLR2004  (exact in a double)
        return str(int(value))
    return repr(value)


def to_wire(value: Any, kind: PropertyType) -> str | None:
    """A stored Python value as HubSpot sends it (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if kind is PropertyType.DATE:
            return value.astimezone(UTC).date().isoformat()
        return iso_millis(value)
    if isinstance(value, date):
        if kind is PropertyType.DATETIME:
            return iso_millis(datetime.combine(value, time(), UTC))
        return value.isoformat()
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int):
        if kind is PropertyType.BOOL:
            return "true" if value else "false"
        return str(value)
    return str(value)


def parse_moment(value: Any) -> datetime:
    """A moment given as epoch milliseconds (number or digits) or an ISO date or datetime.

    Raises:
        ValueError: when ``value`` is neither.
        TypeError: for a boolean.
    """
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a moment")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_wire(value: Any, kind: PropertyType, name: str) -> Any:
    """A value sent by a client as the Python value stored (``""`` and ``None`` clear).

    Raises:
        InvalidValue: when the value does not fit the property's type.
    """
    if value is None or value == "":
        return None
    if kind in {PropertyType.STRING, PropertyType.ENUMERATION}:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            raise InvalidValue("INVALID_STRING", f"{value!r} is not a valid value for {name}.")
        return str(value)
    if kind is PropertyType.NUMBER:
        return _parse_number(value)
    if kind is PropertyType.BOOL:
        return _parse_bool(value)
    try:
        moment = parse_moment(value)
    except (TypeError, ValueError, OverflowError, OSError):
        code = "INVALID_DATE" if kind is PropertyType.DATE else "INVALID_DATETIME"
        raise InvalidValue(code, f"{value} is not a valid {kind.value} for {name}.") from None
    if kind is PropertyType.DATE:
        if moment.astimezone(UTC).time() != time():
            raise InvalidValue(
                "INVALID_DATE",
                f"{value} is at {moment.time()} UTC for {name}; a date must be at midnight UTC.",
            )
        return moment.astimezone(UTC).date()
    return moment


def _parse_number(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidValue("INVALID_FLOAT", f"{value} was not a valid number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue("INVALID_FLOAT", f"{value} was not a valid number.") from None
    if not math.isfinite(number):
        raise InvalidValue("INVALID_FLOAT", f"{value} was not a valid number.")
    return number


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "false"}:
        return text == "true"
    raise InvalidValue(
        "INVALID_OPTION", f"{value} was not one of the allowed options: [true, false]"
    )
