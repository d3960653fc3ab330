"""Provisioning through the Tooling API: ``CustomObject`` and ``CustomField`` records.

``POST /tooling/sobjects/CustomObject`` with ``{"FullName": "OKR_Key_Result__c",
"Metadata": {…}}`` creates an object that is queryable and describable at
once; ``POST /tooling/sobjects/CustomField`` with ``{"FullName":
"OKR_Key_Result__c.Score__c", "Metadata": {"type": "Number", …}}`` adds a
field. Both kinds are queryable (``SELECT Id, DeveloperName FROM CustomField
WHERE TableEnumOrId = '01I…'``) so provisioning can diff, readable with their
``Metadata`` and patchable (labels, lengths, precision, picklist values,
external id and unique flags).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.errors import SalesforceError, not_found
from okrsync_salesforce_sandbox.ids import normalize_id
from okrsync_salesforce_sandbox.schema import (
    SHORT_TEXT,
    Schema,
    SField,
    SObjectType,
    custom_system_fields,
)
from okrsync_sandbox.store import Column, FieldType

if TYPE_CHECKING:
    from okrsync_salesforce_sandbox.org import Org

__all__ = ["Tooling"]

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
_TYPES: dict[str, FieldType] = {
    "Text": FieldType.STRING,
    "TextArea": FieldType.TEXTAREA,
    "LongTextArea": FieldType.TEXTAREA,
    "Number": FieldType.DOUBLE,
    "Percent": FieldType.PERCENT,
    "Currency": FieldType.CURRENCY,
    "Checkbox": FieldType.BOOLEAN,
    "Date": FieldType.DATE,
    "DateTime": FieldType.DATETIME,
    "Picklist": FieldType.PICKLIST,
    "Lookup": FieldType.REFERENCE,
    "MasterDetail": FieldType.REFERENCE,
    "Email": FieldType.EMAIL,
    "Phone": FieldType.PHONE,
    "Url": FieldType.URL,
}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _integrity(message: str, fields: list[str] | None = None) -> SalesforceError:
    return SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def _metadata(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    full_name = body.get("FullName")
    metadata = body.get("Metadata")
    if not isinstance(full_name, str) or not full_name:
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName]", ["FullName"]
        )
    if not isinstance(metadata, dict):
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", ["Metadata"]
        )
    return full_name, metadata


class Tooling:
    """The Tooling API's custom-object and custom-field records of an org.

    Args:
        org: The org whose objects are provisioned.
        schema: The tooling objects (``CustomObject``, ``CustomField``).
    """

    def __init__(self, org: Org, schema: Schema) -> None:
        self.org = org
        self.schema = schema
        self._metadata: dict[str, tuple[str, dict[str, Any]]] = {}
        """Tooling id → (FullName, Metadata)."""
        for obj in schema:
            if not org.store.has_table(obj.name):
                org.store.create_table(obj.table_schema())
        self._register_existing()

    # -- existing objects ------------------------------------------------------------

    def _register_existing(self) -> None:
        for obj in self.org.schema:
            if obj.custom and obj.tooling_id is None:
                obj.tooling_id = self._new_id("CustomObject")
            if obj.custom and obj.tooling_id:
                self._insert_object_row(obj, {"label": obj.label, "pluralLabel": obj.label_plural})
            for item in obj.fields.values():
                if item.column.custom:
                    self._insert_field_row(obj, item, _field_metadata(item))

    def _new_id(self, kind: str) -> str:
        obj = self.schema.get(kind)
        assert obj is not None  # noqa: S101  (the tooling schema has both kinds)
        return self.org.ids.new(obj.key_prefix)

    def _insert_object_row(self, obj: SObjectType, metadata: dict[str, Any]) -> None:
        assert obj.tooling_id is not None  # noqa: S101  (set by the caller)
        now = self.org.clock()
        self.org.store.insert(
            "CustomObject",
            {
                "Id": obj.tooling_id,
                "DeveloperName": obj.name.removesuffix("__c"),
                "ManageableState": "unmanaged",
                **self.org.system_values(self.org.api_user_id, now),
            },
        )
        self._metadata[obj.tooling_id] = (obj.name, metadata)

    def _insert_field_row(self, obj: SObjectType, item: SField, metadata: dict[str, Any]) -> str:
        field_id = self._new_id("CustomField")
        now = self.org.clock()
        self.org.store.insert(
            "CustomField",
            {
                "Id": field_id,
                "DeveloperName": item.name.removesuffix("__c"),
                "TableEnumOrId": obj.tooling_id if obj.custom and obj.tooling_id else obj.name,
                "ManageableState": "unmanaged",
                "Description": metadata.get("description"),
                "InlineHelpText": metadata.get("inlineHelpText"),
                **self.org.system_values(self.org.api_user_id, now),
            },
        )
        self._metadata[field_id] = (f"{obj.name}.{item.name}", metadata)
        return field_id

    # -- custom objects --------------------------------------------------------------

    def create_object(self, body: dict[str, Any]) -> str:
        """``POST /tooling/sobjects/CustomObject``: create an object; return its tooling id."""
        full_name, metadata = _metadata(body)
        if not _NAME.match(full_name):
            raise _integrity(
                f"Custom Object Name: {full_name} must end with __c, start with a letter and "
                "contain only letters, digits and single underscores",
                ["FullName"],
            )
        label = metadata.get("label")
        plural = metadata.get("pluralLabel")
        missing = [n for n, v in (("label", label), ("pluralLabel", plural)) if not v]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        name_field = metadata.get("nameField") or {"type": "Text", "label": f"{label} Name"}
        if not isinstance(name_field, dict) or name_field.get("type") not in {"Text", "AutoNumber"}:
            raise _integrity("nameField: type must be Text or AutoNumber", ["nameField"])
        with self.org.lock:
            if self.org.schema.get(full_name) is not None:
                raise SalesforceError(
                    400,
                    "DUPLICATE_DEVELOPER_NAME",
                    "This Custom Object API Name already exists or has been previously used: "
                    + full_name,
                    ["FullName"],
                )
            name_label = str(name_field.get("label") or f"{label} Name")
            if name_field.get("type") == "AutoNumber":
                display = str(name_field.get("displayFormat") or "{0}")
                name = SField(
                    Column(
                        "Name",
                        FieldType.STRING,
                        name_label,
                        nullable=False,
                        writable=False,
                        length=80,
                    ),
                    createable=False,
                    updateable=False,
                    auto_number=display,
                    name_field=True,
                )
            else:
                name = SField(
                    Column("Name", FieldType.STRING, name_label, nullable=False, length=80),
                    name_field=True,
                )
            obj = SObjectType.of(
                full_name,
                str(label),
                str(plural),
                self._next_prefix(),
                [*custom_system_fields(), name],
                custom=True,
                tooling_id=self._new_id("CustomObject"),
            )
            self.org.store.create_table(obj.table_schema())
            self.org.schema.add(obj)
            self._insert_object_row(obj, dict(metadata))
            assert obj.tooling_id is not None  # noqa: S101  (set above)
            return obj.tooling_id

    def _next_prefix(self) -> str:
        used = {obj.key_prefix for obj in self.org.schema}
        for second in _BASE62:
            for third in _BASE62:
                prefix = f"a{second}{third}"
                if prefix not in used:
                    return prefix
        raise _integrity("no key prefix left for a new custom object")  # pragma: no cover

    # -- custom fields ---------------------------------------------------------------

    def create_field(self, body: dict[str, Any]) -> str:
        """``POST /tooling/sobjects/CustomField``: add a field; return its tooling id."""
        full_name, metadata = _metadata(body)
        object_name, _, field_name = full_name.partition(".")
        with self.org.lock:
            obj = self.org.schema.get(object_name)
            if obj is None or not field_name:
                raise _integrity(f"Cannot find entity: {object_name}", ["FullName"])
            if not _NAME.match(field_name):
                raise _integrity(
                    f"Field Name: {field_name} must end with __c, start with a letter and contain "
                    "only letters, digits and single underscores",
                    ["FullName"],
                )
            if obj.field(field_name) is not None:
                raise SalesforceError(
                    400,
                    "DUPLICATE_DEVELOPER_NAME",
                    f"There is already a field named {field_name.removesuffix('__c')} "
                    f"on {obj.name}.",
                    ["FullName"],
                )
            item = self._field(field_name, metadata)
            added = self.org.store.add_columns(obj.name, [item.column])
            item = replace(item, column=added[0]) if added else item
            self.org.schema.replace_field(obj, item)
            return self._insert_field_row(obj, item, dict(metadata))

    def _field(self, name: str, metadata: dict[str, Any]) -> SField:
        kind_name = metadata.get("type")
        if kind_name not in _TYPES:
            raise _integrity(
                f"The field type {kind_name!r} is not supported by the okrsync sandbox; "
                "expected one of " + ", ".join(_TYPES),
                ["type"],
            )
        kind = _TYPES[str(kind_name)]
        label = str(metadata.get("label") or name.removesuffix("__c").replace("_", " "))
        external = bool(metadata.get("externalId", False))
        unique = bool(metadata.get("unique", False))
        required = bool(metadata.get("required", False)) or kind_name == "MasterDetail"
        if (external or unique) and kind not in {
            FieldType.STRING,
            FieldType.DOUBLE,
            FieldType.EMAIL,
        }:
            raise _integrity(
                f"{label}: only Text, Number and Email fields can be external ids or unique",
                ["externalId"],
            )
        length = {FieldType.EMAIL: 80, FieldType.PHONE: 40, FieldType.TEXTAREA: 255}.get(kind, 255)
        if kind_name in {"Text", "LongTextArea"}:
            high = SHORT_TEXT if kind_name == "Text" else 131072
            length = _int(metadata, "length", label, low=1, high=high)
        extra: dict[str, Any] = {}
        if kind in {FieldType.DOUBLE, FieldType.PERCENT, FieldType.CURRENCY}:
            precision = _int(metadata, "precision", label, low=1, high=18)
            scale = _int(metadata, "scale", label, low=0, high=17, default=0)
            if scale > precision:
                raise _integrity(f"{label}: scale cannot exceed precision", ["scale"])
            extra = {"precision": precision, "scale": scale}
        reference_to = relationship = None
        if kind is FieldType.REFERENCE:
            reference_to, relationship, extra["child_relationship"] = self._lookup(
                name, label, metadata
            )
        values: tuple[str, ...] = ()
        default: Any = None
        if kind is FieldType.PICKLIST:
            values, default = _picklist(metadata, label)
            extra["restricted"] = bool((metadata.get("valueSet") or {}).get("restricted", False))
        if kind is FieldType.BOOLEAN:
            default = str(metadata.get("defaultValue", "false")).lower() == "true"
            required = True
        column = Column(
            name,
            kind,
            label,
            nullable=not required,
            unique=unique,
            external_id=external,
            reference_to=reference_to,
            relationship_name=relationship,
            picklist=values,
            custom=True,
            length=length,
        )
        return SField(
            column,
            default=default,
            case_sensitive=bool(metadata.get("caseSensitive", False)),
            help_text=metadata.get("inlineHelpText"),
            description=metadata.get("description"),
            **extra,
        )

    def _lookup(self, name: str, label: str, metadata: dict[str, Any]) -> tuple[str, str, str]:
        """Target object, relationship name and child relationship name of a lookup."""
        target = self.org.schema.get(str(metadata.get("referenceTo") or ""))
        if target is None:
            raise _integrity(
                f"{label}: referenceTo must name an object of the org", ["referenceTo"]
            )
        child = metadata.get("relationshipName")
        if not child:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [relationshipName]",
                ["relationshipName"],
            )
        taken = [
            item
            for obj in self.org.schema
            for item in obj.fields.values()
            if item.column.reference_to == target.name
            and (item.child_relationship or "").lower() == f"{child}__r".lower()
        ]
        if taken:
            # Salesforce refuses a second related list of the same name on one object.
            raise _integrity(
                f"There is already a Child Relationship named {child} on {target.label}.",
                ["relationshipName"],
            )
        return target.name, name.removesuffix("__c") + "__r", f"{child}__r"

    # -- reading and patching --------------------------------------------------------

    def record(self, kind: str, record_id: str, version: str) -> dict[str, Any]:
        """``GET /tooling/sobjects/{CustomObject|CustomField}/{id}`` with FullName and Metadata."""
        obj = self.schema.get(kind)
        if obj is None:
            raise not_found()
        try:
            key = normalize_id(record_id)
        except ValueError:
            raise not_found() from None
        if key not in self._metadata or key[:3] != obj.key_prefix:
            raise not_found()
        row = self.org.row(obj, key)
        full_name, metadata = self._metadata[key]
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/tooling/sobjects/{obj.name}/{key}",
            }
        }
        for item in obj.fields.values():
            value = row[item.name]
            out[item.name] = value.isoformat() if hasattr(value, "isoformat") else value
        out["FullName"] = full_name
        out["Metadata"] = metadata
        return out

    def update(self, kind: str, record_id: str, body: dict[str, Any]) -> None:
        """``PATCH`` a custom object's labels or a custom field's metadata."""
        self.record(kind, record_id, "59.0")
        key = normalize_id(record_id)
        full_name, old = self._metadata[key]
        metadata = body.get("Metadata")
        if not isinstance(metadata, dict):
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [Metadata]",
                ["Metadata"],
            )
        merged = {**old, **metadata}
        with self.org.lock:
            if kind == "CustomObject":
                obj = self.org.sobject(full_name)
                obj.label = str(merged.get("label") or obj.label)
                obj.label_plural = str(merged.get("pluralLabel") or obj.label_plural)
            else:
                self._patch_field(full_name, old, merged)
            self._metadata[key] = (full_name, merged)

    def _patch_field(self, full_name: str, old: dict[str, Any], merged: dict[str, Any]) -> None:
        object_name, _, field_name = full_name.partition(".")
        obj = self.org.sobject(object_name)
        current = obj.fields[field_name.lower()]
        if old.get("type") and merged.get("type") != old.get("type"):
            raise _integrity(
                "Changing a field's type is not supported by the okrsync sandbox", ["type"]
            )
        wanted = self._field(current.name, merged)
        if wanted.column.unique != current.column.unique:
            try:
                self.org.store.set_unique(obj.name, current.name, unique=wanted.column.unique)
            except sqlite3.IntegrityError:
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    f"{current.name}: existing records have duplicate values",
                    [current.name],
                ) from None
        schema = self.org.store.schema(obj.name)
        schema.columns[current.name.lower()] = wanted.column
        self.org.schema.replace_field(obj, wanted)


def _int(
    metadata: dict[str, Any],
    key: str,
    label: str,
    *,
    low: int,
    high: int,
    default: int | None = None,
) -> int:
    raw = metadata.get(key, default)
    try:
        value = int(raw) if raw is not None else None
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise _integrity(f"{label}: {key} must be a whole number from {low} to {high}", [key])
    return value


def _picklist(metadata: dict[str, Any], label: str) -> tuple[tuple[str, ...], str | None]:
    value_set = metadata.get("valueSet") or {}
    definition = value_set.get("valueSetDefinition") or {}
    entries = definition.get("value") or []
    if not isinstance(entries, list) or not entries:
        raise _integrity(
            f"{label}: a picklist needs valueSet.valueSetDefinition.value", ["valueSet"]
        )
    values = tuple(str(e.get("fullName") or e.get("label")) for e in entries if isinstance(e, dict))
    default = next(
        (str(e.get("fullName")) for e in entries if isinstance(e, dict) and e.get("default")), None
    )
    return values, default


def _field_metadata(item: SField) -> dict[str, Any]:
    """Tooling metadata describing an existing field."""
    kind = {v: k for k, v in _TYPES.items()}.get(item.type, "Text")
    meta: dict[str, Any] = {"label": item.column.label, "type": kind}
    if item.long_text:
        meta["type"] = "LongTextArea"
        meta["length"] = item.column.length
    if item.type is FieldType.STRING:
        meta["length"] = item.column.length
    if item.type in {FieldType.DOUBLE, FieldType.PERCENT, FieldType.CURRENCY}:
        meta["precision"], meta["scale"] = item.precision, item.scale
    if item.type is FieldType.REFERENCE:
        meta["type"] = "Lookup"
        meta["referenceTo"] = item.column.reference_to
        meta["relationshipName"] = (item.child_relationship or "").removesuffix("__r")
    if item.type is FieldType.PICKLIST:
        meta["valueSet"] = {
            "restricted": item.restricted,
            "valueSetDefinition": {
                "value": [
                    {"fullName": v, "label": v, "default": v == item.default}
                    for v in item.column.picklist
                ]
            },
        }
    meta["externalId"] = item.column.external_id
    meta["unique"] = item.column.unique
    meta["required"] = not item.column.nullable and item.type is not FieldType.BOOLEAN
    return meta
