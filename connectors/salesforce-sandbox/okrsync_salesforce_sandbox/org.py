"""The emulated org's records: reads, validated writes, deletions, the deletion log.

:class:`Org` is the HTTP-free core of the emulator: it knows the objects
(:class:`~okrsync_salesforce_sandbox.schema.Schema`), keeps their rows in the
store, and applies Salesforce's rules on every write: field names and types,
read-only fields, required fields, references, unique values, computed
fields, system stamps (``SystemModstamp`` from the sandbox clock). Errors are
:class:`~okrsync_salesforce_sandbox.errors.SalesforceError` with Salesforce's
codes; batch writes validate every record before writing any, so
``allOrNone`` can roll back by not writing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.access import Access
from okrsync_salesforce_sandbox.errors import SalesforceError, not_found
from okrsync_salesforce_sandbox.ids import IdGenerator, is_id, make_id, normalize_id
from okrsync_salesforce_sandbox.rules import derive
from okrsync_salesforce_sandbox.values import (
    escape_like,
    format_datetime,
    read_value,
    render_value,
)
from okrsync_sandbox.store import And, Cmp, Column, FieldType, TableSchema

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from okrsync_salesforce_sandbox.access import FieldAccess
    from okrsync_salesforce_sandbox.schema import Schema, SField, SObjectType
    from okrsync_salesforce_sandbox.storage import SandboxStore
    from okrsync_sandbox.accounting import Accounting

__all__ = ["API_USERNAME", "DELETION_LOG", "Org", "Prepared"]

API_USERNAME = "integration@okrsync_sandbox"
"""Username of the integration user the API acts as."""

DELETION_LOG = "_DeletedRecord"
"""Store table of deletions (soft and hard): what ``GET …/deleted/`` reads."""
DELETED_WINDOW = timedelta(days=15)
"""How far back ``…/deleted/`` lists deletions: "Results are returned for no more than 15
days previous to the day the call is executed" (REST API Developer Guide, sObject Get
Deleted; SOAP API Developer Guide, getDeleted(), Rules and Guidelines)."""
UPDATED_WINDOW = timedelta(days=30)
"""How far back ``…/updated/`` lists changes (getUpdated(): 30 days)."""
ARCHIVE_AFTER = timedelta(days=365)
"""Closed activities older than this are archived."""
MIN_SPAN = timedelta(minutes=1)
"""``start`` must precede ``end`` by more than this (getDeleted()/getUpdated() rules)."""
SHORT_SPAN = "startDate must be at least one minute greater than endDate"
"""Salesforce's own wording for a window of a minute or less (sic: as the live API says it)."""


@dataclass(slots=True)
class Prepared:
    """A validated write of one record: its id, whether it creates, the values to store."""

    sobject: SObjectType
    record_id: str
    created: bool
    values: dict[str, Any]


_PERMISSION_KEYS = {
    "ObjectPermissions": ("ParentId", "SobjectType"),
    "FieldPermissions": ("ParentId", "Field"),
    "PermissionSetAssignment": ("AssigneeId", "PermissionSetId"),
}
"""What makes a permission row unique."""


def _restricted(field: str, value: Any) -> SalesforceError:
    return SalesforceError(
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{field}: bad value for restricted picklist field: {value}",
        [field],
    )


