"""The connector protocol: how the core talks to a CRM, whatever the CRM.

A connector describes objects, pulls changed records page by page since a
cursor (with deletions), upserts records by external id with a per-record
outcome, provisions okrsync's own objects, resolves owners, and reports its
API usage. Values cross this boundary as Python values (``str``, ``float``,
``int``, ``bool``, ``date``, aware ``datetime``, ``None``), never as wire text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Sequence
    from datetime import datetime

__all__ = [
    "Change",
    "Connector",
    "Cursor",
    "FieldInfo",
    "LogicalField",
    "LogicalObject",
    "NoSchemaCache",
    "ObjectInfo",
    "Page",
    "Predicate",
    "Pull",
    "RecordOwners",
    "RowFilter",
    "SchemaCache",
    "UpsertOutcome",
    "UpsertStatus",
    "Usage",
    "cached",
]

_Json = TypeVar("_Json", dict[str, Any], list[Any])

PredicateOp = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null"]


@dataclass(frozen=True, slots=True)
class Predicate:
    """One condition on a field: ``field op value`` (``is_null`` takes a bool)."""

    field: str
    op: PredicateOp
    value: Any


RowFilter = tuple[tuple[Predicate, ...], ...]
"""Rows matching any group, all predicates in a group holding; ``()`` means every row."""


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field as the CRM describes it."""

    name: str
    type: str
    """Normalised type: id, string, text, email, picklist, boolean, int, double,
    currency, percent, date, datetime, reference."""
    label: str = ""
    nullable: bool = True
    writable: bool = True
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None
    picklist: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object (table) as the CRM describes it."""

    name: str
    label: str
    fields: dict[str, FieldInfo]
    """By name in lower case (lookups ignore case)."""
    custom: bool = False

    def field(self, name: str) -> FieldInfo | None:
        """The field called ``name`` in any letter case (``Owner.Email`` paths not resolved)."""
        return self.fields.get(name.lower())


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous pull of an object stopped.

    ``stamp`` is the CRM modification stamp of the newest record seen (ISO
    UTC); ``seen`` belongs to the connector (opaque, bounded): what it needs
    so an overlapping window does not report a change twice; ``deleted_since``
    when deletions were last checked.
    """

    stamp: str | None = None
    seen: tuple[str, ...] = ()
    deleted_since: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the state store."""
        return {"stamp": self.stamp, "seen": list(self.seen), "deleted_since": self.deleted_since}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Cursor:
        """Read the form :meth:`to_dict` wrote (``None``: a first, full pull)."""
        if not data:
            return cls()
        return cls(data.get("stamp"), tuple(data.get("seen") or ()), data.get("deleted_since"))


@dataclass(frozen=True, slots=True)
class Page:
    """Records changed (created or updated) and ids deleted, one CRM page's worth."""

    records: list[dict[str, Any]] = field(default_factory=list)
    """Each with the requested fields plus ``Id`` (the CRM id)."""
    deleted: list[str] = field(default_factory=list)
    reset: bool = False
    """Forget every replicated row of the object before this page: the pull starts
    over and returns every record (a connector that can no longer tell which
    records were deleted since its cursor re-pulls the object whole)."""


class Pull(Protocol):
    """An iteration over the pages of one pull; ``cursor`` is final once exhausted."""

    def __iter__(self) -> Iterator[Page]:
        """The pages, fetched lazily."""
        ...

    @property
    def cursor(self) -> Cursor:
        """The cursor to resume from next time (valid after the last page)."""
        ...

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Records the connector could not read: ``(id, reason)``."""
        ...


class UpsertStatus(StrEnum):
    """What happened to one record of an upsert."""

    CREATED = "created"
    UPDATED = "updated"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    """The result for one record, in input order."""

    key: str
    """The record's external id value."""
    status: UpsertStatus
    id: str | None = None
    """The CRM id (when it succeeded)."""
    code: str = ""
    """The CRM's error code when it failed (``DUPLICATE_VALUE``, ``VALIDATION_ERROR`` …)."""
    message: str = ""
    retriable: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    """API calls made by this connector and the CRM's quota as last reported."""

    calls: int
    remaining: int | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One change provisioning made (or would make, in a dry run)."""

    action: Literal[
        "create_object", "update_object", "create_field", "update_field", "grant_access"
    ]
    target: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.target}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True, slots=True)
class LogicalField:
    """A field of okrsync's own objects, before a connector names it."""

    name: str
    """snake_case, e.g. ``forecast_score``."""
    type: Literal[
        "key",
        "text",
        "long_text",
        "number",
        "percent",
        "date",
        "datetime",
        "picklist",
        "lookup",
        "owner",
    ]
    label: str
    picklist: tuple[str, ...] = ()
    lookup: str | None = None
    """For ``lookup``: the logical object referred to."""
    rep_owned: bool = False
    """Reps edit it in the CRM; okrsync reads it and never writes it."""


@dataclass(frozen=True, slots=True)
class LogicalObject:
    """One of okrsync's objects in the CRM: objective, key result, check-in, contribution."""

    name: Literal["objective", "key_result", "check_in", "contribution"]
    label: str
    plural: str
    fields: tuple[LogicalField, ...]


