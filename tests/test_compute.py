"""Metric values computed over the replica equal hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event

from okrsync.compute import evaluate
from okrsync.connector import FieldInfo
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.replica import Replica

from .letter_case import EXPECTED, letter_case_counts

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.catalog import Catalog
    from okrsync.model import MappingSet

Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)
MID = date(2026, 8, 15)

OPPORTUNITY = {
    "Amount": FieldInfo("Amount", "currency"),
    "IsClosed": FieldInfo("IsClosed", "boolean"),
    "IsWon": FieldInfo("IsWon", "boolean"),
    "CloseDate": FieldInfo("CloseDate", "date"),
    "CreatedDate": FieldInfo("CreatedDate", "datetime"),
    "StageName": FieldInfo("StageName", "picklist"),
}
# id, amount, closed, won, close date, created
OPPS = [
    ("o1", 100.0, True, True, date(2026, 7, 10), datetime(2026, 6, 1, 9, tzinfo=UTC)),
    ("o2", 200.0, True, False, date(2026, 7, 20), datetime(2026, 7, 2, 23, 30, tzinfo=UTC)),
    ("o3", 300.0, True, True, date(2026, 8, 14), datetime(2026, 7, 5, tzinfo=UTC)),
    ("o4", 400.0, True, False, date(2026, 8, 16), datetime(2026, 8, 20, tzinfo=UTC)),  # after MID
    ("o5", 500.0, False, False, date(2026, 9, 30), datetime(2026, 8, 1, tzinfo=UTC)),
    ("o6", 600.0, False, False, date(2026, 10, 1), datetime(2026, 8, 15, 23, 59, tzinfo=UTC)),
    ("o7", None, False, False, date(2026, 9, 1), datetime(2026, 6, 30, 23, 59, tzinfo=UTC)),
    ("o8", 50.0, True, True, date(2026, 6, 30), datetime(2026, 5, 1, tzinfo=UTC)),  # before Q3
]


@pytest.fixture
def engine():
    """A fresh in-memory state store."""
    return open_store("sqlite://")


def load(tmp_path: Path, catalogs: dict[str, Catalog], krs: str) -> MappingSet:
    body = dedent(krs).strip("\n")
    (tmp_path / "m.yaml").write_text(
        "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}\n"
        "objectives:\n  - key: o\n    title: O\n    key_results:\n"
        + "\n".join("      " + line for line in body.splitlines())
        + "\n"
    )
    return load_mappings(tmp_path, sources={"salesforce": "salesforce"}, catalogs=catalogs)


def fill(
    engine, replica: Replica, obj: str, fields: dict[str, FieldInfo], rows: list[dict]
) -> None:
    table = replica.ensure("salesforce", obj, fields)
    with engine.begin() as conn:
        table.upsert(conn, rows)


@pytest.fixture
def replica(engine):
    """A replica of opportunities, leads, NPS responses, accounts and tasks with known rows."""
    rep = Replica(engine)
    fill(
        engine,
        rep,
        "Opportunity",
        OPPORTUNITY,
        [
            dict(
                zip(
                    ["Id", "Amount", "IsClosed", "IsWon", "CloseDate", "CreatedDate"],
                    o,
                    strict=True,
                )
            )
            | {"StageName": "Closed Won" if o[3] else "Prospecting"}
            for o in OPPS
        ],
    )
    fill(
        engine,
        rep,
        "NPS_Response__c",
        {
            "Score__c": FieldInfo("Score__c", "double"),
            "Response_Date__c": FieldInfo("Response_Date__c", "date"),
        },
        [
            {"Id": f"n{i}", "Score__c": s, "Response_Date__c": d}
            for i, (s, d) in enumerate(
                [
                    (10, date(2026, 7, 2)),
                    (9, date(2026, 7, 3)),
                    (8, date(2026, 7, 4)),
                    (6, date(2026, 7, 5)),
                    (11, date(2026, 7, 6)),  # not a valid score: ignored
                    (-1, date(2026, 7, 7)),  # ignored
                    (None, date(2026, 7, 8)),  # ignored
                    (0, date(2026, 9, 1)),  # after MID
                ]
            )
        ],
    )
    fill(
        engine,
        rep,
        "Account",
        {
            "Customer_Since__c": FieldInfo("Customer_Since__c", "date"),
            "Churned_On__c": FieldInfo("Churned_On__c", "date"),
        },
        [
            {"Id": "a1", "Customer_Since__c": date(2025, 1, 1), "Churned_On__c": None},
            {"Id": "a2", "Customer_Since__c": date(2025, 6, 1), "Churned_On__c": date(2026, 7, 15)},
            {"Id": "a3", "Customer_Since__c": date(2026, 3, 1), "Churned_On__c": date(2026, 9, 1)},
            {"Id": "a4", "Customer_Since__c": date(2024, 1, 1), "Churned_On__c": date(2026, 5, 1)},
            {"Id": "a5", "Customer_Since__c": date(2026, 7, 2), "Churned_On__c": None},
            {"Id": "a6", "Customer_Since__c": None, "Churned_On__c": None},
        ],
    )
    fill(
        engine,
        rep,
        "Lead",
        {
            "Status": FieldInfo("Status", "picklist"),
            "IsConverted": FieldInfo("IsConverted", "boolean"),
            "CreatedDate": FieldInfo("CreatedDate", "datetime"),
        },
        [
            {
                "Id": "l1",
                "Status": "Qualified",
                "IsConverted": False,
                "CreatedDate": datetime(2026, 7, 1, tzinfo=UTC),
            },
            {
                "Id": "l2",
                "Status": "qualified",
                "IsConverted": False,
                "CreatedDate": datetime(2026, 7, 2, tzinfo=UTC),
            },
            {
                "Id": "l3",
                "Status": "Converted",
                "IsConverted": True,
                "CreatedDate": datetime(2026, 7, 3, tzinfo=UTC),
            },
            {
                "Id": "l4",
                "Status": "Working",
                "IsConverted": False,
                "CreatedDate": datetime(2026, 7, 4, tzinfo=UTC),
            },
            {
                "Id": "l5",
                "Status": "Working",
                "IsConverted": False,
                "CreatedDate": datetime(2026, 6, 30, 23, tzinfo=UTC),
            },
        ],
    )
    fill(
        engine,
        rep,
        "Task",
        {
            "Type": FieldInfo("Type", "picklist"),
            "Status": FieldInfo("Status", "picklist"),
            "ActivityDate": FieldInfo("ActivityDate", "date"),
        },
        [
            {
                "Id": "t1",
                "Type": "Customer Interview",
                "Status": "Completed",
                "ActivityDate": date(2026, 7, 9),
            },
            {
                "Id": "t2",
                "Type": "Customer Interview",
                "Status": "Completed",
                "ActivityDate": date(2026, 8, 15),
            },
            {
                "Id": "t3",
                "Type": "Customer Interview",
                "Status": "Completed",
                "ActivityDate": date(2026, 8, 16),
            },
            {
                "Id": "t4",
                "Type": "Customer Interview",
                "Status": "Open",
                "ActivityDate": date(2026, 7, 9),
            },
            {"Id": "t5", "Type": "Call", "Status": "Completed", "ActivityDate": date(2026, 7, 9)},
        ],
    )
    return rep


def values(engine, replica, loaded, as_of=MID) -> dict[str, float | None]:
    result = evaluate(engine, replica, list(loaded.key_results()), as_of)
    return {
        key.rsplit("/", 1)[1]: v.value if v.error is None else v.error for key, v in result.items()
    }


def test_catalog_metrics_over_the_replica(engine, replica, tmp_path, catalogs) -> None:
    """Win rate, pipeline, won revenue, deal size, new pipeline, NPS, churn and lead rates."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: win, title: W, source: salesforce, metric: win_rate, target: 50%}
        - {key: pipe, title: P, source: salesforce, metric: pipeline_value, target: 1000}
        - {key: pipe-n, title: P, source: salesforce, metric: pipeline_count, target: 10}
        - {key: won, title: W, source: salesforce, metric: won_revenue, target: 1000}
        - {key: avg, title: A, source: salesforce, metric: avg_deal_size, target: 1000}
        - {key: new, title: N, source: salesforce, metric: new_pipeline, target: 1000}
        - {key: nps, title: N, source: salesforce, metric: nps, start: 0, target: 50}
        - {key: churn, title: C, source: salesforce, metric: customer_churn_rate, start: 10%, target: 5%}
        - {key: conv, title: C, source: salesforce, metric: lead_conversion_rate, target: 50%}
        - {key: qual, title: Q, source: salesforce, metric: qualified_lead_rate, target: 50%}
        """,
    )
    got = values(engine, replica, loaded)
    # closed with CloseDate in [07-01, 08-15]: o1 (won), o2, o3 (won) → 2/3
    assert got["win"] == pytest.approx(2 / 3)
    # open, CloseDate in Q3: o5 (500), o7 (no amount); o6 closes in Q4
    assert got["pipe"] == 500.0
    assert got["pipe-n"] == 2.0
    # won in [07-01, 08-15]: o1 + o3
    assert got["won"] == 400.0
    assert got["avg"] == 200.0
    # created (UTC date) in [07-01, 08-15]: o2 (200), o3 (300), o5 (500), o6 (600, 08-15 23:59)
    assert got["new"] == 1600.0
    # responses 07-01..08-15 with valid scores: 10, 9, 8, 6 → (2 − 1) / 4 × 100
    assert got["nps"] == 25.0
    # active at 07-01: a1, a2, a3 (a4 churned before, a5 became customer after, a6 never)
    # churned 07-01..08-15: a2 (a3 churns 09-01, after as-of) → 1/3
    assert got["churn"] == pytest.approx(1 / 3)
    # leads created 07-01..08-15: l1..l4 (l5 is 06-30); converted: l3 → 1/4
    assert got["conv"] == 0.25
    # qualified (any letter case) or converted: l1, l2, l3 → 3/4
    assert got["qual"] == 0.75


def test_windows_move_with_the_as_of_date(engine, replica, tmp_path, catalogs) -> None:
    """cycle_to_date grows with the as-of date; before the cycle nothing counts."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - key: interviews
          title: I
          source: salesforce
          metric: {count: Task, where: {Type: Customer Interview, Status: Completed}, window: {ActivityDate: cycle_to_date}}
          target: 10
        - {key: nps, title: N, source: salesforce, metric: nps, start: 0, target: 50}
        """,
    )
    assert values(engine, replica, loaded, MID) == {"interviews": 2.0, "nps": 25.0}
    # by the end, t3 counts and the 0 (a detractor) of 09-01 too: (2 − 2) / 5
    assert values(engine, replica, loaded, Q3_END) == {"interviews": 3.0, "nps": 0.0}
    assert values(engine, replica, loaded, date(2026, 6, 1)) == {"interviews": 0.0, "nps": None}


def test_empty_sets(engine, replica, tmp_path, catalogs) -> None:
    """Counts and sums of nothing are 0; averages and ratios of nothing have no value."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: c, title: C, source: salesforce, metric: {count: Opportunity, where: {StageName: Nope}}, target: 1}
        - {key: s, title: S, source: salesforce, metric: {sum: Opportunity.Amount, where: {StageName: Nope}}, target: 1}
        - {key: a, title: A, source: salesforce, metric: {avg: Opportunity.Amount, where: {StageName: Nope}}, target: 1}
        - key: r
          title: R
          source: salesforce
          metric: {ratio: {numerator: {count: Opportunity}, denominator: {count: Opportunity, where: {StageName: Nope}}}}
          target: 50%
        """,
    )
    assert values(engine, replica, loaded) == {"c": 0.0, "s": 0.0, "a": None, "r": None}


def test_operators(engine, replica, tmp_path, catalogs) -> None:
    """Operator ne includes empty values; in, not_in, is_null and ranges select the right rows."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: ne, title: X, source: salesforce, metric: {count: Opportunity, where: {Amount: {ne: 100}}}, target: 1}
        - {key: in, title: X, source: salesforce, metric: {count: Opportunity, where: {Amount: [100, 200, 999]}}, target: 1}
        - {key: notin, title: X, source: salesforce, metric: {count: Opportunity, where: {Amount: {not_in: [100, 200]}}}, target: 1}
        - {key: empty, title: X, source: salesforce, metric: {count: Opportunity, where: {Amount: {is_null: true}}}, target: 1}
        - {key: range, title: X, source: salesforce, metric: {count: Opportunity, where: {Amount: {gt: 100, lte: 400}}}, target: 1}
        - {key: day, title: X, source: salesforce, metric: {count: Opportunity, where: {CreatedDate: {gte: 2026-08-15}}}, target: 1}
        - {key: maxd, title: X, source: salesforce, metric: {max: Opportunity.Amount, where: [{IsWon: true}, {StageName: prospecting}]}, target: 1}
        """,
    )
    assert values(engine, replica, loaded) == {
        "ne": 7.0,  # all but o1, the empty amount of o7 included
        "in": 2.0,
        "notin": 6.0,
        "empty": 1.0,
        "range": 3.0,  # 200, 300, 400
        "day": 2.0,  # o4 (08-20), o6 (08-15 23:59 UTC)
        "maxd": 600.0,  # won or prospecting (any case): o1, o3, o8, o5, o6, o7 → max 600
    }


def test_a_broken_metric_does_not_stop_the_others(engine, replica, tmp_path, catalogs) -> None:
    """A metric over a field or object not replicated gets an error; others still compute."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: bad, title: B, source: salesforce, metric: {sum: Opportunity.Nope__c}, target: 1}
        - {key: gone, title: G, source: salesforce, metric: {count: Case}, target: 1}
        - {key: ok, title: O, source: salesforce, metric: {count: Opportunity}, target: 1}
        """,
    )
    assert values(engine, replica, loaded) == {
        "bad": "field Nope__c of Opportunity is not replicated",
        "gone": "object Case of salesforce is not replicated",
        "ok": 8.0,
    }


def test_one_query_per_object(engine, replica, tmp_path, catalogs) -> None:
    """All terms over one object (one window field) are read by a single SELECT, however many KRs use it."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: win, title: W, source: salesforce, metric: win_rate, target: 50%}
        - {key: pipe, title: P, source: salesforce, metric: pipeline_value, target: 1000}
        - {key: won, title: W, source: salesforce, metric: won_revenue, target: 1000}
        - {key: nps, title: N, source: salesforce, metric: nps, start: 0, target: 50}
        """,
    )
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    evaluate(engine, replica, list(loaded.key_results()), MID)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    scans = [s for s in selects if not s.lstrip().startswith(("SELECT min(", "SELECT max("))]
    assert len(scans) == 2  # Opportunity and NPS_Response__c


def test_text_ignores_letter_case_beyond_ascii(engine, tmp_path) -> None:
    """``MÜLLER GMBH`` selects ``Müller GmbH`` in SQLite too, whose own lower() is ASCII-only."""
    assert letter_case_counts(engine, tmp_path, MID) == EXPECTED
