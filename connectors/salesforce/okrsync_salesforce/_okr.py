"""okrsync's own objects in Salesforce: their API names and field definitions.

Objects are ``OKR_Objective__c``, ``OKR_Key_Result__c`` and ``OKR_Check_In__c``.
A logical field ``forecast_score`` is ``Forecast_Score__c``; the key is the
external id ``OKR_Key__c`` (unique); the owner is the standard ``OwnerId``; a
lookup ``objective`` is ``Objective__c`` with the relationship ``Objective__r``
(and, seen from the objective, the child relationship ``OKR_Key_Results``; an
objective's own ``Parent_Objective__c`` has the children ``Child_Objectives``).
The record name ``Name`` holds the title (or the key) cut to 80 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okrsync.crm_objects import OKR_OBJECTS

if TYPE_CHECKING:
    from okrsync.connector import LogicalField, LogicalObject

__all__ = [
    "KEY_FIELD",
    "LONG_TEXT_LENGTH",
    "NAME_LENGTH",
    "NUMBER_PRECISION",
    "NUMBER_SCALE",
    "OBJECTS",
    "PERCENT_PRECISION",
    "PERCENT_SCALE",
    "TEXT_LENGTH",
    "child_relationship",
    "field_metadata",
    "field_name",
    "logical_object",
    "object_name",
    "picklist_metadata",
    "relationship_name",
]

KEY_FIELD = "OKR_Key__c"
NAME_LENGTH = 80
TEXT_LENGTH = 255
LONG_TEXT_LENGTH = 32768
NUMBER_PRECISION, NUMBER_SCALE = 18, 4
PERCENT_PRECISION, PERCENT_SCALE = 5, 2
OBJECTS: dict[str, LogicalObject] = {o.name: o for o in OKR_OBJECTS}


def _pascal(name: str) -> str:
    return "_".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def logical_object(name: str) -> LogicalObject:
    """The logical object called ``name`` (``ValueError`` when okrsync has none)."""
    try:
        return OBJECTS[name]
    except KeyError:
        known = ", ".join(sorted(OBJECTS))
        raise ValueError(f"okrsync has no object {name!r}; expected one of {known}") from None


def object_name(obj: str) -> str:
    """``key_result`` → ``OKR_Key_Result__c``."""
    logical_object(obj)
    return f"OKR_{_pascal(obj)}__c"


def field_name(item: LogicalField) -> str:
    """The API name of a logical field (``forecast_score`` → ``Forecast_Score__c``)."""
    if item.type == "key":
        return KEY_FIELD
    if item.type == "owner":
        return "OwnerId"
    return f"{_pascal(item.name)}__c"


def relationship_name(item: LogicalField) -> str:
    """The relationship of a lookup (``objective`` → ``Objective__r``)."""
    return f"{_pascal(item.name)}__r"


def child_relationship(obj: LogicalObject, item: LogicalField) -> tuple[str, str]:
    """Name and label of a lookup's relationship seen from its parent (the related list).

    ``Objective__c`` of key results is ``OKR_Key_Results`` on the objective; an
    objective's parent lookup (to its own object) is ``Child_Objectives``.
    """
    if item.lookup == obj.name:
        return f"Child_{_pascal(obj.name)}s", f"Child {obj.name.replace('_', ' ')}s"
    return _pascal(obj.plural.replace(" ", "_").replace("-", "_")), obj.plural


def _picklist(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """A restricted value set."""
    return {
        "restricted": True,
        "valueSetDefinition": {
            "sorted": False,
            "value": [{"fullName": v, "label": v, "default": False} for v in values],
        },
    }


def picklist_metadata(label: str, values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Tooling ``Metadata`` of a restricted picklist."""
    return {"type": "Picklist", "label": label, "valueSet": _picklist(values)}


_SIMPLE: dict[str, dict[str, Any]] = {
    "text": {"type": "Text", "length": TEXT_LENGTH},
    "long_text": {"type": "LongTextArea", "length": LONG_TEXT_LENGTH, "visibleLines": 3},
    "number": {"type": "Number", "precision": NUMBER_PRECISION, "scale": NUMBER_SCALE},
    "percent": {"type": "Percent", "precision": PERCENT_PRECISION, "scale": PERCENT_SCALE},
    "date": {"type": "Date"},
    "datetime": {"type": "DateTime"},
}


def field_metadata(obj: LogicalObject, item: LogicalField) -> dict[str, Any] | None:
    """Tooling API ``Metadata`` of a logical field (``None``: a standard field)."""
    label = item.label[:40]
    if item.type == "owner":
        return None
    if item.type == "key":
        return {
            "type": "Text",
            "label": "OKR key",
            "length": TEXT_LENGTH,
            "externalId": True,
            "unique": True,
            "description": "okrsync's key of the record; upserts match on it.",
        }
    if item.type == "picklist":
        return picklist_metadata(label, item.picklist)
    if item.type == "lookup":
        children, children_label = child_relationship(obj, item)
        return {
            "type": "Lookup",
            "label": label,
            "referenceTo": object_name(str(item.lookup)),
            "relationshipName": children,
            "relationshipLabel": children_label,
            "deleteConstraint": "SetNull",
        }
    return {"label": label, **_SIMPLE[item.type]}
