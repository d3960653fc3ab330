"""The connector contract suite run against the in-memory reference connector.

It shows the suite needs no CRM: :class:`~okrsync.testing.InMemoryConnector`
must pass every test its capabilities make applicable, and a read-only source
(as a SQL connector is) passes the pull tests and refuses writes. Each CRM's
connector runs the same suite from its own tests with its own driver.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from okrsync.connector import FieldInfo
from okrsync.errors import FatalConnectorError
from okrsync.testing import Capability, Driver, InMemoryConnector
from okrsync.testing.contract import ConnectorContract
from okrsync.testing.driver import CLOSE, NEW_AMOUNT, RECORDS

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from pathlib import Path

    from okrsync.connector import Connector, LogicalObject, SchemaCache, UpsertOutcome

DEALS = {
    "amount": FieldInfo("amount", "currency"),
    "close": FieldInfo("close", "date"),
    "won": FieldInfo("won", "boolean"),
    "stage": FieldInfo("stage", "picklist"),
}


class ReadOnlyConnector(InMemoryConnector):
    """An in-memory source okrsync only reads (nothing of okrsync's is written to it)."""

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Refuse: a read-only source holds no okrsync records."""
        del records
        raise FatalConnectorError(
            f"{self.name} is a read-only source: it cannot hold {obj.plural}; "
            "publish its key results to a CRM with `publish_to`",
            crm=self.name,
        )


class MemoryDriver(Driver):
    """Deals in an in-memory CRM; a write call carries at most 50 records."""

    name = "memory"
    capabilities = frozenset({Capability.WRITES, Capability.DELETIONS})
    object_name = "deals"
    fields = ("amount", "close", "won", "stage")
    batch_limit = 50
    write_endpoint = "write"
    connector_class: type[InMemoryConnector] = InMemoryConnector

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.crm: InMemoryConnector | None = None

    @property
    def memory(self) -> InMemoryConnector:
        """The started CRM."""
        assert self.crm is not None
        return self.crm

    def start(self, records: int = RECORDS, *, quota: int | None = None) -> None:
        """A CRM holding the seeded deals (no quota in memory)."""
        assert quota is None
        self.crm = self.connector_class(
            self.name,
            objects={self.object_name: DEALS},
            page_size=self.page_size,
            batch_size=self.batch_limit,
        )
        for i in range(records):
            self.memory.put(self.object_name, self._row(self.record_id(i), i))

    def _row(self, record_id: str, i: int) -> dict[str, Any]:
        return {"Id": record_id} | {k: v for k, v in self.expected(i).items() if k != "Id"}

    def seeded(self, i: int) -> datetime:
        """The in-memory stamp of seeded record ``i`` (they move forward a millisecond a change)."""
        return self.memory.stamps[self.object_name, self.record_id(i)]

    def record_id(self, i: int) -> str:
        """``deal-00042``."""
        return f"deal-{i:05d}"

    def expected(self, i: int) -> dict[str, Any]:
        """The values as stored: typed already."""
        return {
            "Id": self.record_id(i),
            "amount": 1000 + i * 10.5,
            "close": CLOSE + timedelta(days=i % 60),
            "won": i % 3 == 0,
            "stage": "Closed Won" if i % 3 == 0 else "Prospecting",
        }

    def _connect(
        self,
        *,
        renewable: bool,
        reserve_percent: float | None,
        max_retries: int | None,
        backoff_seconds: float | None,
        schema_cache: SchemaCache | None,
    ) -> Connector:
        del renewable, reserve_percent, max_retries, backoff_seconds, schema_cache
        return self.memory  # the CRM and its connector are one object in memory

    def insert(self, count: int) -> list[str]:
        """New deals with ids the CRM makes."""
        return [
            self.memory.put(self.object_name, {"amount": 500.0 + n, "stage": "Prospecting"})
            for n in range(count)
        ]

    def update(self, ids: Sequence[str]) -> None:
        """Set the amounts."""
        for record_id in ids:
            self.memory.put(self.object_name, {"Id": record_id, "amount": NEW_AMOUNT})

    def soft_delete(self, record_id: str) -> None:
        """Remove the deal."""
        self.memory.remove(self.object_name, record_id)

    def hard_delete(self, record_id: str) -> None:
        """Remove the deal (memory knows one way)."""
        self.memory.remove(self.object_name, record_id)

    def bulk_insert(self, count: int, after: str) -> list[str]:
        """Deals stamped after everything so far (so after ``after``)."""
        del after  # in-memory stamps only move forward
        base = 100_000 + self._loads * 20_000
        self._loads += 1
        return [
            self.memory.put(self.object_name, self._row(f"deal-{base + i}", i))
            for i in range(count)
        ]

    def served(self, endpoint: str | None = None) -> int:
        """Calls made, or write calls (``write``)."""
        return len(self.memory.writes) if endpoint == self.write_endpoint else self.memory.calls

    def has_okr_objects(self) -> bool:
        """Whether provisioning noted the key-result object."""
        return "key_result" in self.memory.okr


class ReadOnlyDriver(MemoryDriver):
    """The same deals in a source okrsync only reads, which sees no deletions."""

    name = "memory-read-only"
    capabilities = frozenset()
    connector_class = ReadOnlyConnector


class TestInMemoryContract(ConnectorContract):
    """The connector contract, for the in-memory reference connector."""

    driver_class = MemoryDriver


class TestReadOnlyContract(ConnectorContract):
    """The connector contract, for a read-only source."""

    driver_class = ReadOnlyDriver
