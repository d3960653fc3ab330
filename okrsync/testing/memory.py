"""An in-memory connector: the protocol's reference behaviour, for tests of the core.

It keeps objects as dicts, stamps every change with a strictly increasing
modification time, honours cursors and deletions exactly as the protocol
says, and can be told to fail (a whole call, or some records of a write).
Records have owners (:class:`~okrsync.connector.RecordOwners`) where an
object has a field named in ``owner_fields``: its values are owner ids,
named by ``owners`` (id → e-mail); ``teams`` lists team members' e-mails.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from okrsync.connector import (
    Change,
    Cursor,
    FieldInfo,
    ObjectInfo,
    Page,
    UpsertOutcome,
    UpsertStatus,
    Usage,
    now_stamp,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Sequence

    from okrsync.connector import LogicalObject, Predicate, RowFilter

__all__ = ["InMemoryConnector"]


@dataclass
class _Pull:
    pages: list[Page]
    cursor: Cursor
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Page]:
        return iter(self.pages)


def _matches(record: dict[str, Any], pred: Predicate) -> bool:
    value = record.get(pred.field)
    if pred.op == "is_null":
        return (value is None) == bool(pred.value)
    if pred.op in {"in", "not_in"}:
        inside = any(_equal(value, v) for v in pred.value)
        return inside if pred.op == "in" else (not inside or value is None)
    if pred.op == "eq":
        return _equal(value, pred.value)
    if pred.op == "ne":
        return not _equal(value, pred.value)
    if value is None:
        return False
    left, right = _comparable(value, pred.value)
    result: bool = {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[pred.op]
    return result


def _comparable(value: Any, other: Any) -> tuple[Any, Any]:
    if isinstance(value, datetime) and not isinstance(other, datetime) and isinstance(other, date):
        return value.date(), other
    return value, other


def _equal(value: Any, other: Any) -> bool:
    if isinstance(value, str) and isinstance(other, str):
        return value.lower() == other.lower()
    return bool(value == other)


class InMemoryConnector:
    """A CRM in memory, implementing :class:`okrsync.connector.Connector`."""

    def __init__(
        self,
        name: str = "memory",
        *,
        objects: dict[str, dict[str, FieldInfo]] | None = None,
        page_size: int = 100,
        batch_size: int | None = None,
        clock: Callable[[], datetime] | None = None,
        owner_fields: dict[str, str] | None = None,
        owners: dict[str, str] | None = None,
        teams: dict[str, list[str]] | None = None,
    ) -> None:
        self.name = name
        self.owner_fields = dict(owner_fields or {})
        """The field holding the owner of each object's records."""
        self.owners = dict(owners or {})
        """Owner id → e-mail (an id not listed is an owner the CRM no longer knows)."""
        self.teams = {k: list(v) for k, v in (teams or {}).items()}
        """Team name → members' e-mail addresses."""
        self.schemas: dict[str, dict[str, FieldInfo]] = {
            o: dict(f) for o, f in (objects or {}).items()
        }
        self.rows: dict[str, dict[str, dict[str, Any]]] = {o: {} for o in self.schemas}
        self.stamps: dict[tuple[str, str], datetime] = {}
        self.deletions: dict[str, list[tuple[str, datetime]]] = {}
        self.okr: dict[str, dict[str, dict[str, Any]]] = {}
        """okrsync's own records as written: logical object → key → record."""
        self.page_size = page_size
        self.batch_size = batch_size
        """Most records one write call carries (``None``: any number)."""
        self.calls = 0
        self.writes: list[tuple[str, int]] = []
        """(logical object, batch size) of every write call."""
        self.fail_next: list[Exception | None] = []
        """Exceptions to raise on the next calls, one each (``None``: that call succeeds)."""
        self.fail_keys: dict[str, str] = {}
        """Keys whose writes fail, with the error code."""
        self._base = datetime(2026, 1, 1, tzinfo=UTC)
        self._tick = itertools.count(1)
        self._clock = clock
        self.ids = itertools.count(1)

    # -- test helpers --------------------------------------------------------------

    def _now(self) -> datetime:
        return self._base + timedelta(milliseconds=next(self._tick))

    def put(self, obj: str, record: dict[str, Any]) -> str:
        """Create or update a CRM record (``Id`` given or made); its stamp moves forward."""
        record = dict(record)
        record_id = str(record.setdefault("Id", f"{obj[:3]}{next(self.ids):06d}"))
        self.rows.setdefault(obj, {}).setdefault(record_id, {}).update(record)
        self.stamps[obj, record_id] = self._now()
        return record_id

    def remove(self, obj: str, record_id: str) -> None:
        """Delete a CRM record."""
        self.rows[obj].pop(record_id, None)
        self.deletions.setdefault(obj, []).append((record_id, self._now()))

    def _call(self) -> None:
        self.calls += 1
        if self.fail_next:
            error = self.fail_next.pop(0)
            if error is not None:  # None lets one call through
                raise error

    # -- the protocol ----------------------------------------------------------------

    def describe(self, object_name: str, *, refresh: bool = False) -> ObjectInfo:  # noqa: ARG002  (nothing is cached in memory)
        """Fields of an object (``LookupError`` when there is no such object)."""
        self._call()
        if object_name not in self.schemas:
            raise LookupError(object_name)
        fields = self.schemas[object_name]
        return ObjectInfo(object_name, object_name, {k.lower(): v for k, v in fields.items()})

    def pull(
        self,
        object_name: str,
        fields: Sequence[str],
        filters: RowFilter,
        cursor: Cursor,
    ) -> _Pull:
        """Changed records since the cursor, in pages, and deletions."""
        self._call()
        first = cursor.stamp is None
        since = datetime.fromisoformat(cursor.stamp) if cursor.stamp else None
        chosen = []
        newest = since
        for record_id, record in self.rows.get(object_name, {}).items():
            stamp = self.stamps[object_name, record_id]
            if since is not None and stamp <= since:
                continue
            newest = max(newest, stamp) if newest else stamp  # the cursor covers what was scanned
            if first and filters and not any(all(_matches(record, p) for p in g) for g in filters):
                continue
            chosen.append({"Id": record_id, **{f: record.get(f) for f in fields}})
        deleted_since = (
            datetime.fromisoformat(cursor.deleted_since) if cursor.deleted_since else None
        )
        deleted = [
            rid
            for rid, when in self.deletions.get(object_name, [])
            if not first and (deleted_since is None or when > deleted_since)
        ]
        pages = [
            Page(chosen[i : i + self.page_size]) for i in range(0, len(chosen), self.page_size)
        ] or [Page()]
        pages[-1] = Page(pages[-1].records, deleted)
        self.calls += len(pages) - 1
        now = self._now()
        new = Cursor(now_stamp(newest) if newest else now_stamp(now), (), now_stamp(now))
        return _Pull(pages, new)

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Store okrsync's records by key, in batches; rep-owned fields are not overwritten."""
        size = self.batch_size or max(1, len(records))
        out: list[UpsertOutcome] = []
        for start in range(0, len(records), size):
            out.extend(self._write_batch(obj, records[start : start + size]))
        return out

    def _write_batch(
        self, obj: LogicalObject, records: Sequence[dict[str, Any]]
    ) -> list[UpsertOutcome]:
        self._call()
        self.writes.append((obj.name, len(records)))
        rep_owned = {f.name for f in obj.fields if f.rep_owned}
        store = self.okr.setdefault(obj.name, {})
        out = []
        for record in records:
            key = str(record["key"])
            if key in self.fail_keys:
                out.append(
                    UpsertOutcome(
                        key, UpsertStatus.FAILED, code=self.fail_keys[key], message="refused"
                    )
                )
                continue
            created = key not in store
            current = store.setdefault(key, {})
            current.update({k: v for k, v in record.items() if k not in rep_owned})
            status = UpsertStatus.CREATED if created else UpsertStatus.UPDATED
            out.append(UpsertOutcome(key, status, id=f"okr-{key}"))
        return out

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Okrsync's records by key, every logical field present (``None`` when not set)."""
        self._call()
        store = self.okr.get(obj.name, {})
        empty = {f.name: None for f in obj.fields}
        return {k: empty | store[k] for k in keys if k in store}

    def provision(self, objects: Sequence[LogicalObject], *, dry_run: bool = False) -> list[Change]:
        """Nothing to create in memory beyond noting the objects."""
        self._call()
        changes = [Change("create_object", o.name) for o in objects if o.name not in self.okr]
        if not dry_run:
            for o in objects:
                self.okr.setdefault(o.name, {})
        return changes

    def physical_name(self, obj: str, logical_field: str | None = None) -> str:
        """The same names as the logical ones."""
        return obj if logical_field is None else logical_field

    def resolve_owner(self, email: str) -> str | None:
        """Every e-mail is its own owner id."""
        return email

    def owner_field(self, object_name: str) -> str | None:
        """The field named in ``owner_fields`` for the object."""
        if object_name not in self.schemas:
            raise LookupError(object_name)
        return self.owner_fields.get(object_name)

    def owner_emails(self, values: Collection[str]) -> dict[str, str]:
        """The e-mail of each owner id ``owners`` lists."""
        self._call()
        by_id = {k.lower(): v for k, v in self.owners.items()}
        return {v: by_id[v.lower()] for v in values if v.lower() in by_id}

    def team_members(self, team: str) -> list[str] | None:
        """The members ``teams`` lists (``None``: no such team)."""
        self._call()
        found = self.teams.get(team)
        return None if found is None else list(found)

    def usage(self) -> Usage:
        """Calls made so far."""
        return Usage(self.calls)

    def close(self) -> None:
        """Nothing to release."""
