"""Provisioning okrsync's custom objects in a portal: schemas, properties, associations.

Missing objects are created with every property (``okr_key`` unique and
required; the title as primary display property, score and status as
secondary ones; searchable by title, key and owner name) and their
associations to the objects their lookups point to — an objective's link to
its parent objective is a paired association label on the objective itself;
existing objects get the properties, associations and display settings they
lack. The list of changes is computed before anything is sent, so a dry run
returns exactly what a real run would do, and a second run returns ``[]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from okrsync.connector import Change
from okrsync.errors import FatalConnectorError
from okrsync_hubspot._errors import CRM
from okrsync_hubspot._okr import (
    KEY_PROPERTY,
    OWNER_PROPERTY,
    association_label,
    display,
    field_property,
    object_name,
    property_definition,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from okrsync.connector import LogicalField, LogicalObject
    from okrsync_hubspot._http import Transport
    from okrsync_hubspot._schemas import SchemaInfo, Schemas

__all__ = ["Provisioner"]

_SCHEMAS = "crm.schemas.core_api"
_PROPERTIES = "crm.properties.core_api"
_LABELS = "crm.associations.v4.schema.definitions_api"


def _dependency_order(objects: Sequence[LogicalObject]) -> list[LogicalObject]:
    """Parents before the objects whose lookups point to them."""
    by_name: dict[str, LogicalObject] = {o.name: o for o in objects}
    ordered: list[LogicalObject] = []

    def visit(obj: LogicalObject, path: tuple[str, ...]) -> None:
        if obj in ordered or obj.name in path:
            return
        for field in obj.fields:
            parent = by_name.get(field.lookup or "")
            if field.type == "lookup" and parent is not None:
                visit(parent, (*path, obj.name))
        ordered.append(obj)

    for obj in objects:
        visit(obj, ())
    return ordered


def _lookups(obj: LogicalObject) -> list[LogicalField]:
    """Lookups to another object (associations between two object types)."""
    return [f for f in obj.fields if f.type == "lookup" and f.lookup and f.lookup != obj.name]


def _own_lookups(obj: LogicalObject) -> list[LogicalField]:
    """Lookups to the object's own type (paired association labels)."""
    return [f for f in obj.fields if association_label(obj, f) is not None]


def _linked(child: SchemaInfo, parent: SchemaInfo) -> bool:
    return (
        parent.object_type_id in child.associations or child.object_type_id in parent.associations
    )


