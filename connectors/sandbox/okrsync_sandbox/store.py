"""A record store on SQLite for the sandbox CRMs.

Each emulator keeps its objects here: one table per object, typed columns,
soft deletion, lookups through reference columns (``Owner.Email``), filters
given as a small condition tree, aggregates, and paging without loading an
object into memory. The file lives in a temporary folder; every thread gets
its own connection.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = [
    "DELETED_AT",
    "FOLD",
    "And",
    "Cmp",
    "Column",
    "Cond",
    "FieldType",
    "Not",
    "Or",
    "OrderBy",
    "Store",
    "TableSchema",
    "UnknownField",
    "fold",
    "from_storage",
    "to_storage",
]


class FieldType(StrEnum):
    """Field types, named as Salesforce's describe names them."""

    ID = "id"
    STRING = "string"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    PICKLIST = "picklist"
    BOOLEAN = "boolean"
    INT = "int"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    REFERENCE = "reference"


_NUMERIC = {FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}
_AFFINITY = {
    FieldType.BOOLEAN: "INTEGER",
    FieldType.INT: "INTEGER",
    FieldType.DOUBLE: "REAL",
    FieldType.CURRENCY: "REAL",
    FieldType.PERCENT: "REAL",
}


@dataclass(frozen=True, slots=True)
class Column:
    """One field of an object."""

    name: str
    type: FieldType
    label: str = ""
    nullable: bool = True
    unique: bool = False
    """Values are unique (an external id, HubSpot's ``hasUniqueValue``)."""
    external_id: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    """For a reference: the name of the relationship (``Owner`` for ``OwnerId``)."""
    picklist: tuple[str, ...] = ()
    custom: bool = False
    writable: bool = True
    """Clients may set it (system fields are not)."""
    length: int = 255

    @property
    def numeric(self) -> bool:
        """Whether values are numbers."""
        return self.type in _NUMERIC


@dataclass(slots=True)
class TableSchema:
    """An object: its name and fields (names compared case-insensitively)."""

    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    label: str = ""
    custom: bool = False
    key: str = "Id"

    def __post_init__(self) -> None:
        self.columns = {c.name.lower(): c for c in self.columns.values()}

    @classmethod
    def of(cls, name: str, columns: Iterable[Column], **kwargs: Any) -> TableSchema:
        """A schema from a list of columns."""
        return cls(name, {c.name.lower(): c for c in columns}, **kwargs)

    def column(self, name: str) -> Column | None:
        """The column called ``name`` in any letter case."""
        return self.columns.get(name.lower())

    def relationship(self, name: str) -> Column | None:
        """The reference column whose relationship is called ``name``."""
        low = name.lower()
        for column in self.columns.values():
            if column.relationship_name and column.relationship_name.lower() == low:
                return column
        return None


class UnknownField(LookupError):  # noqa: N818  (named for what it reports)
    """A field path that the object does not have."""

    def __init__(self, table: str, path: str) -> None:
        super().__init__(f"No such column '{path}' on entity '{table}'")
        self.table = table
        self.path = path


FOLD = "okrsync_fold"
"""SQL function: text in lower case by Unicode's rules (SQLite's ``lower`` and ``LIKE``
fold ASCII letters only)."""


def fold(text: str | float | None) -> str | float | None:
    """``text`` in lower case by Unicode's rules (other values unchanged): the store's ``FOLD``."""
    return text.lower() if isinstance(text, str) else text


DELETED_AT = "_deleted_at"
"""Pseudo-field: when a row was soft-deleted (selectable and filterable)."""

Op = Literal["=", "!=", "<", "<=", ">", ">=", "like", "in", "not in"]


@dataclass(frozen=True, slots=True)
class Cmp:
    """``field op value``; ``= None`` / ``!= None`` test for null; ``in`` takes a tuple."""

    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class And:
    """All of the conditions."""

    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of the conditions."""

    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The condition does not hold."""

    item: Cond


Cond = Cmp | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderBy:
    """A sort key: a field path, ascending or not, nulls first or last."""

    field: str
    ascending: bool = True
    nulls_first: bool | None = None


