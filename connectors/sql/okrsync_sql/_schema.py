"""Which table or view an object is, its columns as fields, and the columns with a role.

An object is a table or view of the connector's schema by its name (any letter
case when the name is not exact), or what its ``objects`` entry says. Its
columns are its fields (:func:`okrsync_sql._values.kind_of` names their types).
Three columns have a role:

- the **id**: ``id_column``, else the primary key (one column), else a column
  named ``id``; a view has no primary key, so it needs one of the others;
- the **stamp**: a timestamp column (``stamp_column``, ``updated_at`` by
  default) for incremental pulls; an object without one is read whole;
- the **deleted** flag: ``deleted_column``, a boolean (true when deleted) or a
  date or timestamp (set when deleted).

A column named in the object's own entry must exist (else a fatal error says
which setting to fix); the connector-wide defaults apply to the tables that
have them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from okrsync.config import env_var_name
from okrsync.connector import FieldInfo, ObjectInfo
from okrsync.errors import FatalConnectorError
from okrsync_sql._errors import CRM
from okrsync_sql._values import DATED, kind_of

if TYPE_CHECKING:
    from datetime import tzinfo

    from sqlalchemy.engine import Connection

    from okrsync_sql._plugin import SqlSettings

__all__ = ["Source", "reflect"]


@dataclass(frozen=True, slots=True)
class Source:
    """How one object is read: its table, its fields, and the columns with a role."""

    object_name: str
    table: sa.Table
    info: ObjectInfo
    id_column: str
    stamp_column: str | None
    deleted_column: str | None
    hard_deletes: bool
    zone: tzinfo

    def column(self, name: str) -> sa.Column[Any]:
        """The column of a field (any letter case; ``Id``: the id column); ``KeyError`` if none."""
        found = self.info.field(name)
        if found is None:
            raise KeyError(name)
        return self.table.c[found.name if found.name in self.table.c else self.id_column]

    def kind(self, name: str) -> str:
        """The normalised type of a field's column."""
        found = self.info.field(name)
        if found is None:
            raise KeyError(name)
        return found.type

    @property
    def integer_ids(self) -> bool:
        """Whether ids are whole numbers (kept as ranges for the id reconciliation)."""
        return self.kind(self.id_column) == "int"

    @property
    def where(self) -> str:
        """``schema.table`` as logs and messages name it."""
        return f"{self.table.schema}.{self.table.name}" if self.table.schema else self.table.name


def _fatal(message: str, object_name: str, code: str) -> FatalConnectorError:
    return FatalConnectorError(message, crm=CRM, object_name=object_name, code=code)


def _find_table(conn: Connection, name: str, schema: str | None) -> sa.Table | None:
    """The reflected table or view ``name`` (exact, else the only one matching in any case)."""
    try:
        return sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema)
    except sa_exc.NoSuchTableError:
        pass
    inspector = sa.inspect(conn)
    names = [*inspector.get_table_names(schema=schema), *inspector.get_view_names(schema=schema)]
    if conn.dialect.name == "postgresql":
        names += inspector.get_materialized_view_names(schema=schema)
    matches = [n for n in names if n.lower() == name.lower()]
    if len(matches) != 1:
        return None
    return sa.Table(matches[0], sa.MetaData(), autoload_with=conn, schema=schema)


def _field(column: sa.Column[Any], *, is_id: bool) -> FieldInfo:
    kind, values = kind_of(column.type)
    return FieldInfo(
        column.name,
        kind,
        label=column.name,
        nullable=bool(column.nullable) and not is_id,
        writable=False,
        unique=is_id,
        picklist=values,
    )


class _Roles:
    """Finds the columns with a role in one table, saying which setting to fix when wrong."""

    def __init__(
        self, settings: SqlSettings, instance: str, object_name: str, table: sa.Table
    ) -> None:
        self.settings = settings
        self.instance = instance
        self.object_name = object_name
        self.table = table
        self.entry = settings.object(object_name)
        self.by_lower = {c.name.lower(): c for c in table.columns}

    def setting(self, name: str) -> str:
        path = ("connectors", self.instance, "objects", self.object_name, name)
        return f"`objects.{self.object_name}.{name}` ({env_var_name(path)})"

    def named(self, setting: str, column: str, expected: set[str], what: str) -> str:
        """An explicitly named column: it must exist and be of an ``expected`` type."""
        found = self.by_lower.get(column.lower())
        if found is None:
            raise _fatal(
                f"{self.table.name} has no column `{column}`; fix {self.setting(setting)}",
                self.object_name,
                "NO_SUCH_COLUMN",
            )
        kind, _ = kind_of(found.type)
        if expected and kind not in expected:
            raise _fatal(
                f"`{found.name}` of {self.table.name} is a {kind} column, not {what}; "
                f"fix {self.setting(setting)}",
                self.object_name,
                "WRONG_COLUMN_TYPE",
            )
        return found.name

    def default(self, column: str | None, expected: set[str]) -> str | None:
        """A connector-wide default column, if this table has it with a fitting type."""
        found = self.by_lower.get(column.lower()) if column else None
        if found is None or kind_of(found.type)[0] not in expected:
            return None
        return found.name

    def id_column(self) -> str:
        if self.entry.id_column:
            return self.named("id_column", self.entry.id_column, set(), "an id")
        keys = [c.name for c in self.table.primary_key.columns]
        if len(keys) == 1:
            return keys[0]
        if "id" in self.by_lower and not keys:
            return self.by_lower["id"].name
        why = "a primary key of several columns" if keys else "no primary key"
        raise _fatal(
            f"{self.table.name} has {why}: set {self.setting('id_column')} to a column "
            "that identifies a row",
            self.object_name,
            "NO_ID_COLUMN",
        )

    def stamp_column(self) -> str | None:
        if self.entry.explicit("stamp_column"):
            column = self.entry.stamp_column
            if column is None:
                return None
            return self.named("stamp_column", column, {"datetime"}, "a timestamp")
        return self.default(self.settings.stamp_column, {"datetime"})

    def deleted_column(self) -> str | None:
        expected = {"boolean", *DATED}
        if self.entry.explicit("deleted_column"):
            column = self.entry.deleted_column
            if column is None:
                return None
            return self.named("deleted_column", column, expected, "a boolean or a date")
        return self.default(self.settings.deleted_column, expected)


def reflect(
    conn: Connection, settings: SqlSettings, instance: str, object_name: str, zone: tzinfo
) -> Source:
    """The table or view of ``object_name``, its fields and role columns.

    Raises:
        LookupError: The schema has no such table or view.
        FatalConnectorError: A column the object's settings name is missing or
            of the wrong type, or no column identifies a row.
    """
    entry = settings.object(object_name)
    schema = entry.schema_ or settings.schema_
    table = _find_table(conn, entry.table or object_name, schema)
    if table is None:
        raise LookupError(object_name)
    roles = _Roles(settings, instance, object_name, table)
    id_column = roles.id_column()
    fields = {c.name.lower(): _field(c, is_id=c.name == id_column) for c in table.columns}
    if "id" not in fields:  # `Id` names the row's id, as in the CRMs
        fields["id"] = replace(fields[id_column.lower()], name="Id", label="Id")
    info = ObjectInfo(object_name, table.name, fields)
    return Source(
        object_name=object_name,
        table=table,
        info=info,
        id_column=id_column,
        stamp_column=roles.stamp_column(),
        deleted_column=roles.deleted_column(),
        hard_deletes=entry.hard_deletes,
        zone=zone,
    )