class Provisioner:
    """Creates or completes okrsync's custom objects (idempotent)."""

    def __init__(self, transport: Transport, schemas: Schemas, *, connector: str) -> None:
        self._http = transport
        self._schemas = schemas
        self._connector = connector

    def provision(self, objects: Sequence[LogicalObject], *, dry_run: bool) -> list[Change]:
        """Create or update the objects; the changes made (or, in a dry run, to make)."""
        log = structlog.get_logger("okrsync.hubspot").bind(crm=CRM, connector=self._connector)
        existing = self._schemas.all(refresh=True)
        plan: list[tuple[Change, Callable[[], None]]] = []
        for obj in _dependency_order(objects):
            name = object_name(obj.name)
            info = existing.get(name)
            if info is None:
                parents = [object_name(f.lookup or "") for f in _lookups(obj)]
                fields = [f for f in obj.fields if field_property(f) is not None]
                detail = f"{len(fields)} properties" + (
                    f"; associated with {', '.join(parents)}" if parents else ""
                )
                plan.append(
                    (Change("create_object", name, detail), self._creator(obj, name, parents))
                )
                plan.extend(self._labels(obj, name, set()))
                continue
            plan.extend(self._completions(obj, info, existing))
            if _own_lookups(obj):
                plan.extend(self._labels(obj, name, self._existing_labels(info)))
        for change, apply in plan:
            log.debug("hubspot.provision.change", change=str(change), dry_run=dry_run)
            if not dry_run:
                apply()
        if plan and not dry_run:
            self._schemas.forget()
        return [change for change, _ in plan]

    def _completions(
        self, obj: LogicalObject, info: SchemaInfo, existing: dict[str, SchemaInfo]
    ) -> list[tuple[Change, Callable[[], None]]]:
        """What an existing object lacks: properties, associations."""
        name = info.name
        found: list[tuple[Change, Callable[[], None]]] = []
        key = info.properties.get(KEY_PROPERTY)
        if key is not None and not key.unique:
            raise FatalConnectorError(
                f"`{name}.{KEY_PROPERTY}` exists without unique values, so records cannot be "
                f"upserted by it: delete the property in HubSpot and run `okrsync provision` again",
                crm=CRM,
                object_name=name,
                code="NOT_UNIQUE",
            )
        for field in obj.fields:
            prop = field_property(field)
            if prop is None or prop in info.properties:
                continue
            definition = property_definition(obj, field)
            found.append(
                (
                    Change(
                        "create_field", f"{name}.{prop}", f"{definition['type']} ({field.label})"
                    ),
                    self._property_adder(info, definition),
                )
            )
        wanted = display(obj)
        shown = (info.primary_display, info.secondary_display, info.searchable)
        if shown != (wanted.primary, wanted.secondary, wanted.searchable):
            found.append(
                (
                    Change(
                        "update_object",
                        name,
                        f"display {wanted.primary}; beside it {', '.join(wanted.secondary)}; "
                        f"searchable by {', '.join(wanted.searchable)}",
                    ),
                    self._display_updater(info, wanted.as_schema()),
                )
            )
        for field in _lookups(obj):
            parent_name = object_name(field.lookup or "")
            parent = existing.get(parent_name)
            if parent is not None and _linked(info, parent):
                continue
            found.append(
                (
                    Change("create_field", f"{name}.{field.name}", f"association to {parent_name}"),
                    self._associator(name, parent_name),
                )
            )
        return found

    def _creator(self, obj: LogicalObject, name: str, parents: list[str]) -> Callable[[], None]:
        def create() -> None:
            existing = self._schemas.all()
            body: dict[str, Any] = {
                "name": name,
                "labels": {"singular": obj.label, "plural": obj.plural},
                "description": f"{obj.plural}, written by okrsync.",
                **display(obj).as_schema(),
                "requiredProperties": [KEY_PROPERTY],
                "properties": [
                    property_definition(obj, f)
                    for f in obj.fields
                    if field_property(f) not in {None, OWNER_PROPERTY}
                ],
                "associatedObjects": [existing[p].object_type_id for p in parents if p in existing],
            }
            reply = self._http.call(
                f"create the custom object {name}", _SCHEMAS, "create", body, object_name=name
            )
            created = self._schemas.put(reply.body if isinstance(reply.body, dict) else {})
            owner = next((f for f in obj.fields if f.type == "owner"), None)
            if owner is not None and OWNER_PROPERTY not in created.properties:
                # Portals give custom objects an owner property; one that does not gets ours.
                self._property_adder(created, property_definition(obj, owner))()

        return create

    def _display_updater(self, info: SchemaInfo, body: dict[str, Any]) -> Callable[[], None]:
        def update() -> None:
            self._http.call(
                f"update how {info.name} records are shown",
                _SCHEMAS,
                "update",
                info.object_type_id,
                body,
                object_name=info.name,
            )

        return update

    def _existing_labels(self, info: SchemaInfo) -> set[str]:
        """Labels of the association types from the object to itself."""
        reply = self._http.call(
            f"read association labels {info.name} → {info.name}",
            _LABELS,
            "get_all",
            info.object_type_id,
            info.object_type_id,
            object_name=info.name,
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        return {str(t.get("label")) for t in body.get("results") or [] if t.get("label")}

    def _labels(
        self, obj: LogicalObject, name: str, have: set[str]
    ) -> list[tuple[Change, Callable[[], None]]]:
        """The paired labels for lookups to the object's own type that the portal lacks."""
        found: list[tuple[Change, Callable[[], None]]] = []
        for field in _own_lookups(obj):
            label_name, label, inverse = association_label(obj, field) or ("", "", "")
            if label in have:
                continue
            found.append(
                (
                    Change(
                        "create_field",
                        f"{name}.{field.name}",
                        f"association label {label} / {inverse} on {name}",
                    ),
                    self._labeller(
                        name, {"name": label_name, "label": label, "inverseLabel": inverse}
                    ),
                )
            )
        return found

    def _labeller(self, name: str, body: dict[str, Any]) -> Callable[[], None]:
        def create() -> None:
            info = self._schemas.all(refresh=True).get(name)
            if info is None:
                raise FatalConnectorError(
                    f"cannot label associations of `{name}`: it does not exist",
                    crm=CRM,
                    object_name=name,
                    code="NOT_PROVISIONED",
                )
            self._http.call(
                f"create the association label {body['label']} on {name}",
                _LABELS,
                "create",
                info.object_type_id,
                info.object_type_id,
                body,
                object_name=name,
            )

        return create

    def _property_adder(self, info: SchemaInfo, definition: dict[str, Any]) -> Callable[[], None]:
        def add() -> None:
            self._http.call(
                f"create the property {info.name}.{definition['name']}",
                _PROPERTIES,
                "create",
                info.object_type_id,
                definition,
                object_name=info.name,
            )

        return add

    def _associator(self, name: str, parent_name: str) -> Callable[[], None]:
        def associate() -> None:
            existing = self._schemas.all(refresh=True)
            child, parent = existing.get(name), existing.get(parent_name)
            if child is None or parent is None:
                raise FatalConnectorError(
                    f"cannot associate `{name}` with `{parent_name}`: `{parent_name}` does not "
                    "exist (provision it too)",
                    crm=CRM,
                    object_name=name,
                    code="NOT_PROVISIONED",
                )
            self._http.call(
                f"associate the custom object {name} with {parent_name}",
                _SCHEMAS,
                "create_association",
                child.object_type_id,
                {
                    "fromObjectTypeId": child.object_type_id,
                    "toObjectTypeId": parent.object_type_id,
                    "name": f"{name}_to_{parent_name}",
                },
                object_name=name,
            )

        return associate
