"""CRM objects of the portal: read, write, archive, one at a time or in batches.

Values are validated and converted by property type, writes stamp
``hs_lastmodifieddate`` with the sandbox clock (and derive what HubSpot
derives: deal closed/won flags, lifecycle-stage dates), unique properties
are enforced, archiving is a soft delete, and results are rendered with every
value as a string.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import (
    HubSpotError,
    not_found,
    property_errors,
    validation_error,
)
from okrsync_hubspot_sandbox.schema import ARCHIVED_AT, DEAL_STAGES, ObjectType, PropertyDef
from okrsync_hubspot_sandbox.values import (
    InvalidValue,
    PropertyType,
    from_wire,
    iso_millis,
    to_wire,
)
from okrsync_sandbox.store import And, Cmp, Not

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from okrsync_hubspot_sandbox.schema import Portal
    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.store import Cond, Store

__all__ = ["BatchOutcome", "Records", "parse_properties_param"]

ALWAYS = ("hs_object_id", "hs_lastmodifieddate")
"""Properties every result carries (with the type's create-date property)."""


def parse_properties_param(values: Iterable[str]) -> list[str] | None:
    """``properties=a&properties=b`` or ``properties=a,b`` as a list (``None`` when absent)."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


@dataclass(slots=True)
class BatchOutcome:
    """Results and per-input errors of a batch call."""

    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""

    def body(self, completed_at: str) -> dict[str, Any]:
        """The batch response body (``numErrors`` and ``errors`` only when some failed)."""
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": self.results,
            "startedAt": self.started_at,
            "completedAt": completed_at,
        }
        if self.errors:
            out["numErrors"] = len(self.errors)
            out["errors"] = self.errors
        return out


def batch_error(category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    """One entry of a batch response's ``errors`` (HubSpot's ``StandardError``)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


