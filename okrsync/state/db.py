"""Opening the state store and bringing its schema up to date.

Migrations are numbered steps applied in order inside one transaction each
and recorded in ``okrsync_schema_version``, so an upgrade never loses state.
A store newer than this okrsync is refused instead of being misread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event, inspect, text
from sqlmodel import Session, SQLModel, create_engine, select

from okrsync.errors import ConfigurationError
from okrsync.state.models import (
    CheckInRow,
    ContributionRow,
    CursorRow,
    EvaluationRow,
    OutboxRow,
    RunRow,
    SchemaCacheRow,
    SchemaVersionRow,
    SkippedRow,
    WrittenRow,
)
from okrsync.state.replica import ICU_FLAG, SQLITE_LOWER, python_lower

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "open_store"]

log = structlog.get_logger("okrsync.store")


def _v1(conn: Connection) -> None:
    """The first schema: every table of :mod:`okrsync.state.models`."""
    tables = [
        m.__table__  # type: ignore[union-attr]
        for m in (RunRow, CursorRow, EvaluationRow, WrittenRow, OutboxRow, CheckInRow, SkippedRow)
    ]
    SQLModel.metadata.create_all(conn, tables=tables)


def _v2(conn: Connection) -> None:
    """Runs remember the CRM quota last reported (``okrsync status`` shows it)."""
    if "quota" not in {c["name"] for c in inspect(conn).get_columns("okrsync_run")}:
        conn.execute(text("ALTER TABLE okrsync_run ADD COLUMN quota JSON"))


def _v3(conn: Connection) -> None:
    """Describes kept across processes; evaluations reused while nothing they depend on changed."""
    SQLModel.metadata.create_all(conn, tables=[SchemaCacheRow.__table__])  # type: ignore[attr-defined]
    columns = {c["name"] for c in inspect(conn).get_columns("okrsync_cursor")}
    if "changed_run" not in columns:
        conn.execute(text("ALTER TABLE okrsync_cursor ADD COLUMN changed_run VARCHAR(32)"))
    if "basis" not in {c["name"] for c in inspect(conn).get_columns("okrsync_evaluation")}:
        conn.execute(text("ALTER TABLE okrsync_evaluation ADD COLUMN basis VARCHAR(64)"))
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_okrsync_evaluation_basis ON okrsync_evaluation (basis)")
    )


def _v4(conn: Connection) -> None:
    """Per-owner values and contributions of each run (breakdowns, personal key results)."""
    SQLModel.metadata.create_all(conn, tables=[ContributionRow.__table__])  # type: ignore[attr-defined]


def _v5(conn: Connection) -> None:
    """Cursors keep the fields and filter they pulled, so a mapping edit pulls only what it adds."""
    if "pulled" not in {c["name"] for c in inspect(conn).get_columns("okrsync_cursor")}:
        conn.execute(text("ALTER TABLE okrsync_cursor ADD COLUMN pulled JSON"))


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5]
"""Step n (1-based) brings the schema from version n-1 to n. Only ever append.

``_v1`` creates the tables as the models are now, so every later step must be
idempotent (add a column only when it is missing)."""
SCHEMA_VERSION = len(MIGRATIONS)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function(SQLITE_LOWER, 1, python_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _icu(dialect: Any, dbapi_connection: Any, _record: Any) -> None:
    """Note whether the server can lower text by Unicode's rules whatever its locale."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'")
    row = cursor.fetchone()
    cursor.close()
    setattr(dialect, ICU_FLAG, bool(row and row[0]))


def open_store(url: str) -> Engine:
    """An engine for the store at ``url`` (schema migrated).

    SQLite files get WAL journaling, so the daemon's HTTP endpoints can read
    while a cycle writes. A SQLite file created here is logged
    (``store.created``) with its absolute path: a relative one is relative to
    the working directory.
    """
    engine = create_engine(url, pool_pre_ping=True)
    created: Path | None = None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).absolute()
            created = None if path.exists() else path
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "first_connect", partial(_icu, engine.dialect))
    migrate(engine)
    if created is not None:
        log.info(
            "store.created",
            path=str(created),
            hint="the state store is set by store_url (OKRSYNC_STORE_URL); "
            "a relative SQLite path is from the working directory",
        )
    return engine


def migrate(engine: Engine) -> int:
    """Apply pending migrations; return the schema version now in force."""
    SQLModel.metadata.create_all(engine, tables=[SchemaVersionRow.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        done = session.exec(select(SchemaVersionRow.version)).all()
    current = max(done, default=0)
    if current > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the state store has schema version {current}, newer than this okrsync "
            f"understands ({SCHEMA_VERSION}); upgrade okrsync"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # one migrator at a time when several replicas start together
                conn.execute(text("SELECT pg_advisory_xact_lock(7254001)"))
                already = conn.execute(
                    text("SELECT 1 FROM okrsync_schema_version WHERE version = :v"), {"v": version}
                ).first()
                if already:
                    continue
            MIGRATIONS[version - 1](conn)
            conn.execute(
                SchemaVersionRow.__table__.insert().values(  # type: ignore[attr-defined]
                    version=version, applied_at=datetime.now(UTC)
                )
            )
    return SCHEMA_VERSION


def table_names(engine: Engine) -> list[str]:
    """Tables present in the store (for tests and diagnostics)."""
    return sorted(inspect(engine).get_table_names())
