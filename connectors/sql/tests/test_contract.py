"""The connector contract suite (:mod:`okrsync.testing.contract`) against real databases.

The same driver runs it against a SQLite file and against the PostgreSQL
server the scale-out tests start (a fresh database per test). The connector is
read-only: the write tests are not applicable (no ``writes`` capability) and
the read-only test checks that it refuses. It sees soft deletes (a ``deleted``
flag) with the changes and hard deletes by id reconciliation, which the
driver makes run on every pull (``deletion_check_seconds: 0``).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from okrsync.testing.contract import ConnectorContract
from okrsync.testing.driver import AS_OF, CLOSE, RECORDS, Capability, Driver
from okrsync.testing.postgres import fresh_database
from okrsync_sql import SqlSettings, plugin

from .deals import FIRST_ID, Deals, row, ticking

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from okrsync.connector import Connector, SchemaCache


class SqliteDriver(Driver):
    """Deals in a SQLite file, changed through SQLAlchemy behind the connector's back."""

    name = "sql"
    capabilities = frozenset({Capability.DELETIONS})
    object_name = "deals"
    fields = ("amount", "close_date", "is_won", "stage")

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.clock = ticking(AS_OF)
        self.deals: Deals  # made by start()
        self.statements = 0
        self._stack = contextlib.ExitStack()
        self._url = ""

    def database(self) -> str:
        """A new database's URL."""
        return f"sqlite:///{self.workdir / 'source.db'}"

    def start(self, records: int = RECORDS, *, quota: int | None = None) -> None:
        """The table with seeded deals (a database has no daily quota)."""
        assert quota is None
        self._url = self.database()
        self.deals = Deals(self._url, self.clock)
        self.deals.create(records, self.seeded)
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._count)
        self._stack.callback(
            sa.event.remove, sa.engine.Engine, "before_cursor_execute", self._count
        )

    def _count(self, conn: sa.Connection, *args: Any) -> None:
        del args
        if (
            conn.engine is not self.deals.engine
            and conn.engine.url.database == sa.make_url(self._url).database
        ):
            self.statements += 1

    def _connect(
        self,
        *,
        renewable: bool,
        reserve_percent: float | None,
        max_retries: int | None,
        backoff_seconds: float | None,
        schema_cache: SchemaCache | None,
    ) -> Connector:
        del renewable, reserve_percent  # no sessions to renew, no quota
        settings = SqlSettings(
            url=SecretStr(self._url),
            page_size=self.page_size,
            deleted_column="deleted",
            deletion_check_seconds=0,
            timeout_seconds=10,
            max_retries=3 if max_retries is None else max_retries,
            retry_backoff_seconds=0.01 if backoff_seconds is None else backoff_seconds,
            retry_max_wait_seconds=0.05,
        )
        return plugin.connect("sql", settings, clock=self.clock, schema_cache=schema_cache)

    def record_id(self, i: int) -> str:
        """Deal ``1000 + i``."""
        return str(FIRST_ID + i)

    def expected(self, i: int) -> dict[str, Any]:
        """NUMERIC as float, DATE as date, BOOLEAN as bool, the stage as text."""
        return {
            "Id": self.record_id(i),
            "amount": 1000 + i * 10.5,
            "close_date": CLOSE + timedelta(days=i % 60),
            "is_won": i % 3 == 0,
            "stage": "Closed Won" if i % 3 == 0 else "Prospecting",
        }

    def insert(self, count: int) -> list[str]:
        """Insert deals; the database makes their ids."""
        return self.deals.insert(count)

    def update(self, ids: Sequence[str]) -> None:
        """Set their amounts (and stamps)."""
        self.deals.update(ids)

    def soft_delete(self, record_id: str) -> None:
        """Set the deal's `deleted` flag."""
        self.deals.soft_delete(record_id)

    def hard_delete(self, record_id: str) -> None:
        """DELETE the row."""
        self.deals.hard_delete(record_id)

    def bulk_insert(self, count: int, after: str) -> list[str]:
        """Deals a second apart, the first a second after ``after``."""
        start = datetime.fromisoformat(after) + timedelta(seconds=1)
        base = 100_000 + self._loads * 20_000
        self._loads += 1
        rows = [row(i, start + timedelta(seconds=i), ident=base + i) for i in range(count)]
        self.deals.load(rows)
        return [str(r["id"]) for r in rows]

    def served(self, endpoint: str | None = None) -> int:
        """Statements the database ran for the connectors."""
        del endpoint
        return self.statements

    def close(self) -> None:
        """Close the connectors and the writer."""
        self.stop_connectors()
        if hasattr(self, "deals"):
            self.deals.close()
        self._stack.close()


class PostgresDriver(SqliteDriver):
    """The same deals in a fresh database of the test PostgreSQL server."""

    server: ClassVar[str] = ""

    def database(self) -> str:
        """A database of its own, dropped when the driver closes."""
        assert self.server, "the postgres_url fixture sets the server"
        return self._stack.enter_context(fresh_database(self.server, "okrsync_sql"))


class TestSqliteContract(ConnectorContract):
    """The connector contract, for the sql connector over SQLite."""

    driver_class = SqliteDriver


@pytest.mark.postgres
class TestPostgresContract(ConnectorContract):
    """The connector contract, for the sql connector over PostgreSQL."""

    driver_class = PostgresDriver

    @pytest.fixture(autouse=True)
    def _server(self, postgres_url: str) -> None:
        PostgresDriver.server = postgres_url
