"""What the org says about its objects: describe results, normalised types, field paths.

:class:`Schemas` describes an object once per connector (``GET
sobjects/{type}/describe``) and keeps the answer, also in the connector's
:class:`~okrsync.connector.SchemaCache` (the parts of it okrsync reads), so a
connector in another process starts from it instead of describing. Types are normalised to the
protocol's vocabulary (``textarea`` → ``text``, ``long`` → ``int``, phone and
URL fields → ``string``); compound fields (address, location) and binary ones
are left out, since no record value of theirs can be replicated as one column.
:meth:`Schemas.resolve` checks a field or a parent path (``Owner.Email``)
against describe and returns its canonical spelling: field names reach a SOQL
query only through it, never as the caller wrote them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simple_salesforce.exceptions import SalesforceResourceNotFound

from okrsync.connector import FieldInfo, NoSchemaCache, ObjectInfo, cached

if TYPE_CHECKING:
    from okrsync.connector import SchemaCache
    from okrsync_salesforce._http import Transport

__all__ = ["NAME", "Resolved", "Schemas", "normalise_type"]

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
"""What an object or field API name looks like."""
_TYPES = {
    "id": "id",
    "string": "string",
    "textarea": "text",
    "email": "email",
    "picklist": "picklist",
    "multipicklist": "string",
    "combobox": "string",
    "phone": "string",
    "url": "string",
    "encryptedstring": "string",
    "time": "string",
    "boolean": "boolean",
    "int": "int",
    "long": "int",
    "double": "double",
    "currency": "currency",
    "percent": "percent",
    "date": "date",
    "datetime": "datetime",
    "reference": "reference",
}
_MAX_DEPTH = 5
"""SOQL follows at most five parent relationships."""
_KEPT = ("name", "label", "custom", "replicateable", "createable", "updateable")
"""What okrsync reads of an object's describe (the cache keeps only that)."""
_KEPT_FIELD = (
    "name",
    "type",
    "label",
    "nillable",
    "createable",
    "updateable",
    "externalId",
    "unique",
    "referenceTo",
    "relationshipName",
    "picklistValues",
)
"""What okrsync reads of a field's describe."""


def normalise_type(sf_type: str) -> str | None:
    """The protocol's type of a describe ``type`` (``None``: not replicable)."""
    return _TYPES.get(sf_type.lower())


@dataclass(frozen=True, slots=True)
class Resolved:
    """A field or parent path checked against describe."""

    path: str
    """Canonical SOQL path, e.g. ``Owner.Email``."""
    parts: tuple[str, ...]
    """Keys leading to the value in a query record (``("Owner", "Email")``)."""
    info: FieldInfo
    """The field at the end of the path."""

    @property
    def type(self) -> str:
        """Normalised type of the value."""
        return self.info.type


