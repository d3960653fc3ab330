"""The replica keeps an index on each window date the metrics use, and evaluation reads through it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event

from okrsync.compute import evaluate
from okrsync.connector import FieldInfo
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.replica import INDEX_PREFIX, Replica, table_name

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine

FIELDS = {
    "Amount": FieldInfo("Amount", "currency"),
    "CloseDate": FieldInfo("CloseDate", "date"),
    "CreatedDate": FieldInfo("CreatedDate", "datetime"),
}


def _indexes(engine: Engine) -> list[list[str]]:
    found = sa.inspect(engine).get_indexes(table_name("salesforce", "Opportunity"))
    return sorted(list(ix["column_names"]) for ix in found if ix["name"].startswith(INDEX_PREFIX))


def test_window_dates_are_indexed_and_indexes_follow_the_plan(tmp_path: Path) -> None:
    """A replica table gets an index per window date; a store made before gets it; one no longer needed goes."""
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    Replica(engine).ensure("salesforce", "Opportunity", FIELDS)  # an older store: no index
    assert _indexes(engine) == []
    replica = Replica(engine)
    table = replica.ensure("salesforce", "Opportunity", FIELDS, ["CloseDate", "CreatedDate"])
    assert _indexes(engine) == [
        [table.column("CloseDate").name],
        [table.column("CreatedDate").name],
    ]
    replica.ensure("salesforce", "Opportunity", FIELDS, ["CreatedDate"])
    assert _indexes(engine) == [[table.column("CreatedDate").name]]


def test_a_windowed_evaluation_reads_only_its_windows_rows_through_the_index(
    tmp_path: Path, catalogs
) -> None:
    """Key results over the third quarter search the CloseDate index instead of scanning every row."""
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    replica = Replica(engine)
    table = replica.ensure("salesforce", "Opportunity", FIELDS, ["CloseDate"])
    first = date(2024, 1, 1)
    rows = [
        {
            "Id": f"o{i}",
            "Amount": 10.0,
            "CloseDate": first + timedelta(days=i % 1000),
            "CreatedDate": datetime(2024, 1, 1, tzinfo=UTC),
        }
        for i in range(3000)
    ]
    with engine.begin() as conn:
        table.upsert(conn, rows)
        conn.execute(sa.text("ANALYZE"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "q3.yaml").write_text(
        "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}\n"
        "objectives:\n  - key: o\n    title: O\n    key_results:\n"
        "      - {key: won, title: W, source: salesforce, target: 10,"
        " metric: {sum: Opportunity.Amount, window: {CloseDate: cycle_to_date}}}\n",
        encoding="utf-8",
    )
    loaded = load_mappings(tmp_path / "m", sources={"salesforce": "salesforce"}, catalogs=catalogs)
    plans: list[str] = []

    def explain(conn, _cursor, statement, parameters, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "GROUP BY" in statement:
            found = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.extend(str(row[-1]) for row in found)

    event.listen(engine, "before_cursor_execute", explain)
    result = evaluate(engine, replica, list(loaded.key_results()), date(2026, 8, 15))
    event.remove(engine, "before_cursor_execute", explain)
    # rows closing 2026-07-01 … 2026-08-15: days 912 … 957 of the 1000-day cycle, 3 rows a day
    assert next(iter(result.values())).value == 46 * 3 * 10.0
    assert any("USING INDEX" in line and INDEX_PREFIX in line for line in plans), plans
