"""The database: one SQLAlchemy engine, read-only sessions, retried calls, counted statements.

Sessions are read-only where the database can say so (PostgreSQL
``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY``, SQLite ``PRAGMA
query_only``), so the connector cannot change the source whatever happens.
``timeout_seconds`` bounds connecting and, on PostgreSQL, each statement
(``statement_timeout``). Both are set by statements on each new connection
rather than as connection options, which poolers such as PgBouncer refuse.
Every call runs under the kit's retry policy: a dropped connection or a
restarting server is retried, anything else fails at once
(:func:`okrsync_sql._errors.classify`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from okrsync.config import env_var_name
from okrsync.errors import ConnectorError, FatalConnectorError
from okrsync.kit import Redactor, RetryPolicy
from okrsync_sql._errors import CRM, classify, url_redactor

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import URL, Connection

    from okrsync_sql._plugin import SqlSettings

__all__ = ["Database"]

T = TypeVar("T")

_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi"})
_MIN_CONNECT_TIMEOUT = 2  # libpq's least connect_timeout


def _connect_args(url: URL, settings: SqlSettings, instance: str) -> dict[str, Any]:
    """What the driver is told on connecting: how long to wait, who connects."""
    connect_seconds, statement_seconds = settings.timeouts
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {"timeout": statement_seconds}
    if backend == "postgresql" and url.get_driver_name() in _LIBPQ_DRIVERS:
        return {
            "connect_timeout": max(_MIN_CONNECT_TIMEOUT, math.ceil(connect_seconds)),
            "application_name": f"okrsync {instance}"[:63],
        }
    return {}


def _session(backend: str, statement_seconds: float) -> list[str]:
    """Statements making a new connection's session read-only (and PostgreSQL's bounded in time)."""
    if backend == "sqlite":
        return ["PRAGMA query_only = ON"]
    if backend == "postgresql":
        return [
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            f"SET statement_timeout = {int(statement_seconds * 1000)}",
        ]
    return []


def _on_connect(statements: list[str]) -> Callable[[Any, Any], None]:
    """A ``connect`` listener running ``statements`` on each new connection, kept by a commit."""

    def prepare(dbapi_connection: Any, connection_record: Any) -> None:
        del connection_record
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # a session setting made in a transaction lasts once committed

    return prepare


class Database:
    """The source database of one connector instance.

    Nothing connects until the first call. A connector whose settings hold no
    URL, or a URL whose driver is not installed, fails then, with the reason:
    the other connectors of a run are not held up by it.
    """

    def __init__(self, instance: str, settings: SqlSettings) -> None:
        self.instance = instance
        self.settings = settings
        self.calls = 0
        self.log = structlog.get_logger("okrsync.sql").bind(crm=CRM, connector=instance)
        self.policy = RetryPolicy.of(settings)
        text = settings.url.get_secret_value() if settings.url is not None else ""
        self.redact = url_redactor(text) if text else Redactor()
        self.url = make_url(text) if text else None
        self.dialect = self.url.get_backend_name() if self.url is not None else ""
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        """The engine, made on first use.

        Raises:
            FatalConnectorError: The settings hold no URL, or its driver is not installed.
        """
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    def _make_engine(self) -> sa.Engine:
        url, settings = self.url, self.settings
        if url is None:
            variable = env_var_name(("connectors", self.instance, "url"))
            raise FatalConnectorError(
                f"the sql connector `{self.instance}` has no database URL: set {variable} "
                f"(or {variable}_FILE) to a SQLAlchemy URL",
                crm=CRM,
                code="NO_URL",
            )
        options: dict[str, Any] = {
            "pool_pre_ping": True,
            "connect_args": _connect_args(url, settings, self.instance),
        }
        if self.dialect != "sqlite":  # SQLite's own pools take no sizes
            options |= {
                "pool_size": settings.pool_size,
                "max_overflow": 0,
                "pool_timeout": settings.timeout_seconds,
                "pool_recycle": settings.pool_recycle_seconds,
            }
        try:
            engine = sa.create_engine(url, **options)
        except (sa_exc.NoSuchModuleError, ImportError) as exc:
            raise FatalConnectorError(
                f"cannot load the database driver of `{url.drivername}`: {self.redact(str(exc))}; "
                "install it beside okrsync (PostgreSQL's, psycopg, comes with it: "
                "postgresql+psycopg://…)",
                crm=CRM,
                code="NO_DRIVER",
            ) from None
        except sa_exc.ArgumentError as exc:
            raise FatalConnectorError(
                f"the database URL is not usable: {self.redact(str(exc))}", crm=CRM, code="BAD_URL"
            ) from None
        event.listen(engine, "before_cursor_execute", self._count)
        if session := _session(self.dialect, settings.timeouts[1]):
            event.listen(engine, "connect", _on_connect(session))
        return engine

    def _count(self, *args: Any) -> None:
        del args
        self.calls += 1

    def run(self, what: str, fn: Callable[[Connection], T], *, object_name: str = "") -> T:
        """``fn`` on a connection, retried after passing failures; errors as okrsync's kinds.

        Raises:
            LookupError: ``fn`` found no such table (from :func:`okrsync_sql._schema.reflect`).
            ConnectorError: The call failed (retriable ones after the last retry).
        """
        engine = self.engine

        def attempt() -> T:
            try:
                with engine.connect() as conn:
                    return fn(conn)
            except (LookupError, ConnectorError):
                raise
            except sa_exc.SQLAlchemyError as exc:
                raise classify(
                    exc, what=what, redact=self.redact, object_name=object_name
                ) from None

        return self.policy.call(
            attempt, what=what, log=self.log, redact=self.redact, object_name=object_name
        )

    def close(self) -> None:
        """Close the pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
