"""How long duration metrics take to compute over a big replica, on SQLite and PostgreSQL.

A replica of N leads and about N tasks (most leads answered by one to three
tasks, some never) is filled once per store; then each metric below is
evaluated a few times and the best time is printed: an average between two
fields of the lead (a term of the lead's query), its median (a query of its
own) and the average and median to the first task on the lead (a join with the
tasks grouped by lead).

Run: ``uv run python bench/durations.py [--leads 200000] [--postgres URL]``
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from okrsync.compute import evaluate
from okrsync.connector import FieldInfo
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.replica import Replica

AS_OF = date(2026, 9, 30)
CONVERTED = 0.3
"""Share of leads converted."""
METRICS = {
    "avg, two fields": "{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}",
    "median, two fields": "{median_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}",
    "avg, first task": "{avg_duration: Lead, from: CreatedDate, "
    "to: {first: Task.CreatedDate, via: WhoId}, in: hours, window: cycle_to_date}",
    "median, first task": "{median_duration: Lead, from: CreatedDate, "
    "to: {first: Task.CreatedDate, via: WhoId}, in: hours, window: cycle_to_date}",
}


def fill(url: str, leads: int) -> Replica:
    """A replica of ``leads`` leads and their tasks."""
    engine = open_store(url)
    replica = Replica(engine)
    lead_table = replica.ensure(
        "crm",
        "Lead",
        {
            "CreatedDate": FieldInfo("CreatedDate", "datetime"),
            "ConvertedDate": FieldInfo("ConvertedDate", "date"),
        },
    )
    task_table = replica.ensure(
        "crm",
        "Task",
        {
            "WhoId": FieldInfo("WhoId", "reference"),
            "CreatedDate": FieldInfo("CreatedDate", "datetime"),
        },
    )
    rng = random.Random(7)  # noqa: S311  (test data, not secrets)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lead_rows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    for i in range(leads):
        created = start + timedelta(seconds=rng.randrange(270 * 86_400))
        converted = (created + timedelta(days=rng.expovariate(1 / 20))).date()
        lead_rows.append(
            {
                "Id": f"L{i}",
                "CreatedDate": created,
                "ConvertedDate": converted if rng.random() < CONVERTED else None,
            }
        )
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            answered = created + timedelta(hours=rng.lognormvariate(1.0, 1.0))
            task_rows.append(
                {"Id": f"T{len(task_rows)}", "WhoId": f"L{i}", "CreatedDate": answered}
            )
    with engine.begin() as conn:
        for at in range(0, len(lead_rows), 5_000):
            lead_table.upsert(conn, lead_rows[at : at + 5_000])
        for at in range(0, len(task_rows), 5_000):
            task_table.upsert(conn, task_rows[at : at + 5_000])
    print(f"  {leads} leads, {len(task_rows)} tasks")
    return replica


def measure(url: str, leads: int, folder: Path) -> None:
    """Print the best of three evaluations of each metric."""
    replica = fill(url, leads)
    for name, metric in METRICS.items():
        (folder / "m.yaml").write_text(
            "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}\n"
            "objectives:\n  - key: o\n    title: O\n    key_results:\n"
            f"      - {{key: k, title: T, source: crm, metric: {metric}, target: 1}}\n"
        )
        krs = list(load_mappings(folder, sources={"crm": "memory"}, catalogs={}).key_results())
        best, value = float("inf"), None
        for _ in range(3):
            began = time.perf_counter()
            value = next(iter(evaluate(replica.engine, replica, krs, AS_OF).values())).value
            best = min(best, time.perf_counter() - began)
        print(f"  {name:<20} {best:7.3f} s   value {value:.3f}")
    replica.engine.dispose()


def main() -> None:
    """Measure on SQLite, and on PostgreSQL when a URL is given."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database may be filled")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("SQLite")
        measure(f"sqlite:///{folder / 'bench.db'}", args.leads, folder)
        if args.postgres:
            print("PostgreSQL")
            measure(args.postgres, args.leads, folder)


if __name__ == "__main__":
    main()
