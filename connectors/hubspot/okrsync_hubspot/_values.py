"""HubSpot property values: the properties API's metadata, and values from and to the wire.

On the wire every property value is a string (``"1200.5"``, ``"true"``,
``"2026-07-01"``, ``"2026-07-01T10:00:00.123Z"``); okrsync's side is Python
values (``float``, ``bool``, ``date``, aware ``datetime``, ``str``, ``None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from okrsync.connector import FieldInfo, now_stamp

__all__ = [
    "PropertyMeta",
    "day_of",
    "epoch_millis",
    "from_wire",
    "midnight_millis",
    "normalised_type",
    "parse_moment",
    "to_wire",
]

NUMBER = "number"
BOOL = "bool"
DATE = "date"
DATETIME = "datetime"
ENUMERATION = "enumeration"
STRING = "string"
_NORMALISED = {
    NUMBER: "double",
    BOOL: "boolean",
    DATE: "date",
    DATETIME: "datetime",
    ENUMERATION: "picklist",
    STRING: "string",
}
_MAX_EXACT = 1e16
"""Integral doubles below this print without a fraction."""


def normalised_type(hubspot_type: str) -> str:
    """The okrsync type name of a HubSpot property type (unknown types read as ``string``)."""
    return _NORMALISED.get(hubspot_type, "string")


@dataclass(frozen=True, slots=True)
class PropertyMeta:
    """A property as the properties API describes it."""

    name: str
    type: str
    label: str = ""
    field_type: str = ""
    options: tuple[str, ...] = ()
    unique: bool = False
    read_only: bool = False
    group: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PropertyMeta:
        """From one entry of ``GET /crm/v3/properties/{objectType}``."""
        metadata = data.get("modificationMetadata") or {}
        return cls(
            name=str(data.get("name") or ""),
            type=str(data.get("type") or STRING),
            label=str(data.get("label") or ""),
            field_type=str(data.get("fieldType") or ""),
            options=tuple(
                str(o.get("value")) for o in data.get("options") or [] if isinstance(o, dict)
            ),
            unique=bool(data.get("hasUniqueValue")),
            read_only=bool(metadata.get("readOnlyValue") or data.get("calculated")),
            group=str(data.get("groupName") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        """The entry :meth:`from_json` reads back as this (for the schema cache)."""
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "fieldType": self.field_type,
            "options": [{"value": o} for o in self.options],
            "hasUniqueValue": self.unique,
            "modificationMetadata": {"readOnlyValue": self.read_only},
            "groupName": self.group,
        }

    def field_info(self) -> FieldInfo:
        """As okrsync's ``FieldInfo`` (normalised type)."""
        return FieldInfo(
            name=self.name,
            type=normalised_type(self.type),
            label=self.label or self.name,
            nullable=True,
            writable=not self.read_only,
            external_id=self.unique,
            unique=self.unique,
            picklist=self.options,
        )


def parse_moment(value: Any) -> datetime:
    """A moment from epoch milliseconds or ISO text (naive means UTC).

    Raises:
        ValueError: when it is neither.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_wire(raw: Any, kind: str) -> Any:
    """A wire value of a property of type ``kind`` as Python (``""`` and ``None`` are ``None``).

    Raises:
        ValueError: when the value does not fit the type.
    """
    if raw is None or raw == "":
        return None
    if kind == NUMBER:
        number = float(raw)
        if not math.isfinite(number):
            raise ValueError(f"{raw!r} is not a finite number")
        return number
    if kind == BOOL:
        text = str(raw).strip().lower()
        if text not in {"true", "false"}:
            raise ValueError(f"{raw!r} is not true or false")
        return text == "true"
    if kind == DATE:
        text = str(raw).strip()
        if len(text) == len("2026-07-01") and not text.isdigit():
            return date.fromisoformat(text)
        return parse_moment(text).astimezone(UTC).date()
    if kind == DATETIME:
        return parse_moment(raw).astimezone(UTC)
    return str(raw)


def _number(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < _MAX_EXACT:
        return str(int(value))
    return repr(value)


def to_wire(value: Any, kind: str) -> str:
    """A Python value as the wire text for a property of type ``kind`` (``None`` clears)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = parse_moment(value).astimezone(UTC)
        return moment.date().isoformat() if kind == DATE else now_stamp(moment)
    if isinstance(value, date):
        return now_stamp(parse_moment(value)) if kind == DATETIME else value.isoformat()
    if isinstance(value, float):
        return _number(value)
    return str(value)


def epoch_millis(moment: datetime) -> str:
    """Epoch milliseconds as text: how search compares dates and datetimes."""
    return str(round(parse_moment(moment).timestamp() * 1000))


def day_of(value: Any) -> date:
    """The UTC calendar day of a date, a datetime or ISO text.

    Raises:
        ValueError: when ``value`` is none of these.
    """
    if isinstance(value, datetime):
        return parse_moment(value).astimezone(UTC).date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if len(text) == len("2026-07-01") and not text.isdigit():
        return date.fromisoformat(text)
    return parse_moment(text).astimezone(UTC).date()


def midnight_millis(day: date, plus_days: int = 0) -> str:
    """Epoch milliseconds of midnight UTC starting ``day`` (+ ``plus_days``)."""
    return epoch_millis(datetime.combine(day + timedelta(days=plus_days), time(), UTC))
