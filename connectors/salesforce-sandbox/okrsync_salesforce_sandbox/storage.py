"""The core :class:`~okrsync_sandbox.store.Store` with what the Salesforce emulator adds.

- Text sorts without regard to letter case, as SOQL's ``ORDER BY`` does.
- ``add_columns`` also indexes added reference and external-id columns, and
  :meth:`SandboxStore.set_unique` turns a column's uniqueness on or off.
- :meth:`SandboxStore.bulk_load` drops a table's indexes while it is filled.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from okrsync_sandbox.store import Column, FieldType, OrderBy, Store

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["SandboxStore"]

_TEXT = frozenset(
    {
        FieldType.STRING,
        FieldType.TEXTAREA,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
        FieldType.PICKLIST,
    }
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SandboxStore(Store):
    """A store whose text sorts case-insensitively, with index helpers."""

    @staticmethod
    def _order(q: Any, order: OrderBy) -> str:  # the base's hook for ORDER BY terms
        sql, column = q.column(order.field)
        direction = "ASC" if order.ascending else "DESC"
        nulls_first = order.nulls_first if order.nulls_first is not None else order.ascending
        collate = " COLLATE NOCASE" if column.type in _TEXT else ""
        return f"{sql}{collate} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}"

    def add_columns(self, table: str, columns: Iterable[Column]) -> list[Column]:
        """Add the columns the object lacks (indexing references and external ids)."""
        added = super().add_columns(table, columns)
        schema = self.schema(table)
        db = self.connection()
        for column in added:
            if not column.unique and (column.reference_to or column.external_id):
                db.execute(
                    f"CREATE INDEX {_quote(f'ix_{schema.name}_{column.name}')} "
                    f"ON {_quote(schema.name)} ({_quote(column.name)})"
                )
        db.commit()
        return added

    def set_unique(self, table: str, column: str, *, unique: bool) -> None:
        """Make an existing column unique (``sqlite3.IntegrityError`` on duplicates) or not."""
        schema = self.schema(table)
        current = schema.columns[column.lower()]
        db = self.connection()
        target = f"{_quote(schema.name)} ({_quote(current.name)})"
        unique_index = _quote(f"ux_{schema.name}_{current.name}")
        if unique:
            db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {unique_index} ON {target}")
        else:
            db.execute(f"DROP INDEX IF EXISTS {unique_index}")
            db.execute(f"DROP INDEX IF EXISTS {_quote(f'ix_{schema.name}_{current.name}')}")
            db.execute(f"CREATE INDEX {_quote(f'ix_{schema.name}_{current.name}')} ON {target}")
        db.commit()
        schema.columns[column.lower()] = replace(current, unique=unique)

    @contextmanager
    def bulk_load(self, table: str) -> Iterator[None]:
        """Load many rows into ``table`` with its indexes dropped, then rebuilt (much faster)."""
        name = self.schema(table).name
        db = self.connection()
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (name,),
        ).fetchall()
        for index, _ in indexes:
            db.execute(f"DROP INDEX {_quote(index)}")
        db.commit()
        try:
            yield
        finally:
            for _, sql in indexes:
                db.execute(sql)
            db.commit()
