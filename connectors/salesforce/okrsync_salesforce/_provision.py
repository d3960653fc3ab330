"""Provisioning okrsync's objects through the Tooling API, and access through a permission set.

1. ``CustomObject`` records of the three objects are listed with one Tooling
   query and the missing ones created (``POST tooling/sobjects/CustomObject``).
2. ``CustomField`` records of those objects are listed with one query; missing
   fields are created (key → Text(255) external id, unique; text → Text(255);
   long text → LongTextArea; number → Number(18,4); percent → Percent; date;
   datetime; picklist with its values; lookup → Lookup to the parent object;
   the owner is the standard ``OwnerId``). A picklist that lacks values okrsync
   now uses gets them added (``update_field``).
3. Field-level security: a permission set ``okrsync`` with object permissions
   (read, create, edit), field permissions (read; edit except rep-owned
   fields) and its assignment to the integration user, created through the
   REST API (sObject Collections, 200 records a call).

Running it twice changes nothing the second time (it returns ``[]``); a dry run
lists the same changes and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from okrsync.connector import Change
from okrsync.errors import FatalConnectorError
from okrsync_salesforce._errors import CRM
from okrsync_salesforce._okr import (
    field_metadata,
    field_name,
    object_name,
    picklist_metadata,
)
from okrsync_salesforce._soql import quote, select

if TYPE_CHECKING:
    from collections.abc import Sequence

    from okrsync.connector import LogicalObject
    from okrsync_salesforce._http import Transport
    from okrsync_salesforce._schema import Schemas

__all__ = ["PERMISSION_SET", "Provisioner"]

PERMISSION_SET = "okrsync"
_COLLECTION = 200
_DUPLICATE = "DUPLICATE_DEVELOPER_NAME"

log = structlog.get_logger()


def _describe_type(meta: dict[str, Any]) -> str:
    kind = str(meta["type"])
    if kind in {"Number", "Percent"}:
        return f"{kind}({meta['precision']},{meta['scale']})"
    if kind in {"Text", "LongTextArea"}:
        extra = ", external id, unique" if meta.get("externalId") else ""
        return f"{kind}({meta['length']}){extra}"
    if kind == "Lookup":
        return f"Lookup({meta['referenceTo']})"
    if kind == "Picklist":
        values = meta["valueSet"]["valueSetDefinition"]["value"]
        return f"Picklist({', '.join(v['fullName'] for v in values)})"
    return kind


class Provisioner:
    """Creates what okrsync needs in the org, or lists it (dry run).

    Args:
        transport: How calls reach Salesforce.
        schemas: Describe results (forgotten for the objects provisioned).
        connector: The instance's name, for the logs.
    """

    def __init__(self, transport: Transport, schemas: Schemas, connector: str) -> None:
        self.transport = transport
        self.schemas = schemas
        self.log = log.bind(connector=connector, crm=CRM)

    def run(self, objects: Sequence[LogicalObject], *, dry_run: bool) -> list[Change]:
        """Create or update the objects, fields and access; return the changes (made or due)."""
        changes: list[Change] = []
        names = [object_name(o.name) for o in objects]
        self.schemas.forget(*names)  # compare with the org as it is now
        try:
            table_ids = self._objects(objects, names, changes, dry_run=dry_run)
            fields = self._fields(objects, table_ids, changes, dry_run=dry_run)
            self._access(objects, fields, changes, dry_run=dry_run)
        finally:
            if not dry_run:
                self.schemas.forget(*names)
        for change in changes:
            self.log.debug(
                "salesforce.provision.change",
                dry_run=dry_run,
                action=change.action,
                target=change.target,
                detail=change.detail,
            )
        self.log.info("salesforce.provision.completed", dry_run=dry_run, changes=len(changes))
        return changes

    # -- calls ----------------------------------------------------------------------------

    def _tooling_query(self, soql: str, what: str) -> list[dict[str, Any]]:
        answer = self.transport.tooling(what, "query/", params={"q": soql})
        return list(answer.get("records") or []) if isinstance(answer, dict) else []

    def _query(self, soql: str, what: str, object_name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page in self.transport.query_rows(what, soql, object_name=object_name):
            rows.extend(page)
        return rows

    def _tooling_create(self, kind: str, body: dict[str, Any], target: str) -> str | None:
        """Create a Tooling record; ``None`` when it already existed (a repeated request)."""
        try:
            answer = self.transport.tooling(
                f"create {kind} {target}",
                f"sobjects/{kind}/",
                method="POST",
                data=body,
                object_name=target,
            )
        except FatalConnectorError as exc:
            if exc.code == _DUPLICATE:
                self.log.debug("salesforce.provision.exists", target=target)
                return None
            raise
        return str(answer.get("id")) if isinstance(answer, dict) else None

    def _create_records(
        self, sobject: str, records: list[dict[str, Any]], targets: list[str]
    ) -> None:
        """Create records through sObject Collections; a refusal names its target."""
        for start in range(0, len(records), _COLLECTION):
            chunk = records[start : start + _COLLECTION]
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            answer = self.transport.rest(
                f"create {len(chunk)} {sobject}",
                "composite/sobjects",
                method="POST",
                json=body,
                object_name=sobject,
            )
            for target, result in zip(
                targets[start : start + _COLLECTION], answer or [], strict=False
            ):
                if isinstance(result, dict) and not result.get("success"):
                    errors = result.get("errors") or [{}]
                    code = str(errors[0].get("statusCode") or "")
                    if code == "DUPLICATE_VALUE":
                        continue
                    raise FatalConnectorError(
                        f"granting {target}: {code}: {errors[0].get('message', '')}",
                        crm=CRM,
                        object_name=sobject,
                        record=target,
                        code=code,
                    )

    def _update_records(self, sobject: str, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), _COLLECTION):
            chunk = records[start : start + _COLLECTION]
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            self.transport.rest(
                f"update {len(chunk)} {sobject}",
                "composite/sobjects",
                method="PATCH",
                json=body,
                object_name=sobject,
            )

    # -- objects and fields ---------------------------------------------------------------

    def _objects(
        self,
        objects: Sequence[LogicalObject],
        names: list[str],
        changes: list[Change],
        *,
        dry_run: bool,
    ) -> dict[str, str | None]:
        """Tooling id of each object (``None``: missing in a dry run)."""
        listed = ", ".join(quote(n.removesuffix("__c")) for n in names)
        soql = select(["Id", "DeveloperName"], "CustomObject", where=f"DeveloperName IN ({listed})")
        rows = self._tooling_query(soql, "list okrsync's custom objects")
        found = {str(r["DeveloperName"]).lower(): str(r["Id"]) for r in rows}
        ids: dict[str, str | None] = {}
        requery = False
        for obj, name in zip(objects, names, strict=True):
            existing = found.get(name.removesuffix("__c").lower())
            if existing is not None:
                ids[name] = existing
                continue
            changes.append(Change("create_object", name, obj.label))
            ids[name] = None
            if dry_run:
                continue
            created = self._tooling_create(
                "CustomObject",
                {
                    "FullName": name,
                    "Metadata": {
                        "label": obj.label,
                        "pluralLabel": obj.plural,
                        "nameField": {"type": "Text", "label": f"{obj.label} Name"},
                        "deploymentStatus": "Deployed",
                        "sharingModel": "ReadWrite",
                        "description": "Written by okrsync; do not edit okrsync's fields by hand.",
                    },
                },
                name,
            )
            ids[name] = created
            requery = requery or created is None
        if requery:
            rows = self._tooling_query(soql, "list okrsync's custom objects")
            found = {str(r["DeveloperName"]).lower(): str(r["Id"]) for r in rows}
            ids = {n: found.get(n.removesuffix("__c").lower()) for n in names}
        return ids

    def _fields(
        self,
        objects: Sequence[LogicalObject],
        table_ids: dict[str, str | None],
        changes: list[Change],
        *,
        dry_run: bool,
    ) -> dict[str, set[str]]:
        """Create missing fields; return the custom fields each object has (or will have)."""
        known = [i for i in table_ids.values() if i]
        existing: dict[str, dict[str, str]] = {}
        if known:
            listed = ", ".join(quote(i) for i in known)
            rows = self._tooling_query(
                select(
                    ["Id", "DeveloperName", "TableEnumOrId"],
                    "CustomField",
                    where=f"TableEnumOrId IN ({listed})",
                ),
                "list okrsync's custom fields",
            )
            for row in rows:
                owner = str(row["TableEnumOrId"])[:15]
                existing.setdefault(owner, {})[str(row["DeveloperName"]).lower()] = str(row["Id"])
        result: dict[str, set[str]] = {}
        for obj in objects:
            sobject = object_name(obj.name)
            table = table_ids.get(sobject)
            have = existing.get(table[:15], {}) if table else {}
            result[sobject] = set()
            for item in obj.fields:
                meta = field_metadata(obj, item)
                if meta is None:
                    continue
                name = field_name(item)
                result[sobject].add(name)
                field_id = have.get(name.removesuffix("__c").lower())
                if field_id is None:
                    changes.append(
                        Change("create_field", f"{sobject}.{name}", _describe_type(meta))
                    )
                    if not dry_run:
                        self._tooling_create(
                            "CustomField",
                            {"FullName": f"{sobject}.{name}", "Metadata": meta},
                            f"{sobject}.{name}",
                        )
                elif item.type == "picklist":
                    self._picklist(sobject, name, field_id, meta, changes, dry_run=dry_run)
        return result

    def _picklist(
        self,
        sobject: str,
        name: str,
        field_id: str,
        meta: dict[str, Any],
        changes: list[Change],
        *,
        dry_run: bool,
    ) -> None:
        """Add the picklist values okrsync uses that the field lacks."""
        described = {
            f["name"].lower(): f for f in self.schemas.raw(sobject).get("fields") or []
        }.get(name.lower())
        if described is None:
            return
        have = [str(p.get("value")) for p in described.get("picklistValues") or []]
        wanted = [v["fullName"] for v in meta["valueSet"]["valueSetDefinition"]["value"]]
        missing = [v for v in wanted if v not in have]
        if not missing:
            return
        changes.append(
            Change("update_field", f"{sobject}.{name}", f"add picklist values {', '.join(missing)}")
        )
        if dry_run:
            return
        merged = picklist_metadata(str(meta["label"]), have + missing)
        self.transport.tooling(
            f"update {sobject}.{name}",
            f"sobjects/CustomField/{field_id}",
            method="PATCH",
            data={"FullName": f"{sobject}.{name}", "Metadata": merged},
            object_name=sobject,
        )

    # -- access ---------------------------------------------------------------------------

    def _access(
        self,
        objects: Sequence[LogicalObject],
        fields: dict[str, set[str]],
        changes: list[Change],
        *,
        dry_run: bool,
    ) -> None:
        """The permission set, its object and field permissions, and its assignment."""
        rows = self._query(
            select(["Id"], "PermissionSet", where=f"Name = {quote(PERMISSION_SET)}"),
            "find the okrsync permission set",
            "PermissionSet",
        )
        set_id = str(rows[0]["Id"]) if rows else None
        if set_id is None:
            changes.append(Change("grant_access", f"permission set {PERMISSION_SET}", "create"))
            if not dry_run:
                answer = self.transport.rest(
                    "create the okrsync permission set",
                    "sobjects/PermissionSet/",
                    method="POST",
                    json={
                        "Name": PERMISSION_SET,
                        "Label": PERMISSION_SET,
                        "Description": "What the okrsync integration user may do.",
                    },
                    object_name="PermissionSet",
                )
                set_id = str(answer["id"]) if isinstance(answer, dict) else None
        rep_owned = {
            f"{object_name(o.name)}.{field_name(f)}"
            for o in objects
            for f in o.fields
            if f.rep_owned
        }
        self._object_permissions(fields, set_id, changes, dry_run=dry_run)
        self._field_permissions(fields, rep_owned, set_id, changes, dry_run=dry_run)
        self._assignment(set_id, changes, dry_run=dry_run)

    def _object_permissions(
        self,
        fields: dict[str, set[str]],
        set_id: str | None,
        changes: list[Change],
        *,
        dry_run: bool,
    ) -> None:
        have: dict[str, dict[str, Any]] = {}
        if set_id is not None:
            for row in self._query(
                select(
                    [
                        "Id",
                        "SobjectType",
                        "PermissionsRead",
                        "PermissionsCreate",
                        "PermissionsEdit",
                    ],
                    "ObjectPermissions",
                    where=f"ParentId = {quote(set_id)}",
                ),
                "list okrsync's object permissions",
                "ObjectPermissions",
            ):
                have[str(row["SobjectType"]).lower()] = row
        create: list[dict[str, Any]] = []
        targets: list[str] = []
        update: list[dict[str, Any]] = []
        grants = {"PermissionsRead": True, "PermissionsCreate": True, "PermissionsEdit": True}
        for sobject in fields:
            current = have.get(sobject.lower())
            if current is not None and all(current.get(k) for k in grants):
                continue
            changes.append(Change("grant_access", sobject, f"{PERMISSION_SET}: read, create, edit"))
            if current is None:
                create.append({"ParentId": set_id, "SobjectType": sobject, **grants})
                targets.append(sobject)
            else:
                update.append({"Id": current["Id"], **grants})
        if not dry_run:
            self._create_records("ObjectPermissions", create, targets)
            self._update_records("ObjectPermissions", update)

    def _field_permissions(
        self,
        fields: dict[str, set[str]],
        rep_owned: set[str],
        set_id: str | None,
        changes: list[Change],
        *,
        dry_run: bool,
    ) -> None:
        have: dict[str, dict[str, Any]] = {}
        if set_id is not None:
            for row in self._query(
                select(
                    ["Id", "Field", "PermissionsRead", "PermissionsEdit"],
                    "FieldPermissions",
                    where=f"ParentId = {quote(set_id)}",
                ),
                "list okrsync's field permissions",
                "FieldPermissions",
            ):
                have[str(row["Field"]).lower()] = row
        create: list[dict[str, Any]] = []
        targets: list[str] = []
        update: list[dict[str, Any]] = []
        for sobject, names in fields.items():
            for name in sorted(names):
                target = f"{sobject}.{name}"
                edit = target not in rep_owned
                current = have.get(target.lower())
                if (
                    current is not None
                    and current.get("PermissionsRead")
                    and (current.get("PermissionsEdit") or not edit)
                ):
                    continue
                changes.append(
                    Change(
                        "grant_access",
                        target,
                        f"{PERMISSION_SET}: read{', edit' if edit else ''}",
                    )
                )
                grants = {"PermissionsRead": True, "PermissionsEdit": edit}
                if current is None:
                    create.append(
                        {"ParentId": set_id, "SobjectType": sobject, "Field": target, **grants}
                    )
                    targets.append(target)
                else:
                    update.append({"Id": current["Id"], **grants})
        if not dry_run:
            self._create_records("FieldPermissions", create, targets)
            self._update_records("FieldPermissions", update)

    def _assignment(self, set_id: str | None, changes: list[Change], *, dry_run: bool) -> None:
        user = self.transport.current_user_id()
        if set_id is not None and self._query(
            select(
                ["Id"],
                "PermissionSetAssignment",
                where=f"AssigneeId = {quote(user)} AND PermissionSetId = {quote(set_id)}",
            ),
            "find the okrsync permission set assignment",
            "PermissionSetAssignment",
        ):
            return
        changes.append(
            Change("grant_access", f"user {user}", f"assign permission set {PERMISSION_SET}")
        )
        if not dry_run:
            self._create_records(
                "PermissionSetAssignment",
                [{"AssigneeId": user, "PermissionSetId": set_id}],
                [f"user {user}"],
            )
