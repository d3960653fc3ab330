"""The sql connector: okrsync's ``Connector`` protocol over any SQLAlchemy database, read only.

Build one with :meth:`okrsync_sql.SqlPlugin.connect` or directly::

    connector = SqlConnector("warehouse", SqlSettings(url=SecretStr("postgresql+psycopg://…")))
    pull = connector.pull("customer_activity", ["signed_on", "active_days"], (), Cursor())
    for page in pull:
        ...
    cursor = pull.cursor

Tables and views are objects and their columns fields (:mod:`okrsync_sql._schema`);
how pulls page, window and find deletions is told in :mod:`okrsync_sql._pull`.
Nothing is ever written to the database: :meth:`SqlConnector.write`,
:meth:`~SqlConnector.provision` and :meth:`~SqlConnector.read_back` refuse, and
key results read from it are published to a CRM with ``publish_to``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from okrsync.connector import Usage
from okrsync.errors import FatalConnectorError
from okrsync_sql._db import Database
from okrsync_sql._errors import CRM
from okrsync_sql._pull import PullSpec, SqlPull
from okrsync_sql._schema import Source, reflect

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from okrsync.connector import (
        Change,
        Cursor,
        LogicalObject,
        ObjectInfo,
        RowFilter,
        UpsertOutcome,
    )
    from okrsync_sql._plugin import SqlSettings

__all__ = ["READ_ONLY", "SqlConnector"]

READ_ONLY = "the sql connector is read-only: publish key results from it to a CRM with `publish_to`"
"""What a write, a provisioning or a read-back is told."""


class SqlConnector:
    """One database, read through SQLAlchemy; it only pulls.

    Args:
        name: The connector instance's name (``sql``, ``warehouse``).
        settings: Its validated settings.
        clock: Where "now" comes from (default: the real UTC clock): when a pull
            starts, for its window and the deletion-check cadence.

    Nothing connects until the first call; settings without a URL, or a URL
    whose driver is not installed, fail then (``FatalConnectorError``).
    """

    def __init__(
        self,
        name: str,
        settings: SqlSettings,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self._settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._zone = ZoneInfo(settings.timezone)
        self._db = Database(name, settings)
        self._sources: dict[str, Source] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqlConnector({self.name!r}, {self._db.dialect})"

    # -- objects --------------------------------------------------------------------

    def _source(self, object_name: str, *, refresh: bool = False) -> Source:
        with self._lock:
            found = None if refresh else self._sources.get(object_name)
        if found is None:
            found = self._db.run(
                f"describe {object_name}",
                lambda conn: reflect(conn, self._settings, self.name, object_name, self._zone),
                object_name=object_name,
            )
            with self._lock:
                self._sources[object_name] = found
        return found

    def describe(self, object_name: str, *, refresh: bool = False) -> ObjectInfo:
        """The columns of the table or view ``object_name`` as fields, with normalised types.

        Kept for the life of the connector; ``refresh`` reads the database's catalog again.

        Raises:
            LookupError: The schema has no such table or view.
            FatalConnectorError: The object's settings name a column it lacks, or
                no column identifies a row.
        """
        return self._source(object_name, refresh=refresh).info

    # -- pull -------------------------------------------------------------------------

    def pull(
        self,
        object_name: str,
        fields: Sequence[str],
        filters: RowFilter,
        cursor: Cursor,
    ) -> SqlPull:
        """Rows of an object changed since ``cursor`` and ids deleted since; lazy pages.

        Raises:
            FatalConnectorError: A field or filter names no column of the object
                (or the object is missing).
        """
        try:
            source = self._source(object_name)
        except LookupError:
            raise FatalConnectorError(
                f"no table or view `{object_name}` in the database",
                crm=CRM,
                object_name=object_name,
                code="NO_SUCH_TABLE",
            ) from None
        named = [*fields, *(p.field for group in filters for p in group)]
        if missing := [n for n in dict.fromkeys(named) if source.info.field(n) is None]:
            raise FatalConnectorError(
                f"{source.where} has no column {', '.join(f'`{n}`' for n in missing)}",
                crm=CRM,
                object_name=object_name,
                code="NO_SUCH_COLUMN",
            )
        spec = PullSpec(
            source=source,
            fields=tuple(dict.fromkeys(fields)),
            filters=filters,
            cursor=cursor,
            page_size=self._settings.page_size,
            lookback=timedelta(seconds=self._settings.lookback_seconds),
            deletion_interval=timedelta(seconds=self._settings.deletion_check_seconds),
            clock=self._clock,
        )
        return SqlPull(self._db, spec, connector=self.name)

    # -- okrsync's objects: none here ---------------------------------------------------

    def _refuse(self, what: str, obj: LogicalObject | None = None) -> FatalConnectorError:
        return FatalConnectorError(
            f"{READ_ONLY} (asked to {what})",
            crm=CRM,
            object_name=obj.name if obj is not None else "",
            code="READ_ONLY",
        )

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Refuse: a read-only source holds no okrsync records."""
        raise self._refuse(f"write {len(records)} {obj.plural}", obj)

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Refuse: a read-only source holds no okrsync records."""
        raise self._refuse(f"read back {len(keys)} {obj.plural}", obj)

    def provision(self, objects: Sequence[LogicalObject], *, dry_run: bool = False) -> list[Change]:
        """Refuse: okrsync's objects are never created in a read-only source."""
        del dry_run
        raise self._refuse(f"provision {', '.join(o.plural for o in objects)}")

    def physical_name(self, obj: str, logical_field: str | None = None) -> str:
        """Names as they are (the source has none of okrsync's objects)."""
        return obj if logical_field is None else logical_field

    def resolve_owner(self, email: str) -> str | None:
        """No owners in a database: ``None``."""
        del email
        return None

    # -- health and usage ---------------------------------------------------------------

    def whoami(self) -> str:
        """Which database, server and user the connector reaches (for ``okrsync doctor``).

        Raises:
            ConnectorError: The database cannot be reached or refuses the credentials.
        """

        def ask(conn: sa.Connection) -> str:
            conn.execute(sa.select(sa.literal(1))).scalar_one()
            version = ".".join(str(p) for p in conn.dialect.server_version_info or ())
            url = conn.engine.url
            where = url.database or ""
            if url.host:
                where = f"{url.host}:{url.port or ''}/{where}".replace(":/", "/")
            who = f" as {url.username}" if url.username else ""
            schema = self._settings.schema_ or conn.dialect.default_schema_name or ""
            return f"{conn.dialect.name} {version} at {where}{who}" + (
                f", schema {schema}" if schema else ""
            )

        return self._db.run("reach the database", ask)

    def usage(self) -> Usage:
        """Statements sent to the database (a database has no daily quota)."""
        return Usage(self._db.calls)

    def close(self) -> None:
        """Close the pooled connections."""
        self._db.close()
