"""SQL types as the connector protocol's types, and column values as Python values.

:func:`kind_of` names a column's type as :class:`okrsync.connector.FieldInfo`
does; :func:`to_python` turns what the database driver returned into the
Python value of that type. Values are read as the driver returns them (no
SQLAlchemy result processing), so a row SQLite holds in a looser form than
its column declares (text in a ``DATE`` column) is read the same way as
PostgreSQL's native values, and a value that cannot be read skips its row with
a reason instead of ending the pull.

- integers, and ``NUMERIC`` without decimals (up to 18 digits) → ``int``;
- other ``NUMERIC``/``DECIMAL``, ``REAL``, ``DOUBLE`` → ``float`` (a metric is
  computed in floating point anyway; 15 significant digits are exact);
- ``INTERVAL`` → ``float`` seconds;
- ``BOOLEAN`` → ``bool``; ``DATE`` → ``date``;
- ``TIMESTAMP WITH TIME ZONE`` → the aware UTC ``datetime``; ``TIMESTAMP``
  without one is read in the connector's ``timezone`` (UTC by default);
- text, enumerations (``picklist``, with their values), UUIDs and anything
  else → ``str`` (JSON as its text).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

__all__ = ["DATED", "NUMBERS", "TEXTS", "kind_of", "stamp_of", "to_python"]

NUMBERS = frozenset({"int", "double", "currency", "percent"})
TEXTS = frozenset({"string", "text", "picklist", "email", "id"})
DATED = frozenset({"date", "datetime"})
_EXACT_DIGITS = 18
_TRUE = frozenset({"t", "true", "1", "y", "yes", "on"})
_FALSE = frozenset({"f", "false", "0", "n", "no", "off"})


def kind_of(sql_type: sa.types.TypeEngine[Any]) -> tuple[str, tuple[str, ...]]:
    """The normalised type of a column (and an enumeration's values)."""
    if isinstance(sql_type, sa.Boolean):
        return "boolean", ()
    if isinstance(sql_type, sa.Enum):
        return "picklist", tuple(str(v) for v in sql_type.enums)
    if isinstance(sql_type, sa.Integer):
        return "int", ()
    if isinstance(sql_type, sa.Float):
        return "double", ()
    if isinstance(sql_type, sa.Numeric):
        scale, precision = sql_type.scale, sql_type.precision
        exact = scale == 0 and precision is not None and precision <= _EXACT_DIGITS
        return ("int" if exact else "double"), ()
    if isinstance(sql_type, sa.DateTime):
        return "datetime", ()
    if isinstance(sql_type, sa.Date):
        return "date", ()
    if isinstance(sql_type, sa.Text):
        return "text", ()
    try:
        python_type = sql_type.python_type
    except NotImplementedError:  # a type SQLAlchemy knows no Python type for: read as text
        return "string", ()
    return ("double" if python_type is timedelta else "string"), ()


def _moment(value: Any, zone: tzinfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if isinstance(value, datetime):
        local = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return local.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), zone).astimezone(UTC)
    raise TypeError(f"expected a date and time, got {type(value).__name__}")


def stamp_of(value: Any, zone: tzinfo) -> datetime:
    """A modification stamp as an aware UTC datetime (a naive one is in ``zone``)."""
    return _moment(value, zone)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, int):
        return value
    number = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, got {value}")
    return int(number)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, timedelta):
        return value.total_seconds()
    number = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value}")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {value!r}")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip()[:10])
    raise TypeError(f"expected a date, got {type(value).__name__}")


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("binary data cannot be a field")
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def to_python(value: Any, kind: str, zone: tzinfo) -> Any:
    """The Python value of a column of type ``kind`` (``None`` stays ``None``).

    Raises:
        ValueError: The value cannot be read as ``kind`` (the message says why).
    """
    if value is None:
        return None
    try:
        if kind == "int":
            return _int(value)
        if kind in NUMBERS:
            return _float(value)
        if kind == "boolean":
            return _bool(value)
        if kind == "date":
            return _date(value)
        if kind == "datetime":
            return _moment(value, zone)
        return _text(value)
    except (TypeError, ArithmeticError) as exc:
        raise ValueError(str(exc)) from None
