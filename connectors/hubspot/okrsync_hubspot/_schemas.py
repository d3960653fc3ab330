"""The portal's custom object schemas, read once and cached: ids, properties, associations.

The list is also kept in the connector's :class:`~okrsync.connector.SchemaCache`
(the parts okrsync reads), so a connector in another process starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync.connector import NoSchemaCache, cached
from okrsync_hubspot._values import PropertyMeta

if TYPE_CHECKING:
    from okrsync.connector import SchemaCache
    from okrsync_hubspot._http import Transport

__all__ = ["SchemaInfo", "Schemas"]

_SCHEMAS = "crm.schemas.core_api"
_CACHE_KEY = "schemas"


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    """One custom object type as the schemas API describes it."""

    name: str
    object_type_id: str
    fully_qualified_name: str
    label: str
    properties: dict[str, PropertyMeta]
    associations: dict[str, int] = field(default_factory=dict)
    """Association type id by the ``objectTypeId`` it leads to."""
    primary_display: str | None = None
    secondary_display: tuple[str, ...] = ()
    searchable: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaInfo:
        """From one ``ObjectSchema`` of the schemas API."""
        type_id = str(data.get("objectTypeId") or "")
        associations: dict[str, int] = {}
        for item in data.get("associations") or []:
            if not isinstance(item, dict):
                continue
            ends = (str(item.get("fromObjectTypeId")), str(item.get("toObjectTypeId")))
            try:
                number = int(str(item.get("id")))
            except ValueError:
                continue
            if ends[0] == type_id:
                associations.setdefault(ends[1], number)
        props = [PropertyMeta.from_json(p) for p in data.get("properties") or []]
        labels = data.get("labels") or {}
        return cls(
            name=str(data.get("name") or ""),
            object_type_id=type_id,
            fully_qualified_name=str(data.get("fullyQualifiedName") or ""),
            label=str(labels.get("singular") or data.get("name") or ""),
            properties={p.name: p for p in props},
            associations=associations,
            primary_display=data.get("primaryDisplayProperty") or None,
            secondary_display=tuple(str(n) for n in data.get("secondaryDisplayProperties") or ()),
            searchable=tuple(str(n) for n in data.get("searchableProperties") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        """The ``ObjectSchema`` :meth:`from_json` reads back as this (for the schema cache)."""
        return {
            "name": self.name,
            "objectTypeId": self.object_type_id,
            "fullyQualifiedName": self.fully_qualified_name,
            "labels": {"singular": self.label},
            "properties": [p.to_json() for p in self.properties.values()],
            "associations": [
                {"fromObjectTypeId": self.object_type_id, "toObjectTypeId": to, "id": number}
                for to, number in self.associations.items()
            ],
            "primaryDisplayProperty": self.primary_display,
            "secondaryDisplayProperties": list(self.secondary_display),
            "searchableProperties": list(self.searchable),
        }


class Schemas:
    """The custom object schemas of the portal, listed on first use (one call)."""

    def __init__(self, transport: Transport, cache: SchemaCache | None = None) -> None:
        self._http = transport
        self._cache = cache or NoSchemaCache()
        self._by_name: dict[str, SchemaInfo] | None = None

    def all(self, *, refresh: bool = False) -> dict[str, SchemaInfo]:
        """Every custom object schema, by name (``refresh``: ask the portal, not the cache)."""
        if self._by_name is None or refresh:

            def fetch() -> list[Any]:
                reply = self._http.call(
                    "list custom object schemas", _SCHEMAS, "get_all", object_name="schemas"
                )
                body = reply.body if isinstance(reply.body, dict) else {}
                return [SchemaInfo.from_json(s).to_json() for s in body.get("results") or []]

            entries = cached(self._cache, _CACHE_KEY, list, fetch, refresh=refresh) or []
            found = [SchemaInfo.from_json(s) for s in entries if isinstance(s, dict)]
            self._by_name = {s.name: s for s in found}
        return self._by_name

    def get(self, name: str) -> SchemaInfo | None:
        """The schema called ``name`` (or with that ``objectTypeId``), if it exists."""
        known = self.all()
        if name in known:
            return known[name]
        return next(
            (s for s in known.values() if name in {s.object_type_id, s.fully_qualified_name}), None
        )

    def put(self, data: dict[str, Any]) -> SchemaInfo:
        """Remember a schema the API just returned (after creating it)."""
        info = SchemaInfo.from_json(data)
        known = self.all()
        known[info.name] = info
        self._cache.put(_CACHE_KEY, [s.to_json() for s in known.values()])
        return info

    def forget(self) -> None:
        """Drop what is known, here and in the schema cache (after provisioning changed it)."""
        self._by_name = None
        self._cache.forget(_CACHE_KEY)
