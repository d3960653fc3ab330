"""Row filters pushed down as SQL: exactly the matching rows where SQL can say it, more where it cannot, never fewer."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from okrsync.connector import Cursor, Predicate
from okrsync.testing.driver import drain, ids_of

ROWS = """
INSERT INTO t (id, name, amount, won, day, at) VALUES
    (1, 'Müller GmbH', 100, :yes, '2026-07-01', :at1),
    (2, 'ACME', 250.5, :no, '2026-07-15', :at2),
    (3, 'acme', NULL, NULL, NULL, NULL),
    (4, 'Beta', 1000, :yes, '2026-09-30', :at4),
    (5, NULL, 5, :no, '2026-10-01', :at5)
"""
ALL = {"1", "2", "3", "4", "5"}

CASES: dict[str, tuple[tuple[Predicate, ...], set[str]]] = {
    "text eq in any case": ((Predicate("name", "eq", "acme"),), {"2", "3"}),
    "text in": ((Predicate("name", "in", ("ACME", "beta")),), {"2", "3", "4"}),
    "text ne keeps empty": ((Predicate("name", "ne", "acme"),), {"1", "4", "5"}),
    "text not_in keeps empty": ((Predicate("name", "not_in", ("Acme",)),), {"1", "4", "5"}),
    "number gte": ((Predicate("amount", "gte", 250.5),), {"2", "4"}),
    "number lt": ((Predicate("amount", "lt", 100),), {"5"}),
    "number ne keeps empty": ((Predicate("amount", "ne", 100),), {"2", "3", "4", "5"}),
    "number in": ((Predicate("amount", "in", (5, 1000)),), {"4", "5"}),
    "boolean eq": ((Predicate("won", "eq", True),), {"1", "4"}),
    "boolean ne keeps empty": ((Predicate("won", "ne", True),), {"2", "3", "5"}),
    "is null": ((Predicate("amount", "is_null", True),), {"3"}),
    "is not null": ((Predicate("amount", "is_null", False),), {"1", "2", "4", "5"}),
    "date window": (
        (Predicate("day", "gte", date(2026, 7, 15)), Predicate("day", "lte", date(2026, 9, 30))),
        {"2", "4"},
    ),
    "date eq": ((Predicate("day", "eq", date(2026, 7, 1)),), {"1"}),
    "timestamp gte a day": ((Predicate("at", "gte", date(2026, 7, 2)),), {"2", "4", "5"}),
    "timestamp lte a day": ((Predicate("at", "lte", date(2026, 7, 1)),), {"1"}),
    "timestamp eq a day": ((Predicate("at", "eq", date(2026, 9, 30)),), {"4"}),
    "timestamp gt a day": ((Predicate("at", "gt", date(2026, 9, 30)),), {"5"}),
    "timestamp lt a day": ((Predicate("at", "lt", date(2026, 7, 2)),), {"1"}),
    "timestamp by a moment's UTC day": (
        (Predicate("at", "eq", datetime.fromisoformat("2026-07-02T01:30:00+02:00")),),
        {"1"},  # 2026-07-01 23:30 UTC
    ),
}
WIDENED: dict[str, tuple[tuple[Predicate, ...], set[str]]] = {
    "text beyond ASCII": ((Predicate("name", "eq", "MÜLLER GMBH"),), {"1"}),
    "text order": ((Predicate("name", "gt", "b"),), {"1", "4"}),
    "timestamp ne": ((Predicate("at", "ne", date(2026, 7, 1)),), {"2", "4", "5"}),
    "a number for text": ((Predicate("name", "eq", 100),), set()),
}


@pytest.fixture
def table(any_url, execute) -> str:
    """The five rows, on SQLite and on PostgreSQL."""
    timestamp = "TIMESTAMP WITH TIME ZONE" if any_url.startswith("postgresql") else "DATETIME"
    execute(
        any_url,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40), amount NUMERIC(10, 2), "
        f"won BOOLEAN, day DATE, at {timestamp})",
    )
    moments = {
        "at1": datetime.fromisoformat("2026-07-01T23:30:00+00:00"),
        "at2": datetime.fromisoformat("2026-07-02T00:30:00+00:00"),
        "at4": datetime.fromisoformat("2026-09-30T12:00:00+00:00"),
        "at5": datetime.fromisoformat("2026-10-01T00:00:00+00:00"),
    }
    engine = sa.create_engine(any_url)
    columns = sa.Table("t", sa.MetaData(), autoload_with=engine).c
    statement = sa.text(ROWS).bindparams(
        sa.bindparam("at1", type_=columns.at.type),
        sa.bindparam("at2", type_=columns.at.type),
        sa.bindparam("at4", type_=columns.at.type),
        sa.bindparam("at5", type_=columns.at.type),
        sa.bindparam("yes", type_=sa.Boolean()),
        sa.bindparam("no", type_=sa.Boolean()),
    )
    with engine.begin() as conn:
        conn.execute(statement, {**moments, "yes": True, "no": False})
    engine.dispose()
    return any_url


def pulled(connect, url: str, filters) -> set[str]:
    records, _, _ = drain(
        connect(url).pull("t", ["name", "amount", "won", "day", "at"], filters, Cursor())
    )
    return set(ids_of(records))


@pytest.mark.parametrize("case", CASES)
def test_a_filter_sql_can_say_selects_exactly_its_rows(table, connect, case) -> None:
    """Each operator on text, numbers, booleans, dates and timestamps selects exactly the rows okrsync means."""
    group, expected = CASES[case]
    assert pulled(connect, table, (group,)) == expected


@pytest.mark.parametrize("case", WIDENED)
def test_a_filter_sql_cannot_say_is_left_to_the_replica(table, connect, case) -> None:
    """A condition SQL would judge otherwise than okrsync (beyond ASCII, text order, a type mismatch) selects every row."""
    group, matching = WIDENED[case]
    got = pulled(connect, table, (group,))
    assert got >= matching
    assert got == ALL


def test_groups_are_any_of_and_a_group_keeps_what_sql_can_say(table, connect) -> None:
    """Groups are OR-ed; within a group the conditions SQL can say still narrow the rows."""
    won = Predicate("won", "eq", True)
    small = Predicate("amount", "lt", 10)
    assert pulled(connect, table, ((won,), (small,))) == {"1", "4", "5"}
    umlaut = Predicate("name", "eq", "MÜLLER GMBH")
    assert pulled(connect, table, ((umlaut, won),)) == {"1", "4"}


def test_values_are_bound_never_written_into_the_sql(table, connect) -> None:
    """A value full of SQL is a bound parameter: it matches nothing, breaks nothing, and never appears in the statement."""
    nasty = "x'); DROP TABLE t; --"
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        del conn, cursor, args
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        assert pulled(connect, table, ((Predicate("name", "eq", nasty.lower()),),)) == set()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert statements
    assert not any("drop table" in s.lower() for s in statements)
    assert pulled(connect, table, ()) == ALL


def test_names_that_need_quoting_are_quoted(any_url, execute, connect) -> None:
    """A table and columns named with spaces, capitals and reserved words are read and filtered."""
    execute(
        any_url,
        'CREATE TABLE "Order Items" ("Item Id" INTEGER PRIMARY KEY, "select" VARCHAR(10), "Unit Price" REAL)',
        "INSERT INTO \"Order Items\" VALUES (1, 'a', 2.5), (2, 'b', 7.5)",
    )
    connector = connect(any_url)
    pull = connector.pull(
        "Order Items", ["select", "Unit Price"], ((Predicate("Unit Price", "gt", 5),),), Cursor()
    )
    assert drain(pull)[0] == [{"Id": "2", "select": "b", "Unit Price": 7.5}]
