r"""SOQL built from checked field names and escaped literals, never from raw text.

Every literal goes through :func:`literal` for the type of the field it is
compared with: strings single-quoted with ``\\``, ``'``, ``"``, ``\\n``, ``\\r``,
``\\t``, ``\\b``, ``\\f`` escaped (other control characters as ``\\uXXXX``);
dates ``YYYY-MM-DD`` and datetimes ``YYYY-MM-DDTHH:MM:SSZ`` unquoted; booleans
``true``/``false``; numbers in plain decimal notation; ``null``. A date compared
with a datetime field becomes a bound at midnight UTC: ``gte 2026-07-01`` reads
``>= 2026-07-01T00:00:00Z`` and ``lte 2026-09-30`` reads ``< 2026-10-01T00:00:00Z``.
Field names come from :class:`~okrsync_salesforce._schema.Resolved`, i.e. from
describe.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from okrsync.connector import Predicate, RowFilter
    from okrsync_salesforce._schema import Resolved

__all__ = [
    "FALSE",
    "format_date",
    "format_datetime",
    "literal",
    "parse_datetime",
    "quote",
    "select",
    "where_clause",
]

FALSE = "Id = null"
"""A condition no record meets (every record has an Id)."""
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_TEXT_TYPES = frozenset({"id", "string", "text", "email", "picklist", "reference"})
_NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
_SOQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_CONTROL = 0x20


def quote(text: str) -> str:
    """A SOQL string literal holding exactly ``text``."""
    out = []
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is None and ord(char) < _CONTROL:
            escaped = f"\\u{ord(char):04x}"
        out.append(escaped or char)
    return "'" + "".join(out) + "'"


def format_date(day: date) -> str:
    """``YYYY-MM-DD``."""
    return day.isoformat()


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (``.mmm`` added only when there are milliseconds)."""
    stamp = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if stamp.microsecond // 1000:
        text += f".{stamp.microsecond // 1000:03d}"
    return text + "Z"


