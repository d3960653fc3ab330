"""What a connector package provides to run the connector contract suite: a driver.

A driver starts the connector's test service (its CRM's sandbox, or a real
database for a SQL source) with small deterministic data, builds connectors
through the connector's plugin, changes records of ONE object behind the
connector's back, and says which four fields are pulled (an amount, a close
date, a boolean, a stage). It declares its :class:`Capability` set; a test
needing a capability the driver does not declare is not applicable to it.

Seeded record ``i`` (``0 … records-1``) has the amount ``1000 + 10.5·i``, the
close date ``CLOSE + (i mod 60)`` days, the flag ``i mod 3 == 0`` and was
last modified ``i`` seconds after :data:`SEEDED_AT`.

This module does not import pytest (see :mod:`okrsync.testing.contract`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from okrsync.connector import Connector, Cursor, Pull, SchemaCache

__all__ = [
    "AS_OF",
    "CLOSE",
    "NEW_AMOUNT",
    "PAGE",
    "RECORDS",
    "SEEDED_AT",
    "SYNCED",
    "Capability",
    "Driver",
    "drain",
    "ids_of",
    "key_results",
]

AS_OF = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
"""The test service's "now" when it starts (its clock may then run in real time)."""
SEEDED_AT = AS_OF - timedelta(days=7)
"""Seeded record ``i`` was last modified ``i`` seconds after this."""
RECORDS = 450
"""Seeded records: three pages of 200 (200, 200, 50)."""
PAGE = 200
"""Records per pull page the drivers configure."""
CLOSE = date(2026, 7, 1)
"""Close date of seeded record 0."""
NEW_AMOUNT = 99.5
"""The amount an update sets."""
SYNCED = datetime(2026, 8, 15, 6, 30, tzinfo=UTC)
"""``last_synced_at`` of the key-result records the tests write."""


class Capability(StrEnum):
    """What a connector (and its test service) can do; tests needing more are not applicable."""

    WRITES = "writes"
    """Provisions, writes and reads back okrsync's objects (a read-only source refuses writes)."""
    DELETIONS = "deletions"
    """Incremental pulls report records deleted in the source."""
    QUOTA = "quota"
    """The source has a daily API quota; the connector keeps a reserve of it."""
    FAULTS = "faults"
    """The test service injects faults: partial batch failures, throttling (``429``)."""
    SESSIONS = "sessions"
    """Sessions or tokens expire; the connector renews them (or retries) mid-pull."""
    SCHEMA_CACHE = "schema_cache"
    """Describes are kept in okrsync's store, so a new process need not describe again."""
    CLOCK = "clock"
    """The service's clock can be read (:meth:`Driver.now`), and the driver runs a connector
    on a clock set apart from it (``connect(skew=…)``, through :meth:`Driver.clock_for`)."""


def drain(pull: Pull) -> tuple[list[dict[str, Any]], list[str], list[int]]:
    """Records and deleted ids of a whole pull, and the sizes of the pages holding records."""
    records: list[dict[str, Any]] = []
    deleted: list[str] = []
    sizes: list[int] = []
    for page in pull:
        records.extend(page.records)
        deleted.extend(page.deleted)
        if page.records:
            sizes.append(len(page.records))
    return records, deleted, sizes


def ids_of(records: Iterable[dict[str, Any]]) -> list[str]:
    """The ``Id`` of each record, in order."""
    return [str(r["Id"]) for r in records]


def key_results(count: int, prefix: str, *, value: float = 0.0) -> list[dict[str, Any]]:
    """``count`` key-result records with logical field names (no objective: no lookups)."""
    return [
        {
            "key": f"2026-Q3/{prefix}/kr-{i:03d}",
            "title": f"KR {prefix} {i}",
            "kind": "metric",
            "source": "crm",
            "metric": "won_revenue",
            "unit": "currency",
            "start_value": 0.0,
            "target_value": 1000.0,
            "current_value": value + i,
            "progress": 0.25,
            "score": 0.3,
            "expected": 0.5,
            "forecast_score": 0.6,
            "status": "at_risk",
            "weight": 1.0,
            "owner_name": "Sales",
            "last_synced_at": SYNCED,
            "confidence": 7.0,
            "comment": "rep-owned: never sent",
        }
        for i in range(count)
    ]