class Schemas:
    """Describe results of one org, fetched once each.

    Args:
        transport: How calls reach Salesforce.
    """

    def __init__(self, transport: Transport, cache: SchemaCache | None = None) -> None:
        self.transport = transport
        self.cache = cache or NoSchemaCache()
        self._raw: dict[str, dict[str, Any] | None] = {}
        self._info: dict[str, ObjectInfo] = {}

    def raw(self, object_name: str) -> dict[str, Any]:
        """The describe JSON of an object (``LookupError`` when the org has none)."""
        key = object_name.lower()
        if key not in self._raw:
            if not NAME.match(object_name):
                raise LookupError(object_name)

            def describe(sf: Any) -> Any:
                try:
                    return sf.restful(f"sobjects/{object_name}/describe/")
                except SalesforceResourceNotFound:
                    return None

            def fetch() -> dict[str, Any] | None:
                answer = self.transport.call(
                    f"describe {object_name}", describe, object_name=object_name
                )
                return _compact(answer) if isinstance(answer, dict) else None

            self._raw[key] = cached(self.cache, _cache_key(key), dict, fetch)
        found = self._raw[key]
        if found is None:
            raise LookupError(object_name)
        return found

    def info(self, object_name: str) -> ObjectInfo:
        """The object as the protocol describes it (``LookupError`` when missing)."""
        key = object_name.lower()
        if key not in self._info:
            raw = self.raw(object_name)
            fields: dict[str, FieldInfo] = {}
            for item in raw.get("fields") or []:
                info = _field_info(item)
                if info is not None:
                    fields[info.name.lower()] = info
            self._info[key] = ObjectInfo(
                str(raw.get("name") or object_name),
                str(raw.get("label") or object_name),
                fields,
                custom=bool(raw.get("custom")),
            )
        return self._info[key]

    def forget(self, *object_names: str) -> None:
        """Drop cached describes, here and in the schema cache (every one when none is named)."""
        if not object_names:
            self._raw.clear()
            self._info.clear()
            self.cache.forget(_cache_key(""))
        for name in object_names:
            self._raw.pop(name.lower(), None)
            self._info.pop(name.lower(), None)
            self.cache.forget(_cache_key(name.lower()))

    def resolve(self, object_name: str, path: str) -> Resolved:
        """A field or parent path of ``object_name`` in canonical spelling.

        Raises:
            KeyError: The object has no such field or relationship.
        """
        parts = path.split(".")
        if not all(NAME.match(part) for part in parts) or len(parts) > _MAX_DEPTH + 1:
            raise KeyError(path)
        current = object_name
        names: list[str] = []
        for part in parts[:-1]:
            relation, target = self._relationship(current, part)
            names.append(relation)
            current = target
        info = self.info(current).field(parts[-1])
        if info is None:
            raise KeyError(path)
        names.append(info.name)
        if len(names) > 1:
            info = FieldInfo(
                ".".join(names),
                info.type,
                info.label,
                nullable=True,
                writable=False,
                reference_to=info.reference_to,
                picklist=info.picklist,
            )
        return Resolved(".".join(names), tuple(names), info)

    def _relationship(self, object_name: str, name: str) -> tuple[str, str]:
        """``(relationship name, parent object)`` of a parent relationship (``KeyError``)."""
        low = name.lower()
        candidates = {low, f"{low}id", low.removesuffix("__r") + "__c"}
        for item in self.raw(object_name).get("fields") or []:
            relation = item.get("relationshipName")
            target = _parent(item)
            if not relation or target is None:
                continue
            if relation.lower() == low or str(item.get("name", "")).lower() in candidates:
                return str(relation), target
        raise KeyError(name)


def _cache_key(lower_name: str) -> str:
    return f"describe/{lower_name}"


def _compact(raw: dict[str, Any]) -> dict[str, Any]:
    """The parts of a describe that okrsync reads (a describe may be a megabyte)."""
    out = {k: raw[k] for k in _KEPT if k in raw}
    out["fields"] = [
        {k: item[k] for k in _KEPT_FIELD if k in item}
        for item in raw.get("fields") or []
        if isinstance(item, dict)
    ]
    return out


def _parent(item: dict[str, Any]) -> str | None:
    """The object a reference's relationship leads to, if one.

    A polymorphic ``OwnerId`` (a user or a queue: Lead, Case, custom objects)
    leads to ``User`` as far as okrsync reads it (``Owner.Email``); a queue's
    reads empty. Other polymorphic references (``WhatId``) lead nowhere.
    """
    targets = [str(t) for t in item.get("referenceTo") or []]
    if len(targets) == 1:
        return targets[0]
    if str(item.get("name", "")).lower() == "ownerid" and "User" in targets:
        return "User"
    return None


def _field_info(item: dict[str, Any]) -> FieldInfo | None:
    kind = normalise_type(str(item.get("type") or ""))
    name = str(item.get("name") or "")
    if kind is None or not name:
        return None
    return FieldInfo(
        name,
        kind,
        str(item.get("label") or name),
        nullable=bool(item.get("nillable", True)),
        writable=bool(item.get("createable") or item.get("updateable")),
        external_id=bool(item.get("externalId")),
        unique=bool(item.get("unique")),
        reference_to=_parent(item),
        picklist=tuple(
            str(p.get("value"))
            for p in item.get("picklistValues") or []
            if isinstance(p, dict) and p.get("active", True)
        ),
    )