def parse_datetime(text: str) -> datetime:
    """An aware UTC datetime from Salesforce's ``2026-07-01T10:00:00.000+0000`` or ISO text."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():  # noqa: PLR2004  (+hhmm)
        value = f"{value[:-2]}:{value[-2:]}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return parse_datetime(text).date() if "T" in text else date.fromisoformat(text)
    raise ValueError(f"expected a date, got {value!r}")


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a datetime, got {value!r}")
    return parse_datetime(value)


def _number(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _boolean(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower()
    raise ValueError(f"expected true or false, got {value!r}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return quote("true" if value else "false")
    if isinstance(value, int | float | Decimal):
        return quote(_number(value))
    if isinstance(value, datetime):
        return quote(format_datetime(value))
    if isinstance(value, date):
        return quote(format_date(value))
    raise ValueError(f"expected text, got {value!r}")


def literal(kind: str, value: Any) -> str:
    """The SOQL literal of ``value`` compared with a field of normalised type ``kind``.

    Raises:
        TypeError: The value cannot be compared with such a field.
        ValueError: The value cannot be compared with such a field.
    """
    if value is None:
        return "null"
    if kind == "boolean":
        return _boolean(value)
    if kind in _NUMBER_TYPES:
        return _number(value)
    if kind == "date":
        return format_date(_as_date(value))
    if kind == "datetime":
        return format_datetime(_as_datetime(value))
    return _text(value)


def _is_day(kind: str, value: Any) -> bool:
    """A whole day compared with a datetime field."""
    if kind != "datetime" or isinstance(value, datetime):
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, str) and "T" not in value and len(value.strip()) == len("2026-07-01")


def _day_bounds(value: Any) -> tuple[str, str]:
    """Midnight UTC of the day and of the next day, as datetime literals."""
    day = _as_date(value)
    start = datetime.combine(day, time(), UTC)
    return format_datetime(start), format_datetime(start + timedelta(days=1))


def _day(path: str, op: str, value: Any) -> str:
    low, high = _day_bounds(value)
    if op == "eq":
        return f"({path} >= {low} AND {path} < {high})"
    if op == "ne":
        return f"({path} < {low} OR {path} >= {high} OR {path} = null)"
    return {
        "gt": f"{path} >= {high}",
        "gte": f"{path} >= {low}",
        "lt": f"{path} < {low}",
        "lte": f"{path} < {high}",
    }[op]


def _membership(path: str, kind: str, op: str, values: Iterable[Any]) -> str | None:
    """``in`` / ``not_in``; ``None`` when it holds for every record."""
    items = list(values)
    has_null = any(v is None for v in items)
    days = [v for v in items if v is not None and _is_day(kind, v)]
    plain = [literal(kind, v) for v in items if v is not None and not _is_day(kind, v)]
    if op == "in":
        parts = [_day(path, "eq", d) for d in days]
        if plain:
            parts.append(f"{path} IN ({', '.join(dict.fromkeys(plain))})")
        if has_null:
            parts.append(f"{path} = null")
        if not parts:
            return FALSE
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    parts = [_day(path, "ne", d) for d in days]
    if plain:
        parts.append(f"{path} NOT IN ({', '.join(dict.fromkeys(plain))})")
    if has_null:
        parts.append(f"{path} != null")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _null_test(path: str, kind: str, op: str, value: Any) -> tuple[bool, str | None, Any]:
    """A null test decided at once (``True`` and the answer), else the value to compare.

    A checkbox is never null, and SOQL reads ``Flag__c = null`` as ``= false`` and
    ``!= null`` as ``= true`` (SOQL and SOSL Reference, "Use null in WHERE"), while
    the replica holds the true or false the CRM returns. So "is null" holds for no
    record, "is not null" for every one, and a null in a list matches nothing.
    """
    checkbox = kind == "boolean" and "." not in path  # a parent's may be null: no parent
    if checkbox and (op == "is_null" or (op in {"eq", "ne"} and value is None)):
        wants_null = bool(value) if op == "is_null" else op == "eq"
        return True, FALSE if wants_null else None, value
    if op == "is_null":
        return True, f"{path} = null" if value else f"{path} != null", value
    if checkbox and op in {"in", "not_in"} and isinstance(value, list | tuple | set | frozenset):
        return False, None, [v for v in value if v is not None]
    return False, None, value


def predicate(pred: Predicate, field: Resolved) -> str | None:
    """One condition in SOQL; ``None`` when it holds for every record, ``FALSE`` for none.

    Raises:
        TypeError: The value does not fit the field.
        ValueError: The operator or the value does not fit the field.
    """
    path, kind, op, value = field.path, field.type, pred.op, pred.value
    decided, answer, value = _null_test(path, kind, op, value)
    if decided:
        return answer
    if op in {"in", "not_in"}:
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise ValueError(f"`{op}` needs a list of values, got {value!r}")
        return _membership(path, kind, op, value)
    if op not in _SOQL_OPS:
        raise ValueError(f"unknown operator {op!r}")
    if value is None:
        if op in {"eq", "ne"}:
            return f"{path} {_SOQL_OPS[op]} null"
        return FALSE
    if kind == "boolean" and op not in {"eq", "ne"}:
        raise ValueError(f"a checkbox cannot be compared with `{op}`")
    if _is_day(kind, value):
        return _day(path, op, value)
    return f"{path} {_SOQL_OPS[op]} {literal(kind, value)}"


def select(
    fields: Iterable[str],
    sobject: str,
    *,
    where: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
) -> str:
    """A SELECT statement from describe-checked names and a condition built in this module."""
    parts = ["SELECT", ", ".join(dict.fromkeys(fields)), "FROM", sobject]
    if where:
        parts += ["WHERE", where]
    if order_by:
        parts += ["ORDER BY", order_by]
    if limit is not None:
        parts += ["LIMIT", str(int(limit))]
    return " ".join(parts)


def where_clause(filters: RowFilter, resolve: Callable[[str], Resolved]) -> str | None:
    """The WHERE condition of a row filter (``None``: every row).

    Groups are ORed, the predicates of a group ANDed, as the protocol says.
    """
    if not filters:
        return None
    groups: list[str] = []
    for group in filters:
        parts: list[str] = []
        impossible = False
        for pred in group:
            text = predicate(pred, resolve(pred.field))
            if text is None:
                continue
            if text == FALSE:
                impossible = True
                break
            parts.append(text)
        if impossible:
            continue
        if not parts:
            return None  # a group that every row meets
        groups.append(parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")")
    if not groups:
        return FALSE
    return groups[0] if len(groups) == 1 else " OR ".join(groups)