class Org:
    """The records of the emulated org.

    Args:
        store: Where rows live.
        schema: The org's objects.
        clock: The sandbox's "now".
        accounting: Counts records written.
        crm: The name accounting files writes under.
    """

    def __init__(
        self,
        store: SandboxStore,
        schema: Schema,
        clock: Callable[[], datetime],
        accounting: Accounting,
        crm: str = "salesforce",
    ) -> None:
        self.store = store
        self.schema = schema
        self.clock = clock
        self.accounting = accounting
        self.crm = crm
        self.ids = IdGenerator()
        self.access = Access(store)
        """What each user may read and edit (field-level security)."""
        self.lock = threading.RLock()
        self.api_user_id = make_id("005", 0)
        """The integration user the API acts as (number 0: loaded data never takes it)."""
        self.org_id = make_id("00D", 0)
        self._auto: dict[tuple[str, str], int] = {}
        self._archived_on: date | None = None
        self.purged_until: datetime | None = None
        """The delete log holds nothing older than this (see :meth:`purge_deletions`)."""

    # -- set-up -------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the store tables of every object and the deletion log."""
        for obj in self.schema:
            if not self.store.has_table(obj.name):
                self.store.create_table(obj.table_schema())
        if not self.store.has_table(DELETION_LOG):
            self.store.create_table(
                TableSchema.of(
                    DELETION_LOG,
                    [
                        Column("Id", FieldType.ID),
                        Column("SObject", FieldType.STRING),
                        Column("DeletedDate", FieldType.DATETIME),
                    ],
                )
            )

    def system_values(self, user_id: str, at: datetime) -> dict[str, Any]:
        """The system fields of a new row."""
        return {
            "IsDeleted": False,
            "CreatedDate": at,
            "CreatedById": user_id,
            "LastModifiedDate": at,
            "LastModifiedById": user_id,
            "SystemModstamp": at,
        }

    def ensure_basics(self, org_name: str = "okrsync sandbox") -> None:
        """Add the Organization row and the API (integration) user when missing."""
        now = self.clock()
        if self.store.count("User", Cmp("Id", "=", self.api_user_id), include_deleted=True) == 0:
            self.store.insert(
                "User",
                {
                    "Id": self.api_user_id,
                    "Username": API_USERNAME,
                    "Email": API_USERNAME,
                    "FirstName": "Integration",
                    "LastName": "User",
                    "Name": "Integration User",
                    "IsActive": True,
                    "Title": "API integration",
                    **self.system_values(self.api_user_id, now),
                },
            )
        if self.store.count("Organization", include_deleted=True) == 0:
            self.store.insert(
                "Organization",
                {
                    "Id": self.org_id,
                    "Name": org_name,
                    "OrganizationType": "Developer Edition",
                    "InstanceName": "OKR1",
                    "IsSandbox": True,
                    "DefaultLocaleSidKey": "en_US",
                    **self.system_values(self.api_user_id, now),
                },
            )
        else:
            self.org_id = str(next(iter(self.store.select("Organization", ["Id"], limit=1)))["Id"])

    def user_by_username(self, username: str) -> str | None:
        """The id of the active user called ``username`` (any letter case)."""
        rows = self.store.select(
            "User",
            ["Id"],
            And((Cmp("Username", "like", escape_like(username)), Cmp("IsActive", "=", value=True))),
            limit=1,
        )
        found = next(iter(rows), None)
        return str(found["Id"]) if found else None

    # -- lookups ------------------------------------------------------------------

    def sobject(self, name: str) -> SObjectType:
        """The object called ``name`` (404 ``NOT_FOUND`` when the org has none)."""
        obj = self.schema.get(name)
        if obj is None:
            raise not_found()
        return obj

    def new_id(self, sobject: str) -> str:
        """A new id of the object ``sobject`` that no row has."""
        prefix = self.sobject(sobject).key_prefix
        while True:
            candidate = self.ids.new(prefix)
            if self.store.count(sobject, Cmp("Id", "=", candidate), include_deleted=True) == 0:
                return candidate

    def find_by(self, obj: SObjectType, item: SField, value: Any, limit: int = 10) -> list[str]:
        """Ids of live records whose ``item`` equals ``value``.

        Text matches in any letter case (Unicode's, not only ASCII's), as Salesforce
        compares external ids and unique fields, unless the field is case-sensitive
        (``caseSensitive`` in its describe: a unique text field created "case sensitive").
        """
        if value is None:
            return []
        if item.stringish and isinstance(value, str) and not item.case_sensitive:
            cond = Cmp(item.name, "like", escape_like(value))
        else:
            cond = Cmp(item.name, "=", value)
        return [str(r["Id"]) for r in self.store.select(obj.name, ["Id"], cond, limit=limit)]

    def row(
        self, obj: SObjectType, record_id: str, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The live row ``record_id`` (404 ``NOT_FOUND`` / ``ENTITY_IS_DELETED`` otherwise)."""
        if not is_id(record_id):
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {record_id}"
            )
        names = list(fields) if fields is not None else [f.name for f in obj.fields.values()]
        rows = list(
            self.store.select(
                obj.name,
                names,
                Cmp("Id", "=", normalize_id(record_id)),
                include_deleted=True,
                limit=1,
                with_rowid=True,
            )
        )
        if not rows:
            raise not_found()
        if rows[0]["_deleted"]:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return rows[0]

    def record(
        self, obj: SObjectType, record_id: str, version: str, fields: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """``GET /sobjects/{type}/{id}``: the record in Salesforce's JSON."""
        items = list(obj.fields.values())
        if fields is not None:
            items = []
            for name in fields:
                item = obj.field(name)
                if item is None:
                    raise SalesforceError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name}' on sobject of type {obj.name}",
                    )
                items.append(item)
        row = self.row(obj, record_id, fields=["Id", *[i.name for i in items]])
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}",
            }
        }
        for item in items:
            out[item.name] = render_value(item.type, row[item.name])
        return out

    # -- validating writes ----------------------------------------------------------

    def prepare(
        self,
        obj: SObjectType,
        body: dict[str, Any],
        *,
        record_id: str | None,
        user_id: str,
        now: datetime,
        key_field: str | None = None,
    ) -> Prepared:
        """Validate a create (``record_id`` ``None``) or an update of ``obj`` from a JSON body.

        ``key_field`` is the external id of an upsert: it may appear in the body.
        """
        allowed = self.access.obj(user_id, obj.name)
        if not allowed.read:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{obj.name}' is not supported.", []
            )
        existing = self.row(obj, record_id) if record_id is not None else None
        creating = existing is None
        if not (obj.createable if creating else obj.updateable) or not (
            allowed.create if creating else allowed.edit
        ):
            raise SalesforceError(
                400,
                "INSUFFICIENT_ACCESS_OR_READONLY",
                f"entity type {obj.name} does not support {'insert' if creating else 'update'}",
            )
        values = self._read_body(obj, body, creating=creating, key_field=key_field, user_id=user_id)
        if creating:
            for item in obj.fields.values():
                if item.name not in values and item.default is not None:
                    values[item.name] = user_id if item.default == "$user" else item.default
        self._require(obj, values, creating=creating)
        derive(obj.name, values, existing, now, self.account_of)
        self._check_links(obj, values, existing)
        if existing is None:
            record_id = self.new_id(obj.name)
            for item in obj.fields.values():
                if item.auto_number is not None:
                    values[item.name] = self.next_number(obj, item)
            values.update(self.system_values(user_id, now), Id=record_id)
        else:
            record_id = str(existing["Id"])
            values.update(LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now)
        self._check_unique(obj, values, record_id)
        return Prepared(obj, record_id, creating, values)

    def _read_body(
        self,
        obj: SObjectType,
        body: dict[str, Any],
        *,
        creating: bool,
        key_field: str | None,
        user_id: str,
    ) -> dict[str, Any]:
        """The fields a JSON body sets, read and checked for existence and the user's access."""
        values: dict[str, Any] = {}
        denied: list[str] = []
        for key, raw in body.items():
            if key == "attributes":
                continue
            item = obj.field(key)
            access = self.access.field(user_id, obj.name, item.name) if item is not None else None
            if item is None or access is None or not access.read:
                # a field the user may not see is one that does not exist
                relation, access = self._relation(obj, key, raw, user_id)
                if access.edit:
                    values[relation.name] = self._foreign_key(relation, raw)
                else:
                    denied.append(relation.name)
                continue
            if item.name == "Id":
                if creating:
                    raise SalesforceError(
                        400,
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "Id: cannot specify Id in an insert call",
                        ["Id"],
                    )
                continue
            writable = item.createable if creating else item.updateable
            if (not writable and item.name != key_field) or not access.edit:
                denied.append(item.name)
            else:
                values[item.name] = read_value(item, raw)
        if denied:
            raise SalesforceError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(denied)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                denied,
            )
        return values

    def _relation(
        self, obj: SObjectType, key: str, raw: Any, user_id: str
    ) -> tuple[SField, FieldAccess]:
        """The lookup a relationship key (``Objective__r: {…}``) sets, and the user's access to it.

        Raises:
            SalesforceError: ``INVALID_FIELD`` when ``key`` names no field or
                relationship the user may see.
        """
        relation = obj.relationship(key)
        access = self.access.field(user_id, obj.name, relation.name) if relation else None
        if (
            relation is None
            or access is None
            or not access.read
            or not isinstance(raw, dict)
            or not relation.column.reference_to
        ):
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key]
            )
        return relation, access

    def _check_links(
        self, obj: SObjectType, values: dict[str, Any], existing: dict[str, Any] | None
    ) -> None:
        """References point at live records of the right object; permission rows are sound."""
        for name, value in values.items():
            item = obj.fields[name.lower()]
            if item.type is FieldType.REFERENCE and value is not None:
                self._check_reference(item, value)
        if obj.name in _PERMISSION_KEYS:
            self._check_permission(obj, values, existing)

    def _check_permission(
        self, obj: SObjectType, values: dict[str, Any], existing: dict[str, Any] | None
    ) -> None:
        """Permission rows name real objects and fields, once per permission set."""
        merged = {**(existing or {}), **values}
        kind = merged.get("SobjectType")
        if "SobjectType" in values and self.schema.get(str(kind)) is None:
            raise _restricted("SobjectType", kind)
        if obj.name == "FieldPermissions" and "Field" in values:
            target, _, name = str(merged.get("Field")).partition(".")
            owner = self.schema.get(target)
            item = owner.field(name) if owner is not None else None
            if item is None or target.lower() != str(kind).lower():
                raise _restricted("Field", merged.get("Field"))
            if not item.permissionable:
                raise SalesforceError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"Field: {merged.get('Field')} is not permissionable",
                    ["Field"],
                )
        keys = _PERMISSION_KEYS[obj.name]
        if existing is None and all(merged.get(k) is not None for k in keys):
            cond = And(tuple(Cmp(k, "=", merged[k]) for k in keys))
            other = next(iter(self.store.select(obj.name, ["Id"], cond, limit=1)), None)
            if other is not None:
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: <unknown> duplicates value on record with id: "
                    f"{other['Id']}",
                    [],
                )

    @staticmethod
    def _require(obj: SObjectType, values: dict[str, Any], *, creating: bool) -> None:
        missing = [
            item.name
            for item in obj.fields.values()
            if item.required
            and (creating or item.name in values)
            and values.get(item.name) in {None, ""}
        ]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    def _check_unique(self, obj: SObjectType, values: dict[str, Any], record_id: str) -> None:
        for name, value in values.items():
            item = obj.fields[name.lower()]
            if item.column.unique and value is not None and item.name != "Id":
                others = [i for i in self.find_by(obj, item, value) if i != record_id]
                if others:
                    raise self.duplicate(item, others[0])

    @staticmethod
    def duplicate(item: SField, other_id: str) -> SalesforceError:
        """``DUPLICATE_VALUE`` for a unique field."""
        return SalesforceError(
            400,
            "DUPLICATE_VALUE",
            f"duplicate value found: {item.name} duplicates value on record with id: {other_id}",
            [],
        )

    def account_of(self, record_id: str) -> str | None:
        """The account a record id given as ``WhatId`` belongs to."""
        prefix = record_id[:3]
        if prefix == self.sobject("Account").key_prefix:
            return record_id
        for name in ("Opportunity", "Case"):
            if prefix == self.sobject(name).key_prefix:
                rows = list(
                    self.store.select(name, ["AccountId"], Cmp("Id", "=", record_id), limit=1)
                )
                return str(rows[0]["AccountId"]) if rows and rows[0]["AccountId"] else None
        return None

    def _check_reference(self, item: SField, value: str) -> None:
        target = None
        for name in item.reference_to:
            obj = self.schema.get(name)
            if obj is not None and obj.key_prefix == value[:3]:
                target = obj
        if target is None:
            raise SalesforceError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"field integrity exception: unknown ({item.column.label}: id value of "
                f"incorrect type: {value})",
                [item.name],
            )
        if self.store.count(target.name, Cmp("Id", "=", value)) == 0:
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [item.name]
            )

    def _foreign_key(self, relation: SField, raw: dict[str, Any]) -> str:
        target = self.sobject(str(relation.column.reference_to))
        keys = [k for k in raw if k != "attributes"]
        item = target.field(keys[0]) if len(keys) == 1 else None
        if item is None or not (item.column.external_id or item.name == "Id"):
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"The relationship {relation.relationship_name} must name exactly one "
                f"external id field of {target.name}",
                [relation.name],
            )
        value = read_value(item, raw[keys[0]])
        found = self.find_by(target, item, value)
        if not found:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {item.name} "
                f"in entity {target.name}",
                [relation.name],
            )
        if len(found) > 1:
            raise SalesforceError(
                400,
                "DUPLICATE_EXTERNAL_ID",
                f"Foreign key external ID: {value} matches more than one record for field "
                f"{item.name} in entity {target.name}",
                [relation.name],
            )
        return found[0]

    def next_number(self, obj: SObjectType, item: SField) -> str:
        """The next value of an auto-number field."""
        key = (obj.name, item.name)
        if key not in self._auto:
            self._auto[key] = self.store.count(obj.name, include_deleted=True) + 1
        number = self._auto[key]
        self._auto[key] = number + 1
        text = item.auto_number or "{0}"
        start, end = text.find("{"), text.find("}")
        width = max(1, end - start - 1)
        return f"{text[:start]}{number:0{width}d}{text[end + 1 :]}"

    # -- writing -------------------------------------------------------------------

    def apply(self, prepared: Sequence[Prepared]) -> None:
        """Write validated records (creates in one statement per object)."""
        creates: dict[str, list[dict[str, Any]]] = {}
        for item in prepared:
            if item.created:
                creates.setdefault(item.sobject.name, []).append(item.values)
            else:
                self.store.update(item.sobject.name, item.record_id, item.values)
                self.accounting.written(self.crm, item.sobject.name, 1)
        for name, rows in creates.items():
            self.store.insert_many(name, rows)
            self.accounting.written(self.crm, name, len(rows))

    def create(self, obj: SObjectType, body: dict[str, Any], user_id: str) -> str:
        """Create one record; return its id."""
        with self.lock:
            prepared = self.prepare(obj, body, record_id=None, user_id=user_id, now=self.clock())
            self.apply([prepared])
            return prepared.record_id

    def update(self, obj: SObjectType, record_id: str, body: dict[str, Any], user_id: str) -> None:
        """Update one record."""
        with self.lock:
            prepared = self.prepare(
                obj, body, record_id=record_id, user_id=user_id, now=self.clock()
            )
            self.apply([prepared])

    def external_field(self, obj: SObjectType, name: str) -> SField:
        """The field an upsert matches on (``INVALID_FIELD`` unless an external id or ``Id``)."""
        item = obj.field(name)
        if item is None:
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {name}"
            )
        if not (item.column.external_id or item.name == "Id"):
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {item.name} is not an External ID or indexed field "
                f"for {obj.name}",
                [item.name],
            )
        return item

    def upsert(
        self, obj: SObjectType, field_name: str, value: str, body: dict[str, Any], user_id: str
    ) -> tuple[str, bool]:
        """Create or update by external id; return ``(id, created)``.

        Raises ``SalesforceError`` 300 (with the matching ids in ``fields``) when
        several records match.
        """
        item = self.external_field(obj, field_name)
        key = read_value(item, value)
        with self.lock:
            found = self.find_by(obj, item, key)
            if len(found) > 1:
                raise SalesforceError(300, "MULTIPLE_CHOICES", "more than one record found", found)
            now = self.clock()
            if found:
                prepared = self.prepare(
                    obj, body, record_id=found[0], user_id=user_id, now=now, key_field=item.name
                )
            else:
                fields = dict(body)
                if item.name != "Id":
                    fields.setdefault(item.name, value)
                prepared = self.prepare(
                    obj, fields, record_id=None, user_id=user_id, now=now, key_field=item.name
                )
            self.apply([prepared])
            return prepared.record_id, prepared.created

    # -- archiving -------------------------------------------------------------------

    def archive_activities(self, *, force: bool = False) -> int:
        """Archive activities as Salesforce's nightly process does; return how many it archived.

        Archived (``IsArchived``, left out by ``query``, returned by ``queryAll``): events
        that ended more than 365 days ago, and closed tasks due more than 365 days ago (or,
        without a due date, created more than 365 days ago) (Salesforce Help, "Archived
        Activities"). The record is not otherwise changed: no new ``SystemModstamp``. Runs
        at most once per sandbox day unless ``force``d.
        """
        today = self.clock().date()
        if self._archived_on == today and not force:
            return 0
        cutoff = (today - ARCHIVE_AFTER).isoformat()
        archived = 0
        with self.lock:
            db = self.store.connection()
            rules = {
                "Task": "IsClosed = 1 AND COALESCE(ActivityDate, substr(CreatedDate, 1, 10)) < ?",
                "Event": "COALESCE(substr(EndDateTime, 1, 10), ActivityDate) < ?",
            }
            for name, rule in rules.items():
                if self.schema.get(name) is None or not self.store.has_table(name):
                    continue
                table = f'"{self.store.schema(name).name}"'
                archived += db.execute(
                    f"UPDATE {table} SET IsArchived = 1 "  # noqa: S608  (names from the schema)
                    f"WHERE COALESCE(IsArchived, 0) = 0 AND {rule}",
                    (cutoff,),
                ).rowcount
                db.execute(f"UPDATE {table} SET IsArchived = 0 WHERE IsArchived IS NULL")  # noqa: S608
            db.commit()
            self._archived_on = today
        return archived

    # -- deleting --------------------------------------------------------------------

    def delete(self, obj: SObjectType, record_id: str, user_id: str) -> None:
        """Soft-delete a record (to the recycle bin): ``queryAll`` still shows it."""
        if not obj.deletable:
            raise SalesforceError(
                400,
                "INSUFFICIENT_ACCESS_OR_READONLY",
                f"entity type {obj.name} does not support delete",
            )
        with self.lock:
            row = self.row(obj, record_id, fields=["Id"])
            now = self.clock()
            self.store.update(
                obj.name,
                row["Id"],
                {
                    "IsDeleted": True,
                    "LastModifiedDate": now,
                    "LastModifiedById": user_id,
                    "SystemModstamp": now,
                },
            )
            self.store.delete(obj.name, row["Id"], now)
            self._log_deletion(obj.name, row["Id"], now)

    def hard_delete(self, sobject: str, record_id: str) -> bool:
        """Remove a record for good (a drill: only the deletion log remembers it)."""
        obj = self.sobject(sobject)
        record_id = normalize_id(record_id)
        with self.lock:
            now = self.clock()
            existed = self.store.delete(obj.name, record_id, now, hard=True)
            if existed:
                self._log_deletion(obj.name, record_id, now)
            return existed

    def _log_deletion(self, sobject: str, record_id: str, at: datetime) -> None:
        if self.store.count(DELETION_LOG, Cmp("Id", "=", record_id)) == 0:
            self.store.insert(
                DELETION_LOG, {"Id": record_id, "SObject": sobject, "DeletedDate": at}
            )

    def earliest_deleted(self) -> datetime:
        """``earliestDateAvailable``: 15 days back, or later if the delete log was purged."""
        earliest = (self.clock() - DELETED_WINDOW).replace(second=0, microsecond=0)
        if self.purged_until is None:
            return earliest
        # in whole minutes, as Salesforce gives it: the minute after the purge
        purged = self.purged_until.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return max(earliest, purged)

    def purge_deletions(self, until: datetime | None = None) -> int:
        """Purge the delete log up to ``until`` (default now); return the entries dropped.

        Salesforce does so when the Recycle Bin is emptied or the log outgrows its limit.
        Later listings that start before ``until`` fail with ``INVALID_REPLICATION_DATE``.
        """
        until = until or self.clock()
        with self.lock:
            dropped = self.store.delete_where(DELETION_LOG, Cmp("DeletedDate", "<", until))
            self.purged_until = max(self.purged_until or until, until)
            return dropped

    def _window(
        self, start: datetime, end: datetime, earliest: datetime
    ) -> tuple[datetime, datetime]:
        """The window's end as covered (``INVALID_REPLICATION_DATE`` for a bad window)."""
        if end - start <= MIN_SPAN:
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", SHORT_SPAN)
        if start < earliest:
            # The documented outcome (getDeleted() rules: "an INVALID_REPLICATION_DATE error
            # is returned"); the message is the emulator's, naming the date to resync from.
            raise SalesforceError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate cannot be before the earliest date available: "
                f"{format_datetime(earliest)}",
            )
        return start, min(end, self.clock())

    def deleted(self, obj: SObjectType, start: datetime, end: datetime) -> dict[str, Any]:
        """``GET /sobjects/{type}/deleted/``: deletions in the window (at most 15 days back)."""
        earliest = self.earliest_deleted()
        start, latest = self._window(start, end, earliest)
        rows = self.store.select(
            DELETION_LOG,
            ["Id", "DeletedDate"],
            And(
                (
                    Cmp("SObject", "=", obj.name),
                    Cmp("DeletedDate", ">=", start),
                    Cmp("DeletedDate", "<=", latest),
                )
            ),
        )
        return {
            "deletedRecords": [
                {"id": r["Id"], "deletedDate": format_datetime(r["DeletedDate"])} for r in rows
            ],
            "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(latest),
        }

    def updated(self, obj: SObjectType, start: datetime, end: datetime) -> dict[str, Any]:
        """``GET /sobjects/{type}/updated/``: ids of records changed in the window."""
        earliest = (self.clock() - UPDATED_WINDOW).replace(second=0, microsecond=0)
        _, latest = self._window(start, end, earliest)
        rows = self.store.select(
            obj.name,
            ["Id"],
            And((Cmp("SystemModstamp", ">=", start), Cmp("SystemModstamp", "<=", latest))),
        )
        return {"ids": [r["Id"] for r in rows], "latestDateCovered": format_datetime(latest)}