class SchemaCache(Protocol):
    """Where a connector keeps what the CRM said about its schema, across processes.

    Values are JSON-ready (dicts, lists, strings, numbers). An entry older than
    the cache's age limit reads as missing. The cache is best effort: a
    failure to read or write it reads as a miss, never as an error.
    """

    def get(self, key: str) -> Any | None:
        """The value stored under ``key`` if it is fresh, else ``None``."""
        ...

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (replacing what was there)."""
        ...

    def forget(self, prefix: str = "") -> None:
        """Drop the entries whose key starts with ``prefix`` (every entry for ``""``)."""
        ...


class NoSchemaCache:
    """A :class:`SchemaCache` that keeps nothing (each connector process describes anew)."""

    def get(self, key: str) -> Any | None:  # noqa: ARG002  (the protocol's signature)
        """Always a miss."""
        return None

    def put(self, key: str, value: Any) -> None:
        """Keep nothing."""

    def forget(self, prefix: str = "") -> None:
        """Nothing to drop."""


def cached(
    cache: SchemaCache,
    key: str,
    kind: type[_Json],
    fetch: Callable[[], _Json | None],
    *,
    refresh: bool = False,
) -> _Json | None:
    """What ``cache`` holds under ``key`` (a ``kind``), else ``fetch()``, kept when not ``None``.

    ``refresh`` skips the cache (and replaces what it holds).
    """
    if not refresh:
        value = cache.get(key)
        if isinstance(value, kind):
            return value
    fetched = fetch()
    if fetched is not None:
        cache.put(key, fetched)
    return fetched


class Connector(Protocol):
    """One connector instance talking to one CRM org or portal.

    A connector is used by one thread at a time, unless it has an attribute
    ``concurrent_pulls`` above one: then that many of its pulls (of different
    objects) may run at once, and its transport must be safe to share.
    Likewise ``concurrent_writes`` above one lets that many :meth:`write`
    calls of different objects run at once (see :func:`okrsync.writeback.waves`
    for when the write-back does).
    """

    name: str
    """The instance name (``salesforce``, ``sf-emea``)."""

    def describe(self, object_name: str, *, refresh: bool = False) -> ObjectInfo:
        """Fields and types of an object (to check mappings against the CRM).

        A connector may answer from its :class:`SchemaCache`; ``refresh`` asks
        the CRM again (and replaces what the cache holds for the object).
        """
        ...

    def pull(
        self,
        object_name: str,
        fields: Sequence[str],
        filters: RowFilter,
        cursor: Cursor,
    ) -> Pull:
        """Records of ``object_name`` changed since ``cursor``, and ids deleted since.

        A first pull (``cursor.stamp is None``) returns every record matching
        ``filters``, pushed down into the CRM query where the CRM can express
        them. Later pulls return every record changed since the cursor whether or
        not it matches (a record may have stopped matching; the replica re-applies
        the filters), each at most once, and the records deleted since. Pages are
        fetched lazily; nothing holds a whole object in memory.
        """
        ...

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Upsert records of one of okrsync's objects, in batches, one outcome per record in order.

        Records use logical field names (``key``, ``title``, ``current_value`` …):
        ``key`` is the external id; a ``lookup`` field holds the parent's key
        (the connector links the records: a lookup relationship, an association);
        ``owner`` holds an e-mail address (resolved to a CRM user, left empty when
        unknown); percent fields are fractions in [0, 1]. Rep-owned fields are
        never sent.
        """
        ...

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records of one of okrsync's objects by key, with logical field names.

        Used for the rep-owned fields (confidence, comment) and to verify writes.
        Keys the CRM does not have are absent from the result.
        """
        ...

    def provision(self, objects: Sequence[LogicalObject], *, dry_run: bool = False) -> list[Change]:
        """Create or update okrsync's objects and fields; idempotent."""
        ...

    def physical_name(self, obj: str, logical_field: str | None = None) -> str:
        """The CRM name of a logical object (or of one of its fields)."""
        ...

    def resolve_owner(self, email: str) -> str | None:
        """The CRM user/owner id with that e-mail address, if any."""
        ...

    def usage(self) -> Usage:
        """Calls made and the quota as last reported by the CRM."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def now_stamp(moment: datetime) -> str:
    """A cursor stamp: ISO UTC with milliseconds and ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@runtime_checkable
class RecordOwners(Protocol):
    """A connector whose CRM records have owners: the users they are assigned to.

    Optional: per-owner breakdowns and personal key results need it; a
    connector without it (a SQL source) cannot break a metric down by owner.
    Owners are people, named by e-mail address across CRMs.
    """

    def owner_field(self, object_name: str) -> str | None:
        """The field holding a record's owner, pulled with the object's other fields.

        Salesforce ``Owner.Email``, HubSpot ``hubspot_owner_id``; ``None`` when the
        object's records have no owner.
        """
        ...

    def owner_emails(self, values: Collection[str]) -> dict[str, str]:
        """The e-mail address of each value of an owner field, for those the CRM knows."""
        ...

    def team_members(self, team: str) -> list[str] | None:
        """E-mail addresses of the active users the CRM lists under ``team``.

        Salesforce: a role or a public group of that name; HubSpot: a team.
        ``None`` when the CRM has no such team.
        """
        ...
