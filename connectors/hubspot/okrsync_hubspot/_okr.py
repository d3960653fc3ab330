"""okrsync's objects as HubSpot custom objects: names, property definitions, values.

``objective`` → ``okr_objective`` (likewise ``okr_key_result``, ``okr_check_in``);
fields keep their snake_case names except ``key`` → ``okr_key`` (the unique id
property), ``owner`` → ``hubspot_owner_id``; ``lookup`` fields are
associations, not properties. Percent fields are stored as 0–100 numbers
(okrsync's records carry fractions), picklists as enumerations.

A lookup to the object's own type (an objective's parent objective) is a
paired association label on ``okr_objective`` → ``okr_objective``: "Parent
objective" seen from the child, "Child objective" seen from the parent, so
the direction is never ambiguous. Each object shows its title (a check-in its
key) in lists, its score and status beside it, and is found by title, key
and owner name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from okrsync_hubspot._values import (
    DATE,
    DATETIME,
    ENUMERATION,
    NUMBER,
    STRING,
    from_wire,
    parse_moment,
    to_wire,
)

if TYPE_CHECKING:
    from okrsync.connector import LogicalField, LogicalObject

__all__ = [
    "KEY_PROPERTY",
    "OWNER_PROPERTY",
    "Display",
    "association_label",
    "check_value",
    "display",
    "field_property",
    "logical_value",
    "object_name",
    "property_definition",
    "wire_value",
]

PREFIX = "okr_"
KEY_PROPERTY = "okr_key"
OWNER_PROPERTY = "hubspot_owner_id"
_PERCENT_SCALE = 100.0
_TYPES: dict[str, tuple[str, str]] = {
    "key": (STRING, "text"),
    "text": (STRING, "text"),
    "long_text": (STRING, "textarea"),
    "number": (NUMBER, "number"),
    "percent": (NUMBER, "number"),
    "date": (DATE, "date"),
    "datetime": (DATETIME, "date"),
    "picklist": (ENUMERATION, "select"),
    "owner": (STRING, "text"),
}
"""HubSpot ``type`` and ``fieldType`` of each logical field type (lookups are associations)."""


def object_name(logical: str) -> str:
    """``key_result`` → ``okr_key_result`` (a name already physical is returned as it is)."""
    return logical if logical.startswith(PREFIX) else PREFIX + logical


def field_property(field: LogicalField) -> str | None:
    """The property holding a logical field (``None`` for lookups, which are associations)."""
    if field.type == "lookup":
        return None
    if field.type == "key":
        return KEY_PROPERTY
    if field.type == "owner":
        return OWNER_PROPERTY
    return field.name


def hubspot_type(field: LogicalField) -> str:
    """The HubSpot property type of a (non-lookup) field."""
    return _TYPES[field.type][0]


def group_name(obj: LogicalObject) -> str:
    """The property group of an object's properties."""
    return f"{object_name(obj.name)}_information"


def property_definition(obj: LogicalObject, field: LogicalField) -> dict[str, Any]:
    """The properties/schemas API definition of a field's property."""
    kind, field_type = _TYPES[field.type]
    out: dict[str, Any] = {
        "name": field_property(field),
        "label": field.label,
        "type": kind,
        "fieldType": field_type,
        "groupName": group_name(obj),
    }
    if field.type == "key":
        out["hasUniqueValue"] = True
    if field.type == "percent":
        out["description"] = "Percent, 0–100."
    if field.type == "picklist":
        # HubSpot's specification requires `hidden` and `displayOrder` on each option.
        out["options"] = [
            {
                "label": v.replace("_", " ").capitalize(),
                "value": v,
                "displayOrder": i,
                "hidden": False,
            }
            for i, v in enumerate(field.picklist)
        ]
    if field.rep_owned:
        out["description"] = "Edited by reps in HubSpot; okrsync reads it and never writes it."
    return out


@dataclass(frozen=True, slots=True)
class Display:
    """How a custom object's records read in HubSpot's lists, cards and search."""

    primary: str
    secondary: tuple[str, ...]
    searchable: tuple[str, ...]

    def as_schema(self) -> dict[str, Any]:
        """The schemas API's fields for it."""
        return {
            "primaryDisplayProperty": self.primary,
            "secondaryDisplayProperties": list(self.secondary),
            "searchableProperties": list(self.searchable),
        }


def display(obj: LogicalObject) -> Display:
    """Title first (a check-in: its key), then score and status; found by title, key, owner."""
    names = {f.name for f in obj.fields}
    primary = "title" if "title" in names else KEY_PROPERTY
    secondary = tuple(
        n for n in ("check_in_date", "score", "status") if n in names and n != primary
    )
    extra = [n for n in ("owner_name", "cycle") if n in names]
    searchable = tuple(dict.fromkeys([primary, KEY_PROPERTY, *extra]))
    return Display(primary, secondary, searchable)


def association_label(obj: LogicalObject, field: LogicalField) -> tuple[str, str, str] | None:
    """Name, label and inverse label of a lookup to the object's own type; ``None`` otherwise.

    ``objective.parent_objective`` → (``okr_parent_objective``, "Parent objective",
    "Child objective").
    """
    if field.type != "lookup" or field.lookup != obj.name:
        return None
    inverse = field.label.replace("Parent", "Child", 1) if "Parent" in field.label else obj.label
    return f"{PREFIX}{field.name}", field.label, inverse


def check_value(field: LogicalField, value: Any) -> str | None:
    """Why ``value`` cannot be written to ``field`` (``None``: it can)."""
    if value is None:
        return None
    if field.type in {"number", "percent"}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number, got {type(value).__name__}"
        return None if math.isfinite(value) else f"expected a finite number, got {value!r}"
    if field.type == "picklist":
        if str(value) not in field.picklist:
            return f"{value!r} is not one of {', '.join(field.picklist)}"
        return None
    if field.type in {"date", "datetime"}:
        if isinstance(value, date | datetime):
            return None
        try:
            parse_moment(value)
        except (TypeError, ValueError, OverflowError):
            return f"expected a {field.type}, got {value!r}"
        return None
    return None


def wire_value(field: LogicalField, value: Any) -> str:
    """A logical value as the text sent for the field's property (percent: fraction × 100)."""
    kind = hubspot_type(field)
    if field.type == "percent" and value is not None:
        return to_wire(round(float(value) * _PERCENT_SCALE, 10), kind)
    if isinstance(value, str) and kind in {DATE, DATETIME}:
        value = parse_moment(value)
    return to_wire(value, kind)


def logical_value(field: LogicalField, raw: Any) -> Any:
    """A property's wire text as the logical value (percent: ÷ 100).

    Raises:
        ValueError: when the text does not fit the type.
    """
    value = from_wire(raw, hubspot_type(field))
    if field.type == "percent" and value is not None:
        return round(value / _PERCENT_SCALE, 12)
    return value
