"""A `deals` table in a real database, changed behind the connector's back, for the tests.

Seeded deal ``i`` has id ``1000 + i`` and the contract suite's values (amount
``1000 + 10.5·i``, close date ``CLOSE + i mod 60`` days, won when ``i mod 3 == 0``),
last modified at ``stamp(i)``. Changes are stamped by the given clock, as an
application writing ``updated_at = now()`` would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from okrsync.testing.driver import CLOSE, NEW_AMOUNT

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

FIRST_ID = 1000


def deals_table(dialect: str) -> sa.Table:
    """The table: an integer key, a numeric amount, a date, a flag, a stage, a stamp, a soft delete."""
    amount: sa.types.TypeEngine[Any] = sa.Float() if dialect == "sqlite" else sa.Numeric(12, 2)
    return sa.Table(
        "deals",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("amount", amount),
        sa.Column("close_date", sa.Date()),
        sa.Column("is_won", sa.Boolean()),
        sa.Column("stage", sa.String(40)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def row(i: int, stamp: datetime, ident: int | None = None) -> dict[str, Any]:
    """Deal ``i`` as stored."""
    won = i % 3 == 0
    return {
        "id": FIRST_ID + i if ident is None else ident,
        "amount": 1000 + i * 10.5,
        "close_date": CLOSE + timedelta(days=i % 60),
        "is_won": won,
        "stage": "Closed Won" if won else "Prospecting",
        "updated_at": stamp,
        "deleted": False,
    }


class Deals:
    """The table in the database at ``url``, written by its own engine."""

    def __init__(self, url: str, clock: Callable[[], datetime]) -> None:
        self.engine = sa.create_engine(url)
        self.table = deals_table(self.engine.dialect.name)
        self.clock = clock

    def create(self, count: int, stamp: Callable[[int], datetime]) -> None:
        """Create the table with deals ``0 … count-1``."""
        self.table.create(self.engine)
        self.load([row(i, stamp(i)) for i in range(count)])

    def load(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows as they are (ids and stamps given)."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert(), list(rows))

    def insert(self, count: int) -> list[str]:
        """New deals, ids made by the database, stamped now."""
        ids = []
        with self.engine.begin() as conn:
            for n in range(count):
                values = {
                    "amount": 500.0 + n,
                    "stage": "Prospecting",
                    "is_won": False,
                    "updated_at": self.clock(),
                }
                new = conn.execute(self.table.insert().values(values).returning(self.table.c.id))
                ids.append(str(new.scalar_one()))
        return ids

    def update(self, ids: Sequence[str], **values: Any) -> None:
        """Change deals (the amount to ``NEW_AMOUNT`` by default), stamped now."""
        values = values or {"amount": NEW_AMOUNT}
        with self.engine.begin() as conn:
            for ident in ids:
                changed = {**values, "updated_at": self.clock()}
                where = self.table.c.id == int(ident)
                conn.execute(self.table.update().where(where).values(changed))

    def soft_delete(self, ident: str) -> None:
        """Flag a deal deleted (its stamp moves, as an application's soft delete does)."""
        self.update([ident], deleted=True)

    def hard_delete(self, ident: str) -> None:
        """Delete a deal for good."""
        with self.engine.begin() as conn:
            conn.execute(self.table.delete().where(self.table.c.id == int(ident)))

    def close(self) -> None:
        """Close the writer's connections."""
        self.engine.dispose()


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock that starts at ``start`` and runs in real time."""
    import time  # noqa: PLC0415

    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