def to_storage(value: Any, kind: FieldType | None = None) -> Any:
    """A Python value as stored: dates ISO, datetimes ISO UTC with milliseconds, booleans 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        stamp = moment.astimezone(UTC)
        if kind is FieldType.DATE:
            return stamp.date().isoformat()
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        if kind is FieldType.DATETIME:
            return to_storage(datetime(value.year, value.month, value.day, tzinfo=UTC))
        return value.isoformat()
    return value


def from_storage(value: Any, kind: FieldType) -> Any:
    """A stored value as Python: ``date``, aware ``datetime``, ``bool``, number or text."""
    if value is None:
        return None
    if kind is FieldType.BOOLEAN:
        return bool(value)
    if kind is FieldType.DATE:
        return date.fromisoformat(str(value)[:10])
    if kind is FieldType.DATETIME:
        return datetime.fromisoformat(str(value))
    if kind is FieldType.INT:
        return int(value)
    if kind in _NUMERIC:
        return float(value)
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Query:
    """Joins and parameters collected while compiling one statement."""

    store: Store
    table: TableSchema
    joins: list[str] = field(default_factory=list)
    aliases: dict[tuple[str, ...], tuple[str, TableSchema]] = field(default_factory=dict)
    params: list[Any] = field(default_factory=list)

    def column(self, path: str) -> tuple[str, Column]:
        """SQL expression and column of a field path, adding joins for relationships."""
        if path == DELETED_AT:
            return f"t0.{DELETED_AT}", Column(DELETED_AT, FieldType.DATETIME, writable=False)
        parts = path.split(".")
        alias, schema = "t0", self.table
        for depth, part in enumerate(parts[:-1]):
            key = tuple(p.lower() for p in parts[: depth + 1])
            if key in self.aliases:
                alias, schema = self.aliases[key]
                continue
            ref = schema.relationship(part)
            if ref is None or ref.reference_to is None:
                raise UnknownField(self.table.name, path)
            target = self.store.schema(ref.reference_to)
            new_alias = f"t{len(self.aliases) + 1}"
            self.joins.append(
                f"LEFT JOIN {_quote(target.name)} {new_alias} ON {new_alias}.{_quote(target.key)}"
                f" = {alias}.{_quote(ref.name)}"
            )
            self.aliases[key] = (new_alias, target)
            alias, schema = new_alias, target
        column = schema.column(parts[-1])
        if column is None:
            raise UnknownField(self.table.name, path)
        return f"{alias}.{_quote(column.name)}", column

    def where(self, cond: Cond) -> str:
        """SQL for a condition tree; parameters are collected."""
        if isinstance(cond, And):
            return (
                "(" + " AND ".join(self.where(c) for c in cond.items) + ")" if cond.items else "1"
            )
        if isinstance(cond, Or):
            return "(" + " OR ".join(self.where(c) for c in cond.items) + ")" if cond.items else "0"
        if isinstance(cond, Not):
            return f"NOT ({self.where(cond.item)})"
        return self.compare(cond)

    def compare(self, cond: Cmp) -> str:
        """SQL for one comparison (SOQL semantics for nulls)."""
        sql, column = self.column(cond.field)
        if cond.op in {"in", "not in"}:
            values = [to_storage(v, column.type) for v in cond.value]
            if not values:
                return "0" if cond.op == "in" else "1"
            self.params.extend(values)
            marks = ", ".join("?" for _ in values)
            keyword = "IN" if cond.op == "in" else "NOT IN"
            nulls = f" OR {sql} IS NULL" if cond.op == "not in" else ""
            return f"({sql} {keyword} ({marks}){nulls})"
        if cond.value is None:
            if cond.op == "=":
                return f"{sql} IS NULL"
            if cond.op == "!=":
                return f"{sql} IS NOT NULL"
            return "0"
        self.params.append(to_storage(cond.value, column.type))
        if cond.op == "like":
            if isinstance(cond.value, str) and not cond.value.isascii():
                # Salesforce and HubSpot ignore letter case beyond ASCII ('MÜLLER' finds
                # 'Müller'); SQLite's LIKE does not, so both sides are folded first. ASCII
                # patterns keep the native (indexable) LIKE: no other letter folds to ASCII
                # but the Kelvin sign.
                return f"{FOLD}({sql}) LIKE {FOLD}(?) ESCAPE '\\'"
            return f"{sql} LIKE ? ESCAPE '\\'"
        if cond.op == "!=":
            return f"({sql} != ? OR {sql} IS NULL)"
        return f"{sql} {cond.op} ?"

    def filters(
        self, where: Cond | None, *, include_deleted: bool, only_deleted: bool = False
    ) -> list[str]:
        """WHERE clauses for a condition and the deletion flag."""
        clauses = [self.where(where)] if where is not None else []
        if only_deleted:
            clauses.append("t0._deleted = 1")
        elif not include_deleted:
            clauses.append("t0._deleted = 0")
        return clauses

    def from_clause(self) -> str:
        return f"FROM {_quote(self.table.name)} t0 " + " ".join(self.joins)


class Store:
    """Objects of one sandbox CRM in a SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="okrsync-sandbox-")
            path = Path(self._tmp.name) / "crm.sqlite"
        self.path = path
        self._local = threading.local()
        self._schemas: dict[str, TableSchema] = {}
        self._lock = threading.RLock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self.replace_rows = False
        """When set, inserting a row whose key exists replaces it (re-seeding a sandbox)."""
        self.connection().execute("PRAGMA journal_mode=WAL")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use).

        Servers run each request on a new thread; connections of threads that
        have ended are closed whenever a new one is opened, so they never pile up.
        """
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.create_function(FOLD, 1, fold, deterministic=True)
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA temp_store=MEMORY")
            self._local.db = db
            with self._lock:
                alive = []
                for thread, other in self._connections:
                    if thread.is_alive():
                        alive.append((thread, other))
                    else:
                        other.close()
                alive.append((threading.current_thread(), db))
                self._connections = alive
        return db

    @property
    def open_connections(self) -> int:
        """Connections currently open (for tests and diagnostics)."""
        with self._lock:
            return len(self._connections)

    def close(self) -> None:
        """Close every connection and remove the temporary file."""
        with self._lock:
            for _, db in self._connections:
                db.close()
            self._connections.clear()
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()

    # -- schema ----------------------------------------------------------------

    def tables(self) -> list[TableSchema]:
        """Every object, in creation order."""
        with self._lock:
            return list(self._schemas.values())

    def has_table(self, name: str) -> bool:
        """Whether an object called ``name`` exists (any letter case)."""
        return name.lower() in self._schemas

    def schema(self, name: str) -> TableSchema:
        """The schema of ``name`` (any letter case); ``KeyError`` when missing."""
        return self._schemas[name.lower()]

    def create_table(self, schema: TableSchema) -> None:
        """Create an object with its columns (plus the store's own deletion columns)."""
        with self._lock:
            if schema.name.lower() in self._schemas:
                raise ValueError(f"object {schema.name} exists")
            columns = [_column_sql(c, key=c.name == schema.key) for c in schema.columns.values()]
            columns += ["_deleted INTEGER NOT NULL DEFAULT 0", "_deleted_at TEXT"]
            db = self.connection()
            db.execute(f"CREATE TABLE {_quote(schema.name)} ({', '.join(columns)})")
            for column in schema.columns.values():
                if column.unique or column.reference_to or column.type is FieldType.DATETIME:
                    db.execute(
                        f"CREATE INDEX {_quote(f'ix_{schema.name}_{column.name}')} "
                        f"ON {_quote(schema.name)} ({_quote(column.name)})"
                    )
            db.commit()
            self._schemas[schema.name.lower()] = schema

    def add_columns(self, table: str, columns: Iterable[Column]) -> list[Column]:
        """Add the columns the object lacks; return those added."""
        with self._lock:
            schema = self.schema(table)
            added = []
            db = self.connection()
            for column in columns:
                if schema.column(column.name) is not None:
                    continue
                plain = _column_sql(column, key=False).removesuffix(" UNIQUE")
                db.execute(f"ALTER TABLE {_quote(schema.name)} ADD COLUMN {plain}")
                if column.unique:  # SQLite cannot add a UNIQUE column; an index does the same
                    db.execute(
                        f"CREATE UNIQUE INDEX {_quote(f'ux_{schema.name}_{column.name}')} "
                        f"ON {_quote(schema.name)} ({_quote(column.name)})"
                    )
                schema.columns[column.name.lower()] = column
                added.append(column)
            db.commit()
            return added

    # -- rows ------------------------------------------------------------------

    def insert_many(self, table: str, rows: Iterable[Mapping[str, Any]], batch: int = 5000) -> int:
        """Insert rows (field names in any case); return how many."""
        schema = self.schema(table)
        db = self.connection()
        total = 0
        pending: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}

        def flush() -> None:
            for names, values in pending.items():
                cols = ", ".join(_quote(n) for n in names)
                marks = ", ".join("?" for _ in names)
                verb = "INSERT OR REPLACE" if self.replace_rows else "INSERT"
                db.executemany(
                    f"{verb} INTO {_quote(schema.name)} ({cols}) VALUES ({marks})", values
                )
            pending.clear()

        for row in rows:
            names, values = self._row(schema, row)
            pending.setdefault(names, []).append(values)
            total += 1
            if total % batch == 0:
                flush()
        flush()
        db.commit()
        return total

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row."""
        self.insert_many(table, [row])

    def update(self, table: str, key: str, values: Mapping[str, Any]) -> bool:
        """Set fields of the row with key ``key``; return whether it exists."""
        schema = self.schema(table)
        names, params = self._row(schema, values)
        if not names:
            return self.get(table, key) is not None
        sets = ", ".join(f"{_quote(n)} = ?" for n in names)
        db = self.connection()
        cursor = db.execute(
            f"UPDATE {_quote(schema.name)} SET {sets} WHERE {_quote(schema.key)} = ?",
            (*params, key),
        )
        db.commit()
        return cursor.rowcount > 0

    def delete(self, table: str, key: str, at: datetime, *, hard: bool = False) -> bool:
        """Soft-delete (or remove) the row with key ``key``; return whether it existed."""
        schema = self.schema(table)
        db = self.connection()
        if hard:
            cursor = db.execute(
                f"DELETE FROM {_quote(schema.name)} WHERE {_quote(schema.key)} = ?", (key,)
            )
        else:
            cursor = db.execute(
                f"UPDATE {_quote(schema.name)} SET _deleted = 1, _deleted_at = ? "
                f"WHERE {_quote(schema.key)} = ? AND _deleted = 0",
                (to_storage(at), key),
            )
        db.commit()
        return cursor.rowcount > 0

    def delete_where(self, table: str, where: Cond) -> int:
        """Remove every row matching ``where`` (deleted or not); return how many."""
        q = _Query(self, self.schema(table))
        condition = q.where(where)
        if q.joins:
            raise ValueError("delete_where takes conditions on the object's own fields")
        db = self.connection()
        cursor = db.execute(f"DELETE FROM {_quote(q.table.name)} AS t0 WHERE {condition}", q.params)
        db.commit()
        return cursor.rowcount

    def get(self, table: str, key: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        """The row with key ``key`` (all fields), or ``None``."""
        schema = self.schema(table)
        rows = list(
            self.select(
                table,
                [c.name for c in schema.columns.values()],
                Cmp(schema.key, "=", key),
                include_deleted=include_deleted,
                limit=1,
            )
        )
        return rows[0] if rows else None

    def _row(
        self, schema: TableSchema, row: Mapping[str, Any]
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        names: list[str] = []
        values: list[Any] = []
        for name, value in row.items():
            column = schema.column(name)
            if column is None:
                if name in {"_deleted", "_deleted_at"}:
                    names.append(name)
                    values.append(to_storage(value))
                    continue
                raise UnknownField(schema.name, name)
            names.append(column.name)
            values.append(to_storage(value, column.type))
        return tuple(names), tuple(values)

    # -- queries ---------------------------------------------------------------

    def select(
        self,
        table: str,
        fields: Sequence[str],
        where: Cond | None = None,
        *,
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        offset: int = 0,
        after_rowid: int | None = None,
        include_deleted: bool = False,
        only_deleted: bool = False,
        with_rowid: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``table`` with the given field paths (``Owner.Email`` joins), lazily.

        Without ``order_by`` rows come in insertion order; ``after_rowid`` then
        pages by key, which stays fast however deep the page. Deleted rows are
        left out unless asked for. The dict keys are the paths as given; with
        ``with_rowid`` the row's ``_rowid`` and ``_deleted`` are added.
        """
        q = _Query(self, self.schema(table))
        selected = [q.column(f) for f in fields]
        clauses = q.filters(where, include_deleted=include_deleted, only_deleted=only_deleted)
        if after_rowid is not None:
            clauses.append("t0.rowid > ?")
            q.params.append(after_rowid)
        order = [self._order(q, o) for o in order_by] or ["t0.rowid"]
        columns = [sql for sql, _ in selected] + ["t0.rowid", "t0._deleted"]
        sql = f"SELECT {', '.join(columns)} {q.from_clause()}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY " + ", ".join(order)
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            q.params.extend([-1 if limit is None else limit, offset])
        cursor = self.connection().execute(sql, q.params)
        kinds = [column.type for _, column in selected]
        while True:
            chunk = cursor.fetchmany(500)
            if not chunk:
                return
            for raw in chunk:
                row = {f: from_storage(v, k) for f, v, k in zip(fields, raw, kinds, strict=False)}
                if with_rowid:
                    row["_rowid"] = raw[-2]
                    row["_deleted"] = bool(raw[-1])
                yield row

    @staticmethod
    def _order(q: _Query, order: OrderBy) -> str:
        sql, _ = q.column(order.field)
        direction = "ASC" if order.ascending else "DESC"
        nulls_first = order.nulls_first if order.nulls_first is not None else order.ascending
        return f"{sql} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}"

    def count(self, table: str, where: Cond | None = None, *, include_deleted: bool = False) -> int:
        """How many rows match."""
        q = _Query(self, self.schema(table))
        clauses = q.filters(where, include_deleted=include_deleted)
        sql = f"SELECT COUNT(*) {q.from_clause()}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return int(self.connection().execute(sql, q.params).fetchone()[0])

    def aggregate(
        self,
        table: str,
        group_by: Sequence[str],
        aggregates: Sequence[tuple[str, str | None]],
        where: Cond | None = None,
        *,
        order_by: Sequence[OrderBy] = (),
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Rows of ``(group values…, aggregate values…)``.

        An aggregate is ``(function, field path)`` with function one of
        ``count``, ``count_distinct``, ``sum``, ``avg``, ``min``, ``max``; a
        ``None`` path counts rows. Aggregates over no rows give 0 for counts and
        ``None`` otherwise; without grouping there is always one row.
        """
        q = _Query(self, self.schema(table))
        groups = [q.column(g) for g in group_by]
        exprs: list[str] = []
        kinds: list[FieldType] = []
        for function, path in aggregates:
            expr, kind = _aggregate_sql(q, function, path)
            exprs.append(expr)
            kinds.append(kind)
        clauses = q.filters(where, include_deleted=include_deleted)
        select = [sql for sql, _ in groups] + exprs
        sql = f"SELECT {', '.join(select)} {q.from_clause()}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if groups:
            sql += " GROUP BY " + ", ".join(s for s, _ in groups)
        if order_by:
            sql += " ORDER BY " + ", ".join(self._order(q, o) for o in order_by)
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            q.params.extend([-1 if limit is None else limit, offset])
        out = []
        group_kinds = [c.type for _, c in groups]
        for raw in self.connection().execute(sql, q.params):
            values = [from_storage(v, k) for v, k in zip(raw, group_kinds, strict=False)]
            values.extend(
                from_storage(v, k) for v, k in zip(raw[len(groups) :], kinds, strict=True)
            )
            out.append(tuple(values))
        return out


def _aggregate_sql(q: _Query, function: str, path: str | None) -> tuple[str, FieldType]:
    """SQL and result type of one aggregate."""
    if path is None:
        return "COUNT(*)", FieldType.INT
    sql, column = q.column(path)
    fn = function.lower()
    if fn == "count_distinct":
        return f"COUNT(DISTINCT {sql})", FieldType.INT
    if fn == "count":
        return f"COUNT({sql})", FieldType.INT
    if fn == "sum" and column.type is FieldType.INT:
        return f"SUM({sql})", FieldType.INT
    if fn in {"sum", "avg"}:
        return f"{fn.upper()}({sql})", FieldType.DOUBLE
    if fn in {"min", "max"}:
        return f"{fn.upper()}({sql})", column.type
    raise ValueError(f"unknown aggregate {function}")


def _column_sql(column: Column, *, key: bool) -> str:
    affinity = _AFFINITY.get(column.type, "TEXT")
    sql = f"{_quote(column.name)} {affinity}"
    if key:
        sql += " PRIMARY KEY"
    elif column.unique:
        sql += " UNIQUE"
    return sql
