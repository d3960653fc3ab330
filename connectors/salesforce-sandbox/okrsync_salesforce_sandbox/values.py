"""Field values on the wire: how Salesforce renders them, and how it reads them from JSON.

Rendering: dates ``2026-07-01``, datetimes ``2026-07-01T10:00:00.000+0000``,
numbers as JSON numbers, checkboxes as JSON booleans. Reading a write's JSON
body follows Salesforce's deserializer: a value of the wrong JSON kind fails
the whole request (``JSON_PARSER_ERROR``); a value of the right kind that the
field cannot hold fails the record (``STRING_TOO_LONG``, ``MALFORMED_ID``,
``INVALID_TYPE_ON_FIELD_IN_RECORD``…).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.errors import SalesforceError
from okrsync_salesforce_sandbox.ids import is_id, normalize_id
from okrsync_sandbox.store import FieldType

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_salesforce_sandbox.schema import SField

__all__ = [
    "escape_like",
    "format_datetime",
    "parse_datetime",
    "read_value",
    "render_value",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$"
)
_SOAP_NAMES = {
    FieldType.DOUBLE: "double",
    FieldType.CURRENCY: "currency",
    FieldType.PERCENT: "percent",
    FieldType.INT: "int",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
}


def escape_like(text: str) -> str:
    """A LIKE pattern matching exactly ``text`` (SQLite's LIKE ignores ASCII letter case)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def format_datetime(moment: datetime) -> str:
    """A datetime as Salesforce renders it: ``2026-07-01T10:00:00.000+0000``."""
    stamp = moment.astimezone(UTC) if moment.tzinfo else moment
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """A datetime from ISO text (``Z``, ``+01:00``, ``+0100`` or no zone: UTC); ``ValueError``."""
    match = _DATETIME.match(text.strip())
    if not match:
        raise ValueError(f"not a datetime: {text!r}")
    day, clock, zone = match.groups()
    if clock is None:
        return datetime.fromisoformat(day).replace(tzinfo=UTC)
    if "." in clock:
        whole, frac = clock.split(".")
        clock = f"{whole}.{frac[:6].ljust(6, '0')}"
    if zone in {None, "Z"}:
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{day}T{clock}{zone}").astimezone(UTC)


def render_value(kind: FieldType, value: Any) -> Any:
    """A stored value (as the store returns it) in Salesforce's JSON."""
    if value is None:
        return None
    if kind is FieldType.DATETIME and isinstance(value, datetime):
        return format_datetime(value)
    if kind is FieldType.DATE and isinstance(value, date):
        return value.isoformat()
    if kind is FieldType.BOOLEAN:
        return bool(value)
    if kind is FieldType.INT:
        return int(value)
    if kind in {FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}:
        return float(value)
    return value


def _parser_error(item: SField, value: Any) -> SalesforceError:
    token = {
        bool: "VALUE_TRUE" if value is True else "VALUE_FALSE",
        str: "VALUE_STRING",
        int: "VALUE_NUMBER_INT",
        float: "VALUE_NUMBER_FLOAT",
        dict: "START_OBJECT",
        list: "START_ARRAY",
    }.get(type(value), "VALUE_STRING")
    shown = "{" if isinstance(value, dict) else "[" if isinstance(value, list) else value
    name = _SOAP_NAMES.get(item.type, "string")
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {name} from {token} value {shown} "
        "or request may be missing a required field",
    )


def _record_error(item: SField, code: str, detail: str) -> SalesforceError:
    return SalesforceError(400, code, f"{item.column.label}: {detail}", [item.name])


def read_value(item: SField, value: Any) -> Any:
    """The Python value a write's JSON ``value`` sets on ``item``.

    Raises ``SalesforceError``: ``JSON_PARSER_ERROR`` (the whole request
    fails) or a per-record code.
    """
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise _parser_error(item, value)
    kind = item.type
    reader = _READERS.get(kind)
    if reader is not None:
        return reader(item, value)
    text = value if isinstance(value, str) else _json_text(value)
    if text == "":
        return None
    if kind in {FieldType.REFERENCE, FieldType.ID}:
        if not is_id(text):
            raise _record_error(item, "MALFORMED_ID", f"id value of incorrect type: {text}")
        return normalize_id(text)
    return _read_text(item, text)


def _read_text(item: SField, text: str) -> str:
    if len(text) > item.column.length:
        raise _record_error(
            item,
            "STRING_TOO_LONG",
            f"data value too large: {text[:40]} (max length={item.column.length})",
        )
    if item.type is FieldType.EMAIL and not _EMAIL.match(text):
        raise _record_error(item, "INVALID_EMAIL_ADDRESS", f"invalid email address: {text}")
    if item.type is FieldType.PICKLIST and item.restricted and text not in item.column.picklist:
        raise _record_error(
            item,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"bad value for restricted picklist field: {text}",
        )
    return text


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_boolean(item: SField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if isinstance(value, int | float):
        raise _record_error(
            item, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"value not of required type: {value}"
        )
    raise _parser_error(item, value)


def _read_number(item: SField, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _parser_error(item, value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _parser_error(item, value) from None
    else:
        number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise _parser_error(item, value)
    if item.type is FieldType.INT:
        if not number.is_integer():
            raise _record_error(
                item, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"value not of required type: {value}"
            )
        return int(number)
    if item.precision:
        digits = item.precision - item.scale
        if abs(number) >= 10**digits:
            raise _record_error(
                item,
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"value outside of valid range on numeric field: {value}",
            )
        number = round(number, item.scale)
    return number


def _read_date(item: SField, value: Any) -> date:
    if isinstance(value, bool):
        raise _parser_error(item, value)
    if isinstance(value, int | float):
        raise _record_error(
            item, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"value not of required type: {value}"
        )
    try:
        return parse_datetime(value).date() if "T" in value else date.fromisoformat(value)
    except ValueError:
        raise _parser_error(item, value) from None


def _read_datetime(item: SField, value: Any) -> datetime:
    if isinstance(value, bool):
        raise _parser_error(item, value)
    if isinstance(value, int | float):
        raise _record_error(
            item, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"value not of required type: {value}"
        )
    try:
        return parse_datetime(value)
    except ValueError:
        raise _parser_error(item, value) from None


_READERS: dict[FieldType, Callable[[SField, Any], Any]] = {
    FieldType.BOOLEAN: _read_boolean,
    FieldType.DOUBLE: _read_number,
    FieldType.CURRENCY: _read_number,
    FieldType.PERCENT: _read_number,
    FieldType.INT: _read_number,
    FieldType.DATE: _read_date,
    FieldType.DATETIME: _read_datetime,
}
