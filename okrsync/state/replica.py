"""The replica: the CRM rows okrsync needs, one typed table per connector and object.

Metrics are computed as SQL over these tables. Dates and datetimes are kept
as ISO text in UTC (``2026-07-01``, ``2026-07-01T10:00:00.000Z``), so their
calendar date is the first ten characters on every database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql.compiler import SQLCompiler

    from okrsync.connector import FieldInfo

__all__ = [
    "SQLITE_LOWER",
    "Replica",
    "ReplicaTable",
    "column_name",
    "index_name",
    "python_lower",
    "table_name",
    "to_replica",
    "unicode_lower",
]

SQLITE_LOWER = "okrsync_lower"
"""The SQL function :func:`~okrsync.state.db.open_store` gives SQLite connections."""
ICU_FLAG = "okrsync_icu"
"""Set on a PostgreSQL dialect whose server has the ICU root collation ``und-x-icu``."""


def python_lower(text: str | None) -> str | None:
    """``text`` in lower case by Unicode's rules (SQLite's ``lower`` folds ASCII only)."""
    return text.lower() if isinstance(text, str) else text


class unicode_lower(FunctionElement[str]):  # noqa: N801  (an SQL function, named as one)
    """``lower()`` by Unicode's rules on every database.

    SQLite's ``lower`` changes ASCII letters only, so SQLite calls
    :func:`python_lower`; PostgreSQL's follows the database's locale (ASCII
    only under ``C``), so it lowers under the ICU root collation when the server
    has one.
    """

    type = sa.Text()
    name = "unicode_lower"
    inherit_cache = True


@compiles(unicode_lower)
def _lower(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _lower_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "postgresql")
def _lower_postgresql(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    if getattr(compiler.dialect, ICU_FLAG, False):
        return f'lower(({argument}) COLLATE "und-x-icu")'
    return f"lower({argument})"


ID = "id"
_NUMBER_TYPES = {"double", "currency", "percent"}


def _slug(text: str, size: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:size]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:8]


def table_name(connector: str, obj: str) -> str:
    """Table of an object's replica (readable, unique, within PostgreSQL's 63 characters)."""
    return f"replica_{_slug(connector, 16)}_{_slug(obj, 24)}_{_digest(connector, obj)}"


INDEX_PREFIX = "okrsync_ix_"
"""Names of the indexes okrsync keeps on replica tables start so."""


def index_name(table: str, column: str) -> str:
    """The index okrsync keeps on one column of a replica table."""
    return f"{INDEX_PREFIX}{_slug(column, 24)}_{_digest(table, column)}"


def column_name(field_name: str) -> str:
    """Column of a CRM field (``Owner.Email`` → ``f_owner_email_1a2b3c4d``)."""
    return f"f_{_slug(field_name, 40)}_{_digest(field_name)}"


def _sql_type(info: FieldInfo) -> sa.types.TypeEngine[Any]:
    if info.type in _NUMBER_TYPES:
        return sa.Float()
    if info.type == "int":
        return sa.BigInteger()
    if info.type == "boolean":
        return sa.Boolean()
    return sa.Text()


def to_replica(value: Any) -> Any:
    """A Python value as the replica keeps it."""
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class ReplicaTable:
    """The replica of one object."""

    connector: str
    obj: str
    table: sa.Table
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    """By field name as the mapping writes it (case preserved)."""

    def column(self, name: str) -> sa.Column[Any]:
        """The column of a field (any letter case); ``KeyError`` when not replicated."""
        for known in self.fields:
            if known.lower() == name.lower():
                return self.table.c[column_name(known)]
        raise KeyError(name)

    def info(self, name: str) -> FieldInfo:
        """The CRM's description of a replicated field (any letter case)."""
        for known, info in self.fields.items():
            if known.lower() == name.lower():
                return info
        raise KeyError(name)

    def upsert(self, conn: Connection, records: Sequence[Mapping[str, Any]]) -> int:
        """Insert or replace records (each with ``Id`` and the replicated fields)."""
        if not records:
            return 0
        rows = []
        for record in records:
            row = {ID: str(record["Id"])}
            for name in self.fields:
                row[column_name(name)] = to_replica(record.get(name))
            rows.append(row)
        dialect = conn.dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(self.table)
        update = {c: insert.excluded[c] for c in rows[0] if c != ID}
        statement = (
            insert.on_conflict_do_update(index_elements=[ID], set_=update)
            if update
            else insert.on_conflict_do_nothing(index_elements=[ID])
        )
        conn.execute(statement, rows)
        return len(rows)

    def delete(self, conn: Connection, ids: Iterable[str]) -> int:
        """Remove records by CRM id; return how many were there."""
        wanted = list(ids)
        if not wanted:
            return 0
        result = conn.execute(self.table.delete().where(self.table.c[ID].in_(wanted)))
        return int(result.rowcount or 0)

    def clear(self, conn: Connection) -> int:
        """Remove every record (a pull that starts over); return how many were there."""
        result = conn.execute(self.table.delete())
        return int(result.rowcount or 0)

    def count(self, conn: Connection) -> int:
        """Records in the replica."""
        return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())


