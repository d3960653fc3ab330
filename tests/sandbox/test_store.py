"""The sandbox record store: typed columns, joins, conditions, paging, aggregates."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest

from okrsync_sandbox.store import (
    And,
    Cmp,
    Column,
    FieldType,
    Not,
    Or,
    OrderBy,
    Store,
    TableSchema,
    UnknownField,
)


@pytest.fixture
def store():
    """A store with users and 100 opportunities (amount 10·i, won when i is even)."""
    s = Store()
    s.create_table(
        TableSchema.of(
            "User",
            [Column("Id", FieldType.ID), Column("Email", FieldType.EMAIL)],
        )
    )
    s.create_table(
        TableSchema.of(
            "Opportunity",
            [
                Column("Id", FieldType.ID),
                Column("Amount", FieldType.CURRENCY),
                Column("IsWon", FieldType.BOOLEAN),
                Column("CloseDate", FieldType.DATE),
                Column("Stamp", FieldType.DATETIME),
                Column("Key", FieldType.STRING, unique=True),
                Column(
                    "OwnerId", FieldType.REFERENCE, reference_to="User", relationship_name="Owner"
                ),
            ],
        )
    )
    s.insert_many(
        "User", [{"Id": "u1", "Email": "a@x.example"}, {"Id": "u2", "Email": "b@x.example"}]
    )
    s.insert_many(
        "opportunity",
        (
            {
                "Id": f"o{i:03d}",
                "Amount": None if i == 7 else i * 10.0,
                "IsWon": i % 2 == 0,
                "CloseDate": date(2026, 7, 1 + i % 30),
                "Stamp": datetime(2026, 7, 1, 12, i % 60, tzinfo=UTC),
                "Key": f"k{i}",
                "OwnerId": "u2" if i % 3 == 0 else "u1",
            }
            for i in range(100)
        ),
    )
    yield s
    s.close()


def test_values_round_trip_with_their_types(store: Store) -> None:
    """Dates, datetimes, booleans and numbers come back as the Python types they went in as."""
    row = store.get("Opportunity", "o010")
    assert row is not None
    assert row["CloseDate"] == date(2026, 7, 11)
    assert row["Stamp"] == datetime(2026, 7, 1, 12, 10, tzinfo=UTC)
    assert row["IsWon"] is True
    assert row["Amount"] == 100.0


def test_relationship_paths_join_the_parent(store: Store) -> None:
    """A path like Owner.Email reads the referenced row, in selects and conditions."""
    rows = list(
        store.select(
            "Opportunity",
            ["Id", "owner.email"],
            And((Cmp("Owner.Email", "=", "b@x.example"), Cmp("Amount", ">=", 900))),
        )
    )
    assert [r["Id"] for r in rows] == ["o090", "o093", "o096", "o099"]
    assert {r["owner.email"] for r in rows} == {"b@x.example"}


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        (Cmp("Amount", "=", None), 1),
        (Cmp("Amount", "!=", None), 99),
        (Cmp("Amount", "!=", 10.0), 99),  # nulls count as "not equal", as in SOQL
        (Cmp("Amount", "in", (10.0, 20.0, 30.0)), 3),
        (Cmp("Amount", "not in", (10.0, 20.0)), 98),
        (Cmp("Key", "like", "k1%"), 11),
        (Or((Cmp("IsWon", "=", True), Cmp("Amount", "<", 50))), 52),
        (Not(Cmp("IsWon", "=", True)), 50),
        (Cmp("CloseDate", ">=", date(2026, 7, 30)), 3),
        (Cmp("Stamp", "<", datetime(2026, 7, 1, 12, 1, tzinfo=UTC)), 2),
        (Cmp("Amount", "in", ()), 0),
    ],
)
def test_conditions(store: Store, cond, expected: int) -> None:
    """Each operator selects exactly the rows it should."""
    assert store.count("Opportunity", cond) == expected


def test_keyset_paging_visits_every_row_once(store: Store) -> None:
    """Paging with after_rowid returns each row exactly once, in insertion order."""
    seen: list[str] = []
    last = None
    while True:
        page = list(
            store.select("Opportunity", ["Id"], limit=30, after_rowid=last, with_rowid=True)
        )
        if not page:
            break
        seen.extend(r["Id"] for r in page)
        last = page[-1]["_rowid"]
    assert seen == [f"o{i:03d}" for i in range(100)]


def test_order_by_with_nulls(store: Store) -> None:
    """ORDER BY honours direction and NULLS FIRST/LAST."""
    asc = list(store.select("Opportunity", ["Id"], order_by=[OrderBy("Amount")], limit=2))
    assert [r["Id"] for r in asc] == ["o007", "o000"]  # nulls first when ascending
    desc = list(
        store.select("Opportunity", ["Id"], order_by=[OrderBy("Amount", ascending=False)], limit=1)
    )
    assert desc[0]["Id"] == "o099"
    last = list(
        store.select(
            "Opportunity", ["Id"], order_by=[OrderBy("Amount", nulls_first=False)], offset=99
        )
    )
    assert last[0]["Id"] == "o007"


def test_aggregates_match_hand_sums(store: Store) -> None:
    """Sums, counts, averages and extremes per group equal the hand-computed values."""
    # Owner b (i % 3 == 0): i = 0, 3, …, 99 → 34 rows, amounts 10·(0+3+…+99) = 10·1683,
    # latest close day 1 + max(i % 30) = 1 + 27 = July 28
    rows = store.aggregate(
        "Opportunity",
        ["Owner.Email"],
        [("sum", "Amount"), ("count", None), ("count", "Amount"), ("max", "CloseDate")],
        order_by=[OrderBy("Owner.Email")],
    )
    assert rows[1] == ("b@x.example", 16830.0, 34, 34, date(2026, 7, 28))
    total = sum(i * 10.0 for i in range(100) if i != 7)
    assert rows[0][1] + rows[1][1] == total
    (avg,) = store.aggregate("Opportunity", [], [("avg", "Amount")], Cmp("IsWon", "=", True))[0:1]
    assert avg == (sum(i * 10.0 for i in range(0, 100, 2)) / 50,)
    assert store.aggregate(
        "Opportunity", [], [("sum", "Amount"), ("count", None)], Cmp("Amount", ">", 1e9)
    ) == [(None, 0)]
    assert store.aggregate("Opportunity", [], [("count_distinct", "OwnerId")]) == [(2,)]


def test_soft_delete_hides_rows_unless_asked(store: Store) -> None:
    """Deleted rows disappear from queries but remain for include_deleted / only_deleted."""
    assert store.delete("Opportunity", "o001", datetime(2026, 8, 1, tzinfo=UTC))
    assert not store.delete("Opportunity", "o001", datetime(2026, 8, 1, tzinfo=UTC))
    assert store.count("Opportunity") == 99
    assert store.count("Opportunity", include_deleted=True) == 100
    gone = list(store.select("Opportunity", ["Id"], only_deleted=True, with_rowid=True))
    assert [(r["Id"], r["_deleted"]) for r in gone] == [("o001", True)]
    assert store.get("Opportunity", "o001") is None
    assert store.get("Opportunity", "o001", include_deleted=True) is not None


def test_update_and_unique_columns(store: Store) -> None:
    """Updates change only the named fields; a unique column refuses a second equal value."""
    assert store.update("Opportunity", "o002", {"Amount": 5.5, "isWon": False})
    row = store.get("Opportunity", "o002")
    assert row is not None
    assert (row["Amount"], row["IsWon"], row["Key"]) == (5.5, False, "k2")
    assert not store.update("Opportunity", "nope", {"Amount": 1})
    with pytest.raises(Exception, match="UNIQUE"):
        store.insert("Opportunity", {"Id": "o999", "Key": "k2"})


def test_unknown_fields_are_reported(store: Store) -> None:
    """Paths that do not exist raise UnknownField naming the entity and path."""
    with pytest.raises(
        UnknownField, match=r"No such column 'Owner\.Phone' on entity 'Opportunity'"
    ):
        list(store.select("Opportunity", ["Owner.Phone"]))
    with pytest.raises(UnknownField):
        store.insert("Opportunity", {"Id": "x", "Nope": 1})
    with pytest.raises(UnknownField):
        store.count("Opportunity", Cmp("Account.Name", "=", "x"))


def test_columns_can_be_added_later(store: Store) -> None:
    """Provisioning adds columns to an existing object; existing rows read them as null."""
    added = store.add_columns(
        "Opportunity", [Column("Score__c", FieldType.DOUBLE), Column("Amount", FieldType.DOUBLE)]
    )
    assert [c.name for c in added] == ["Score__c"]
    store.update("Opportunity", "o003", {"Score__c": 0.5})
    assert store.count("Opportunity", Cmp("Score__c", "=", None)) == 99


def test_connections_of_finished_threads_are_closed(store: Store) -> None:
    """A server that uses a new thread per request does not pile up connections."""

    def work() -> None:
        store.count("Opportunity")

    for _ in range(30):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    store.count("Opportunity")  # this thread opens or reuses one; the dead ones are closed
    assert store.open_connections <= 3


def test_unique_column_added_later_is_enforced(store: Store) -> None:
    """A unique column added by provisioning refuses duplicate values (SQLite needs an index)."""
    store.add_columns("Opportunity", [Column("Okr_Key", FieldType.STRING, unique=True)])
    store.update("Opportunity", "o001", {"Okr_Key": "q3/a"})
    with pytest.raises(Exception, match="UNIQUE"):
        store.update("Opportunity", "o002", {"Okr_Key": "q3/a"})


def test_deleted_at_and_delete_where(store: Store) -> None:
    """The deletion time is selectable, and rows can be removed by condition."""
    moment = datetime(2026, 8, 2, 9, 30, tzinfo=UTC)
    store.delete("Opportunity", "o004", moment)
    rows = list(store.select("Opportunity", ["Id", "_deleted_at"], only_deleted=True))
    assert rows == [{"Id": "o004", "_deleted_at": moment}]
    assert store.delete_where("Opportunity", Cmp("Amount", "<", 25)) == 3  # o000, o001, o002
    assert store.count("Opportunity", include_deleted=True) == 97
