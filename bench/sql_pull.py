"""The sql connector over PostgreSQL: first, quiet and busy pulls, deletions, whole reads.

For each size a throwaway PostgreSQL server (:mod:`okrsync.testing.postgres`)
gets a table of that many customers (a serial key, a date, a count, a
timestamp stamp with an index on ``(updated_at, id)``) and a view over it
without a stamp. The connector (``page_size`` 1000) then reads it as the sync
would: a first pull, a pull with nothing changed, one after 1 000 updates, the
id reconciliation after 100 scattered hard deletes, and the view read whole
(unchanged, so nothing is reported). Queries come from the connector's own
count; peak memory is Python's (``tracemalloc``) during the first pull,
measured in a second run of it so the timing runs without tracing.

Run: ``uv run python bench/sql_pull.py [--sizes 100000,1000000]``
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201
# (S608: the statements are built from the benchmark's own numbers)
# ruff: noqa: S608

from __future__ import annotations

import argparse
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from okrsync.connector import Cursor
from okrsync.testing.postgres import fresh_database, postgres_server
from okrsync_sql import SqlSettings, plugin

FIELDS = ["signed_on", "active_days", "updated_at"]
SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY, signed_on date NOT NULL, active_days integer NOT NULL,
    updated_at timestamptz NOT NULL
);
INSERT INTO customers
    SELECT i, date '2026-01-01' + mod(i, 365), mod(i, 31),
           timestamptz '2026-06-01' + i * interval '1 second'
    FROM generate_series(1, {size}) AS i;
CREATE INDEX customers_changes ON customers (updated_at, id);
CREATE VIEW customer_days AS SELECT id AS customer, active_days FROM customers;
ANALYZE customers;
"""


class Clock:
    """The real time, moved on by the benchmark so a deletion check is due when it wants one."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        """The time now."""
        return self.now

    def tick(self) -> None:
        """An hour later."""
        self.now += timedelta(hours=1)


def _pull(
    connector: Any, obj: str, fields: list[str], cursor: Cursor
) -> tuple[Any, dict[str, Any]]:
    calls = connector.usage().calls
    began = time.perf_counter()
    pull = connector.pull(obj, fields, (), cursor)
    records = deleted = pages = 0
    for page in pull:
        pages += 1
        records += len(page.records)
        deleted += len(page.deleted)
    seconds = time.perf_counter() - began
    figures = {
        "records": records,
        "deleted": deleted,
        "pages": pages,
        "queries": connector.usage().calls - calls,
        "seconds": round(seconds, 3),
        "rows_per_second": round(records / seconds) if records else 0,
        "cursor_bytes": sum(len(e) for e in pull.cursor.seen),
    }
    return pull, figures


def measure(server: str, size: int) -> dict[str, dict[str, Any]]:
    """Every figure for one table size."""
    out: dict[str, dict[str, Any]] = {}
    with fresh_database(server, "okrsync_bench") as url:
        engine = sa.create_engine(url)
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(SCHEMA.format(size=size))
        print(f"  {size:>9} rows loaded in {time.perf_counter() - began:.1f} s")
        clock = Clock()
        settings = SqlSettings(
            url=SecretStr(url),
            page_size=1000,
            deletion_check_seconds=3600,
            objects={"customer_days": {"id_column": "customer"}},
        )
        connector = plugin.connect("sql", settings, clock=clock)
        connector.describe("customers")
        first, out["first pull"] = _pull(connector, "customers", FIELDS, Cursor())
        tracemalloc.start()
        _pull(connector, "customers", FIELDS, Cursor())
        out["first pull"]["peak_python_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
        clock.now += timedelta(minutes=10)  # a quiet pull before the next deletion check
        quiet, out["nothing changed"] = _pull(connector, "customers", FIELDS, first.cursor)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE customers SET active_days = active_days + 1, updated_at = now() "
                f"WHERE mod(id, {max(1, size // 1000)}) = 0"
            )
        clock.tick()
        busy, out["1 000 changed + id check"] = _pull(connector, "customers", FIELDS, quiet.cursor)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM customers WHERE mod(id, {max(1, size // 100)}) = 7")
        clock.tick()
        _, out["100 deleted + id check"] = _pull(connector, "customers", FIELDS, busy.cursor)
        view, _ = _pull(connector, "customer_days", ["active_days"], Cursor())
        _, out["view, read whole, unchanged"] = _pull(
            connector, "customer_days", ["active_days"], view.cursor
        )
        connector.close()
        engine.dispose()
    return out


def main() -> None:
    """Measure each size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    columns = (
        "records",
        "deleted",
        "pages",
        "queries",
        "seconds",
        "rows_per_second",
        "cursor_bytes",
    )
    with postgres_server() as server:
        for size in sizes:
            print(f"table of {size} rows (PostgreSQL, page_size 1000)")
            figures = measure(server, size)
            print(
                f"  {'pull':<28}" + "".join(f"{c:>16}" for c in columns) + f"{'peak_python_mb':>16}"
            )
            for name, row in figures.items():
                cells = "".join(f"{row.get(c, ''):>16}" for c in columns)
                print(f"  {name:<28}{cells}{row.get('peak_python_mb', ''):>16}")


if __name__ == "__main__":
    main()