class Records:
    """Objects of every type of a portal, in the store."""

    def __init__(
        self,
        portal: Portal,
        accounting: Accounting,
        *,
        batch_limit: int = 100,
        search_lag_seconds: float = 0.0,
    ) -> None:
        self.portal = portal
        self.store: Store = portal.store
        self.clock: Callable[[], datetime] = portal.clock
        self.accounting = accounting
        self.batch_limit = batch_limit
        self.search_lag_seconds = search_lag_seconds
        self._write = threading.Lock()
        self._next_id: dict[str, int] = {}
        self._recent: dict[str, dict[int, float]] = {}

    # -- rendering -------------------------------------------------------------

    def wanted(self, kind: ObjectType, names: Sequence[str] | None) -> list[PropertyDef]:
        """The properties to return: those asked for that exist, or the type's defaults."""
        chosen = list(names) if names else list(kind.default_properties)
        for name in (*ALWAYS, kind.created_property):
            if name not in chosen:
                chosen.append(name)
        seen: set[str] = set()
        out = []
        for name in chosen:
            prop = kind.property(name)
            if prop is not None and name not in seen:
                seen.add(name)
                out.append(prop)
        return out

    @staticmethod
    def fields(kind: ObjectType, props: Sequence[PropertyDef]) -> list[str]:
        """Store fields to select to render ``props``."""
        names = [p.name for p in props]
        for extra in ("hs_object_id", kind.created_property, "hs_lastmodifieddate", ARCHIVED_AT):
            if extra not in names:
                names.append(extra)
        return names

    def render(
        self, kind: ObjectType, row: dict[str, Any], props: Sequence[PropertyDef]
    ) -> dict[str, Any]:
        """A stored row as ``SimplePublicObject`` (``archivedAt`` when archived)."""
        created = row.get(kind.created_property) or row.get("hs_lastmodifieddate")
        updated = row.get("hs_lastmodifieddate") or created
        archived_at = row.get(ARCHIVED_AT)
        out: dict[str, Any] = {
            "id": str(row["hs_object_id"]),
            "properties": {p.name: to_wire(row.get(p.name), p.type) for p in props},
            "createdAt": iso_millis(created) if created else None,
            "updatedAt": iso_millis(updated) if updated else None,
            "archived": archived_at is not None,
        }
        if archived_at is not None:
            out["archivedAt"] = iso_millis(archived_at)
        return out

    # -- reading ---------------------------------------------------------------

    def list_page(
        self,
        kind: ObjectType,
        *,
        limit: int,
        after: int | None,
        names: Sequence[str] | None,
        archived: bool,
    ) -> dict[str, Any]:
        """One page of the list endpoint, keyed on the object id (``paging.next.after``)."""
        props = self.wanted(kind, names)
        rows = list(
            self.store.select(
                kind.table,
                self.fields(kind, props),
                limit=limit + 1,
                after_rowid=after,
                only_deleted=archived,
            )
        )
        body: dict[str, Any] = {"results": [self.render(kind, r, props) for r in rows[:limit]]}
        if len(rows) > limit:
            last = str(rows[limit - 1]["hs_object_id"])
            body["paging"] = {"next": {"after": last, "link": f"?after={last}"}}
        return body

    def find_rows(
        self,
        kind: ObjectType,
        values: Sequence[str],
        id_property: str | None,
        names: Sequence[str] | None,
        *,
        archived: bool = False,
    ) -> tuple[list[PropertyDef], dict[str, dict[str, Any]]]:
        """Rows whose id (or ``id_property``) is one of ``values``, by that value."""
        props = self.wanted(kind, names)
        key = self.key_property(kind, id_property)
        typed = [self._key_value(key, v) for v in values]
        found: dict[str, dict[str, Any]] = {}
        wanted = [v for v in typed if v is not None]
        for start in range(0, len(wanted), 500):
            chunk = tuple(wanted[start : start + 500])
            for row in self.store.select(
                kind.table,
                self.fields(kind, props) + ([key.name] if key.name != "hs_object_id" else []),
                Cmp(key.name, "in", chunk),
                only_deleted=archived,
            ):
                found.setdefault(to_wire(row[key.name], key.type) or "", row)
        return props, found

    def get(
        self,
        kind: ObjectType,
        object_id: str,
        names: Sequence[str] | None,
        id_property: str | None,
        *,
        archived: bool = False,
    ) -> dict[str, Any]:
        """One object by id or unique property.

        Raises:
            HubSpotError: 404 when there is none.
        """
        props, found = self.find_rows(kind, [object_id], id_property, names, archived=archived)
        key = self.key_property(kind, id_property)
        row = found.get(self._wire_key(key, object_id))
        if row is None:
            raise not_found()
        return self.render(kind, row, props)

    def batch_read(
        self,
        kind: ObjectType,
        ids: Sequence[str],
        names: Sequence[str] | None,
        id_property: str | None,
        *,
        archived: bool = False,
    ) -> BatchOutcome:
        """``batch/read``: found objects, and one error listing the ids not found."""
        self.check_batch_size(len(ids))
        outcome = BatchOutcome(started_at=iso_millis(self.clock()))
        props, found = self.find_rows(kind, ids, id_property, names, archived=archived)
        key = self.key_property(kind, id_property)
        missing = []
        for value in dict.fromkeys(ids):
            row = found.get(self._wire_key(key, value))
            if row is None:
                missing.append(value)
            else:
                outcome.results.append(self.render(kind, row, props))
        if missing:
            outcome.errors.append(
                batch_error(
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {kind.singular.upper()} objects, they may be deleted "
                    "or not exist. Check that ids are valid.",
                    {"ids": missing},
                )
            )
        return outcome

    def key_property(self, kind: ObjectType, id_property: str | None) -> PropertyDef:
        """The property identifying objects: ``hs_object_id`` or a unique ``idProperty``.

        Raises:
            HubSpotError: 400 when ``id_property`` is unknown or not unique.
        """
        if not id_property or id_property == "hs_object_id":
            prop = kind.property("hs_object_id")
            assert prop is not None  # noqa: S101  (every type has it)
            return prop
        prop = kind.property(id_property)
        if prop is None:
            raise property_errors(
                [
                    (
                        id_property,
                        "PROPERTY_DOESNT_EXIST",
                        f'Property "{id_property}" does not exist',
                    )
                ],
                self.portal.portal_id,
            )
        if not self.unique_lookup(kind, prop):
            raise validation_error(
                f"Unable to perform update/upsert by non-unique {kind.object_type_id} property "
                f"{prop.name} in portal ID {self.portal.portal_id}"
            )
        return prop

    @staticmethod
    def unique_lookup(kind: ObjectType, prop: PropertyDef) -> bool:
        """Whether objects can be looked up by ``prop`` (``hasUniqueValue``, or contact email)."""
        return prop.unique or (kind.name == "contacts" and prop.name == "email")

    @staticmethod
    def _key_value(key: PropertyDef, value: str) -> Any:
        if key.name == "hs_object_id":
            text = str(value).strip()
            return int(text) if text.isdigit() else None
        if key.type is PropertyType.NUMBER:
            try:
                return float(value)
            except ValueError:
                return None
        return str(value)

    def _wire_key(self, key: PropertyDef, value: str) -> str:
        typed = self._key_value(key, value)
        return (to_wire(typed, key.type) or "") if typed is not None else ""

    # -- writing ---------------------------------------------------------------

    def check_batch_size(self, count: int) -> None:
        """Refuse batches above the limit (100), as HubSpot does.

        Raises:
            HubSpotError: 400 when there are too many inputs.
        """
        if count > self.batch_limit:
            raise validation_error(
                f"The maximum number of inputs supported in a batch request is "
                f"{self.batch_limit}. Please reduce the number of items and try again"
            )

    def check_writable(self, kind: ObjectType) -> None:
        """Refuse writes to read-only object types (feedback submissions).

        Raises:
            HubSpotError: 403 for a read-only type.
        """
        if kind.read_only:
            raise HubSpotError(
                403,
                "FORBIDDEN",
                f"Object type {kind.name} ({kind.object_type_id}) is read-only: its records "
                "can't be created, updated or archived through the API.",
            )

    def convert(self, kind: ObjectType, properties: Any) -> dict[str, Any]:
        """Validate and convert the ``properties`` of a write to stored values.

        Raises:
            HubSpotError: 400 listing every invalid property.
        """
        if properties is None:
            return {}
        if not isinstance(properties, dict):
            raise validation_error("properties must be an object of property names to values.")
        problems: list[tuple[str, str, str]] = []
        values: dict[str, Any] = {}
        for name, raw in properties.items():
            prop = kind.property(str(name))
            if prop is None:
                problems.append(
                    (name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if prop.read_only:
                problems.append((name, "READ_ONLY_VALUE", f'Property "{name}" is read-only'))
                continue
            try:
                value = from_wire(raw, prop.type, name)
            except InvalidValue as exc:
                problems.append((name, exc.code, exc.message))
                continue
            if value is not None and prop.options:
                option = prop.option(str(value))
                if option is None:
                    allowed = ", ".join(o.value for o in prop.options)
                    problems.append(
                        (
                            name,
                            "INVALID_OPTION",
                            f"{raw} was not one of the allowed options: [{allowed}]",
                        )
                    )
                    continue
                value = option
            values[prop.name] = value
        if problems:
            raise property_errors(problems, self.portal.portal_id)
        return values

    def _derive(
        self, kind: ObjectType, before: dict[str, Any] | None, values: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        row = dict(values)
        row["hs_lastmodifieddate"] = now
        if kind.property("lastmodifieddate") is not None:
            row["lastmodifieddate"] = now
        if kind.name == "deals":
            if before is None and not row.get("pipeline"):
                row["pipeline"] = "default"
            if "dealstage" in row:
                stage = row["dealstage"]
                row["hs_is_closed"] = stage in {"closedwon", "closedlost"} if stage else False
                row["hs_is_closed_won"] = stage == "closedwon"
                row["hs_deal_stage_probability"] = DEAL_STAGES.get(stage) if stage else None
        stage = row.get("lifecyclestage")
        if stage:
            column = f"hs_lifecyclestage_{stage}_date"
            if kind.property(column) is not None and (before is None or before.get(column) is None):
                row[column] = now
        return row

    def _allocate(self, kind: ObjectType) -> int:
        if kind.table not in self._next_id:
            ((top,),) = self.store.aggregate(
                kind.table, [], [("max", "hs_object_id")], include_deleted=True
            )
            self._next_id[kind.table] = int(top or 0) + 1
        number = self._next_id[kind.table]
        self._next_id[kind.table] = number + 1
        return number

    def _check_unique(self, kind: ObjectType, values: dict[str, Any], own_id: int | None) -> None:
        for name, value in values.items():
            prop = kind.property(name)
            if value is None or prop is None or not self.unique_lookup(kind, prop):
                continue
            cond: Cond = Cmp(name, "=", value)
            if own_id is not None:
                cond = And((cond, Not(Cmp("hs_object_id", "=", own_id))))
            for row in self.store.select(kind.table, ["hs_object_id"], cond, limit=1):
                label = "Contact" if kind.name == "contacts" else kind.singular
                raise HubSpotError(
                    409,
                    "CONFLICT",
                    f"{label} already exists. Existing ID: {row['hs_object_id']}",
                )

    def _remember(self, kind: ObjectType, ids: Iterable[int]) -> None:
        if self.search_lag_seconds <= 0:
            return
        stamp = time.monotonic()
        recent = self._recent.setdefault(kind.table, {})
        for object_id in ids:
            recent[object_id] = stamp

    def hidden_from_search(self, kind: ObjectType) -> tuple[int, ...]:
        """Ids written too recently to be visible to search (the search lag)."""
        if self.search_lag_seconds <= 0:
            return ()
        horizon = time.monotonic() - self.search_lag_seconds
        with self._write:
            recent = self._recent.get(kind.table, {})
            for object_id in [i for i, t in recent.items() if t < horizon]:
                del recent[object_id]
            return tuple(recent)

    def _insert(self, kind: ObjectType, values: dict[str, Any], now: datetime) -> dict[str, Any]:
        missing = [p for p in kind.required_properties if values.get(p) is None]
        if missing:
            raise property_errors(
                [(p, "REQUIRED_PROPERTY", f'Property "{p}" is required') for p in missing],
                self.portal.portal_id,
            )
        self._check_unique(kind, values, None)
        row = self._derive(kind, None, values, now)
        row["hs_object_id"] = self._allocate(kind)
        row[kind.created_property] = now
        self.store.insert(kind.table, row)
        self._remember(kind, [row["hs_object_id"]])
        return row

    def _apply(
        self, kind: ObjectType, before: dict[str, Any], values: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        object_id = int(before["hs_object_id"])
        self._check_unique(kind, values, object_id)
        changes = self._derive(kind, before, values, now)
        self.store.update(kind.table, str(object_id), changes)
        self._remember(kind, [object_id])
        return {**before, **changes}

    def _full_row(self, kind: ObjectType, object_id: int) -> dict[str, Any] | None:
        fields = [*kind.properties, ARCHIVED_AT]
        rows = list(
            self.store.select(kind.table, fields, Cmp("hs_object_id", "=", object_id), limit=1)
        )
        return rows[0] if rows else None

    def _lookup(self, kind: ObjectType, key: PropertyDef, value: str) -> dict[str, Any] | None:
        typed = self._key_value(key, value)
        if typed is None:
            return None
        fields = [*kind.properties, ARCHIVED_AT]
        rows = list(self.store.select(kind.table, fields, Cmp(key.name, "=", typed), limit=1))
        return rows[0] if rows else None

    def create(self, kind: ObjectType, properties: Any) -> dict[str, Any]:
        """Create one object; return it rendered with the properties written."""
        self.check_writable(kind)
        values = self.convert(kind, properties)
        with self._write:
            row = self._insert(kind, values, self.clock())
        self.accounting.written("hubspot", kind.name, 1)
        return self.render(kind, row, self._written_props(kind, values))

    def update(
        self, kind: ObjectType, object_id: str, properties: Any, id_property: str | None
    ) -> dict[str, Any]:
        """Update one object by id or unique property.

        Raises:
            HubSpotError: 404 when there is none.
        """
        self.check_writable(kind)
        values = self.convert(kind, properties)
        key = self.key_property(kind, id_property)
        with self._write:
            before = self._lookup(kind, key, object_id)
            if before is None:
                raise not_found()
            row = self._apply(kind, before, values, self.clock())
        self.accounting.written("hubspot", kind.name, 1)
        return self.render(kind, row, self._written_props(kind, values))

    def archive(self, kind: ObjectType, object_ids: Iterable[str]) -> int:
        """Archive (soft-delete) objects; unknown ids are ignored; return how many."""
        self.check_writable(kind)
        done = 0
        with self._write:
            now = self.clock()
            for raw in object_ids:
                text = str(raw).strip()
                if not text.isdigit() or self._full_row(kind, int(text)) is None:
                    continue
                self.store.update(
                    kind.table, text, {"_deleted": True, "_deleted_at": now, ARCHIVED_AT: now}
                )
                done += 1
        return done

    def _written_props(self, kind: ObjectType, values: dict[str, Any]) -> list[PropertyDef]:
        return self.wanted(kind, list(values) or None)

    def _inputs(self, body: Any) -> list[dict[str, Any]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise validation_error("Invalid input JSON: inputs must be a list of objects.")
        self.check_batch_size(len(inputs))
        return inputs

    def batch_create(
        self, kind: ObjectType, body: Any, failing: set[int]
    ) -> tuple[BatchOutcome, list[int]]:
        """``batch/create``; inputs whose index is in ``failing`` fail (a partial fault).

        Returns the outcome and the ids created, in input order.
        """
        self.check_writable(kind)
        inputs = self._inputs(body)
        converted = [self.convert(kind, i.get("properties")) for i in inputs]
        outcome = BatchOutcome(started_at=iso_millis(self.clock()))
        created: list[int] = []
        with self._write:
            now = self.clock()
            for index, values in enumerate(converted):
                if index in failing:
                    outcome.errors.append(_injected(index, None))
                    created.append(0)
                    continue
                row = self._insert(kind, values, now)
                created.append(int(row["hs_object_id"]))
                outcome.results.append(self.render(kind, row, self._written_props(kind, values)))
        self.accounting.written("hubspot", kind.name, len(outcome.results))
        return outcome, created

    def batch_update(self, kind: ObjectType, body: Any, failing: set[int]) -> BatchOutcome:
        """``batch/update`` by id or ``idProperty``; unknown ids are reported as errors."""
        self.check_writable(kind)
        inputs = self._inputs(body)
        prepared = []
        for item in inputs:
            key = self.key_property(kind, item.get("idProperty"))
            prepared.append(
                (str(item.get("id", "")), key, self.convert(kind, item.get("properties")))
            )
        outcome = BatchOutcome(started_at=iso_millis(self.clock()))
        missing: list[str] = []
        with self._write:
            now = self.clock()
            for index, (value, key, values) in enumerate(prepared):
                if index in failing:
                    outcome.errors.append(_injected(index, value))
                    continue
                before = self._lookup(kind, key, value)
                if before is None:
                    missing.append(value)
                    continue
                row = self._apply(kind, before, values, now)
                outcome.results.append(self.render(kind, row, self._written_props(kind, values)))
        if missing:
            outcome.errors.append(
                batch_error(
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {kind.singular.upper()} objects, they may be deleted "
                    "or not exist. Check that ids are valid.",
                    {"ids": missing},
                )
            )
        self.accounting.written("hubspot", kind.name, len(outcome.results))
        return outcome

    def batch_upsert(self, kind: ObjectType, body: Any, failing: set[int]) -> BatchOutcome:
        """``batch/upsert`` by a unique ``idProperty``: update the match or create one."""
        self.check_writable(kind)
        inputs = self._inputs(body)
        prepared = []
        for item in inputs:
            id_property = item.get("idProperty")
            if not id_property:
                raise validation_error("idProperty is required for each input of a batch upsert.")
            key = self.key_property(kind, str(id_property))
            if key.name == "hs_object_id":
                raise validation_error(
                    f"Unable to perform update/upsert by non-unique {kind.object_type_id} "
                    f"property hs_object_id in portal ID {self.portal.portal_id}"
                )
            value = str(item.get("id", ""))
            if not value:
                raise validation_error("Each input of a batch upsert needs an id.")
            prepared.append((value, key, self.convert(kind, item.get("properties"))))
        seen: dict[tuple[str, str], int] = {}
        for value, key, _ in prepared:
            seen[key.name, value] = seen.get((key.name, value), 0) + 1
        duplicates = sorted({v for (_, v), n in seen.items() if n > 1})
        if duplicates:
            raise validation_error(
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
            )
        outcome = BatchOutcome(started_at=iso_millis(self.clock()))
        with self._write:
            now = self.clock()
            for index, (value, key, values) in enumerate(prepared):
                if index in failing:
                    outcome.errors.append(_injected(index, value))
                    continue
                before = self._lookup(kind, key, value)
                if before is None:
                    row = self._insert(kind, {**values, key.name: self._key_value(key, value)}, now)
                    is_new = True
                else:
                    row = self._apply(kind, before, values, now)
                    is_new = False
                rendered = self.render(
                    kind, row, self._written_props(kind, {key.name: None, **values})
                )
                rendered["new"] = is_new
                outcome.results.append(rendered)
        self.accounting.written("hubspot", kind.name, len(outcome.results))
        return outcome


def _injected(index: int, value: str | None) -> dict[str, Any]:
    context = {"ids": [value]} if value is not None else {"inputIndex": [str(index)]}
    return batch_error(
        "VALIDATION_ERROR",
        f"Input {index} could not be written (the sandbox injected a partial-batch failure); "
        "retry it.",
        context,
    )
