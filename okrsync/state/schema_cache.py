"""Connectors' describes kept in the state store, so a cycle in a new process need not describe.

Each cycle checks every mapped field against the CRM's schema and the
connectors need field types to read values; asking the CRM for them every
cycle would cost one call per object on top of the one incremental query the
cycle needs. :class:`StoreSchemaCache` implements
:class:`okrsync.connector.SchemaCache` over the ``okrsync_schema_cache`` table,
one namespace per workspace and connector instance. Entries older than
``max_age`` (a day by default) read as missing, so a changed field type is
seen within a day; a field added in the CRM is seen at once, because the plan
describes again when a mapped field is missing from a cached describe; a field
removed makes the pull fail, and the engine then describes the object again.

The cache never fails a cycle: a store error reads as a miss and is logged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from okrsync.state.models import SchemaCacheRow

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

__all__ = ["SCHEMA_MAX_AGE", "StoreSchemaCache"]

SCHEMA_MAX_AGE = timedelta(days=1)
"""How long a describe is trusted before the CRM is asked again."""

log = structlog.get_logger("okrsync.state")


class StoreSchemaCache:
    """A connector instance's schema cache in the state store.

    Args:
        db: The state store.
        workspace: The workspace (stores may be shared between workspaces).
        connector: The connector instance's name.
        max_age: Entries older than this read as missing.
        clock: Where "now" comes from (default: the real UTC clock).
    """

    def __init__(
        self,
        db: Engine,
        workspace: str,
        connector: str,
        *,
        max_age: timedelta = SCHEMA_MAX_AGE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.workspace = workspace
        self.connector = connector
        self.max_age = max_age
        self.clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"StoreSchemaCache({self.workspace!r}, {self.connector!r})"

    def get(self, key: str) -> Any | None:
        """The value under ``key`` if stored within ``max_age``, else ``None``."""
        try:
            with Session(self.db) as session:
                row = session.get(SchemaCacheRow, (self.workspace, self.connector, key))
        except SQLAlchemyError as exc:
            self._failed("read", key, exc)
            return None
        if row is None:
            return None
        stored = row.stored_at if row.stored_at.tzinfo else row.stored_at.replace(tzinfo=UTC)
        age = self.clock() - stored
        if age > self.max_age or age < -self.max_age:
            return None
        return row.value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``; another replica storing the same key at once is fine."""
        row = SchemaCacheRow(
            workspace=self.workspace,
            connector=self.connector,
            key=key,
            value=value,
            stored_at=self.clock(),
        )
        try:
            with Session(self.db) as session:
                session.merge(row)
                session.commit()
        except SQLAlchemyError as exc:  # e.g. a concurrent insert of the same key
            self._failed("write", key, exc)

    def forget(self, prefix: str = "") -> None:
        """Drop the entries whose key starts with ``prefix``."""
        statement = delete(SchemaCacheRow).where(
            col(SchemaCacheRow.workspace) == self.workspace,
            col(SchemaCacheRow.connector) == self.connector,
        )
        if prefix:
            statement = statement.where(col(SchemaCacheRow.key).startswith(prefix, autoescape=True))
        try:
            with Session(self.db) as session:
                session.exec(statement)
                session.commit()
        except SQLAlchemyError as exc:
            self._failed("forget", prefix, exc)

    def _failed(self, action: str, key: str, exc: SQLAlchemyError) -> None:
        log.warning(
            "schema_cache.failed",
            connector=self.connector,
            action=action,
            key=key,
            error=type(exc).__name__,
        )