class Driver:
    """One connector and its test service, behind the same methods for every connector.

    Subclasses set the class attributes and implement the methods of the
    capabilities they declare (the others raise :class:`NotImplementedError`).
    """

    name: ClassVar[str]
    """The connector's type (and the instance name the driver connects as)."""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    gaps: ClassVar[Mapping[str, str]] = {}
    """Known gaps: contract test name → reason; such a test must fail (strict xfail)."""
    object_name: ClassVar[str]
    """The object whose records the tests pull and change."""
    fields: ClassVar[tuple[str, str, str, str]]
    """The fields pulled: an amount, a close date, a boolean and a stage."""
    page_size: ClassVar[int] = PAGE
    """Records per pull page the driver's connectors use."""
    pages_are_calls: ClassVar[bool] = True
    """Each page of a pull is one call (not so for a driver whose pulls go through bulk jobs)."""
    batch_limit: ClassVar[int] = 0
    """Most records one write call carries (:attr:`Capability.WRITES`)."""
    write_endpoint: ClassVar[str] = ""
    """What :meth:`served` calls a batch upsert (:attr:`Capability.WRITES`)."""
    describe_endpoint: ClassVar[str] = ""
    """What :meth:`served` calls the read of an object's fields."""
    stale_okr_schema: ClassVar[tuple[str, Any]] = ("", None)
    """A schema cache entry saying okrsync's key-result object has no fields (or does not exist)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.connectors: list[Connector] = []
        self._loads = 0
        self.skew = timedelta(0)
        """How far ahead of the service's clock the next connector's clock runs."""

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """Whether the driver declares ``capability``."""
        return capability in cls.capabilities

    @property
    def amount(self) -> str:
        """The amount field's name."""
        return self.fields[0]

    def folder(self) -> Path:
        """A fresh folder for data files."""
        self._loads += 1
        return self.workdir / f"data-{self._loads}"

    def seeded(self, i: int) -> datetime:
        """When seeded record ``i`` was last modified."""
        return SEEDED_AT + timedelta(seconds=i)

    def connect(
        self,
        *,
        renewable: bool = False,
        reserve_percent: float | None = None,
        max_retries: int | None = None,
        backoff_seconds: float | None = None,
        schema_cache: SchemaCache | None = None,
        skew: timedelta = timedelta(0),
    ) -> Connector:
        """A connector built through the plugin, on the service's clock (closed at the end).

        ``renewable``: with credentials that can log in again; ``reserve_percent``,
        ``max_retries``, ``backoff_seconds``: the connector's settings of those
        (fast defaults otherwise); ``schema_cache``: where it keeps describes;
        ``skew``: how far ahead of the service's clock the connector's runs
        (:attr:`Capability.CLOCK`).
        """
        self.skew = skew
        connector = self._connect(
            renewable=renewable,
            reserve_percent=reserve_percent,
            max_retries=max_retries,
            backoff_seconds=backoff_seconds,
            schema_cache=schema_cache,
        )
        self.connectors.append(connector)
        return connector

    def clock_for(self, service: Callable[[], datetime]) -> Callable[[], datetime]:
        """The clock to give the connector being made: the service's, moved by :attr:`skew`."""
        skew = self.skew
        if not skew:
            return service
        return lambda: service() + skew

    def pull(self, connector: Connector, cursor: Cursor) -> Pull:
        """Pull the four fields of the driver's object, unfiltered, from ``cursor``."""
        return connector.pull(self.object_name, list(self.fields), (), cursor)

    def stop_connectors(self) -> None:
        """Close every connector made."""
        for connector in self.connectors:
            connector.close()

    def _missing(self, what: str) -> str:
        return f"the {self.name} driver does not implement {what}"

    # -- what every driver implements ------------------------------------------------------

    def _connect(
        self,
        *,
        renewable: bool,
        reserve_percent: float | None,
        max_retries: int | None,
        backoff_seconds: float | None,
        schema_cache: SchemaCache | None,
    ) -> Connector:
        raise NotImplementedError(self._missing("_connect"))

    def start(self, records: int = RECORDS, *, quota: int | None = None) -> None:
        """Start the service holding seeded records ``0 … records-1`` (and a daily quota)."""
        raise NotImplementedError(self._missing("start"))

    def record_id(self, i: int) -> str:
        """The source's id of seeded record ``i``."""
        raise NotImplementedError(self._missing("record_id"))

    def expected(self, i: int) -> dict[str, Any]:
        """Seeded record ``i`` as a pull returns it (typed values)."""
        raise NotImplementedError(self._missing("expected"))

    def insert(self, count: int) -> list[str]:
        """Create records through the source's API; their ids."""
        raise NotImplementedError(self._missing("insert"))

    def update(self, ids: Sequence[str]) -> None:
        """Set the amount of records to :data:`NEW_AMOUNT` through the source's API."""
        raise NotImplementedError(self._missing("update"))

    def bulk_insert(self, count: int, after: str) -> list[str]:
        """Load ``count`` records straight into the service's store, stamped after ``after``."""
        raise NotImplementedError(self._missing("bulk_insert"))

    def served(self, endpoint: str | None = None) -> int:
        """Calls the service served (to one endpoint), by its own count."""
        raise NotImplementedError(self._missing("served"))

    def close(self) -> None:
        """Close the connectors and clients; stop the service."""
        self.stop_connectors()

    # -- Capability.CLOCK -------------------------------------------------------------------

    def now(self) -> datetime:
        """The service's clock now."""
        raise NotImplementedError(self._missing("now"))

    # -- Capability.DELETIONS ----------------------------------------------------------------

    def soft_delete(self, record_id: str) -> None:
        """Delete a record the ordinary way (recycle bin, archive)."""
        raise NotImplementedError(self._missing("soft_delete"))

    def hard_delete(self, record_id: str) -> None:
        """Delete a record the other way the source knows."""
        raise NotImplementedError(self._missing("hard_delete"))

    # -- Capability.WRITES -------------------------------------------------------------------

    def has_okr_objects(self) -> bool:
        """Whether okrsync's key-result object exists in the CRM."""
        raise NotImplementedError(self._missing("has_okr_objects"))

    # -- Capability.FAULTS -------------------------------------------------------------------

    def faults(self, text: str) -> None:
        """Set the service's faults, in the sandbox's ``--faults`` language (``""``: none)."""
        raise NotImplementedError(self._missing("faults"))

    def throttle(self, text: str) -> None:
        """Set a fault spec whose ``429`` answers are the source's transient throttling."""
        self.faults(text)

    def injected(self, kind: str) -> int:
        """Faults of a kind (``429``, ``expired``, …) the service injected, by its own count."""
        raise NotImplementedError(self._missing("injected"))

    # -- Capability.QUOTA --------------------------------------------------------------------

    def quota_left(self) -> int:
        """Daily API requests the service would still serve."""
        raise NotImplementedError(self._missing("quota_left"))

    def spend_quota(self) -> None:
        """Use up the service's daily quota (behind the connector's back)."""
        raise NotImplementedError(self._missing("spend_quota"))

    # -- Capability.SESSIONS -----------------------------------------------------------------

    def expire(self, connector: Connector) -> None:
        """Make the connector's session expire (between two pages of a pull)."""
        raise NotImplementedError(self._missing("expire"))

    def renewed(self, connector: Connector) -> bool:
        """Whether the connector met an expired session and carried on."""
        raise NotImplementedError(self._missing("renewed"))