class Replica:
    """All replicated objects of a state store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        self._tables: dict[tuple[str, str], ReplicaTable] = {}

    def ensure(
        self,
        connector: str,
        obj: str,
        fields: Mapping[str, FieldInfo],
        indexed: Iterable[str] = (),
    ) -> ReplicaTable:
        """The replica table of an object with at least ``fields``, created or extended.

        ``indexed``: the fields to keep an index on (the metrics' window dates:
        an evaluation reads only the rows of its windows); indexes okrsync made
        on other columns are dropped, since each one slows every pull down.
        """
        name = table_name(connector, obj)
        columns = {column_name(f): (f, info) for f, info in fields.items()}
        inspector = sa.inspect(self.engine)
        with self.engine.begin() as conn:
            if not inspector.has_table(name):
                table = sa.Table(
                    name,
                    sa.MetaData(),
                    sa.Column(ID, sa.Text(), primary_key=True),
                    *(sa.Column(c, _sql_type(info)) for c, (_, info) in columns.items()),
                )
                table.create(conn)
                present_indexes: set[str] = set()
            else:
                present = {c["name"] for c in inspector.get_columns(name)}
                for column, (_, info) in columns.items():
                    if column not in present:
                        kind = _sql_type(info).compile(dialect=conn.dialect)
                        conn.execute(sa.text(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {kind}'))
                present_indexes = {
                    str(ix["name"])
                    for ix in inspector.get_indexes(name)
                    if str(ix["name"]).startswith(INDEX_PREFIX)
                }
            wanted = {index_name(name, column_name(f)): column_name(f) for f in indexed}
            for index, column in sorted(wanted.items()):
                if index not in present_indexes:
                    conn.execute(
                        sa.text(f'CREATE INDEX IF NOT EXISTS "{index}" ON "{name}" ("{column}")')
                    )
            for index in sorted(present_indexes - set(wanted)):
                conn.execute(sa.text(f'DROP INDEX IF EXISTS "{index}"'))
        known = self._tables.get((connector, obj))
        merged = {**(known.fields if known else {}), **fields}
        # the columns this process uses, as it made them (no reflection of the table)
        table = sa.Table(
            name,
            sa.MetaData(),
            sa.Column(ID, sa.Text(), primary_key=True),
            *(sa.Column(column_name(f), _sql_type(info)) for f, info in merged.items()),
        )
        replica = ReplicaTable(connector, obj, table, merged)
        self._tables[connector, obj] = replica
        return replica

    def get(self, connector: str, obj: str) -> ReplicaTable | None:
        """The replica of an object ensured in this process, if any."""
        return self._tables.get((connector, obj))

    def clear(self, connector: str, obj: str) -> None:
        """Forget every row of an object (before a fresh full pull)."""
        replica = self._tables.get((connector, obj))
        if replica is not None:
            with self.engine.begin() as conn:
                conn.execute(replica.table.delete())
