"""Tables as objects, columns as fields: SQL types normalised, values read as Python values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from okrsync.connector import Cursor
from okrsync.testing.driver import drain

PG_TYPES = """
CREATE TYPE deal_stage AS ENUM ('Prospecting', 'Closed Won');
CREATE TABLE typed (
    id bigint PRIMARY KEY,
    small smallint, whole integer, exact numeric(12, 0), amount numeric(12, 2),
    plain numeric, ratio real, wide double precision,
    flag boolean, day date, local timestamp, aware timestamptz,
    code varchar(10), note text, stage deal_stage, uid uuid, doc jsonb, span interval, at time
)
"""
PG_ROW = """
INSERT INTO typed VALUES (
    7, 3, 40, 12, 1234.50, 1.25, 0.5, 2.75, true, '2026-07-01',
    '2026-07-01 09:30:00', '2026-07-01 09:30:00+02', 'A-1', 'long text', 'Closed Won',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [2]}', '1 hour 30 minutes', '09:30'
)
"""
EXPECTED_KINDS = {
    "id": "int",
    "small": "int",
    "whole": "int",
    "exact": "int",
    "amount": "double",
    "plain": "double",
    "ratio": "double",
    "wide": "double",
    "flag": "boolean",
    "day": "date",
    "local": "datetime",
    "aware": "datetime",
    "code": "string",
    "note": "text",
    "stage": "picklist",
    "uid": "string",
    "doc": "string",
    "span": "double",
    "at": "string",
}
EXPECTED_VALUES = {
    "small": 3,
    "whole": 40,
    "exact": 12,
    "amount": 1234.5,
    "plain": 1.25,
    "ratio": 0.5,
    "wide": 2.75,
    "flag": True,
    "day": date(2026, 7, 1),
    "local": datetime(2026, 7, 1, 7, 30, tzinfo=UTC),  # Berlin summer time: UTC+2
    "aware": datetime(2026, 7, 1, 7, 30, tzinfo=UTC),
    "code": "A-1",
    "note": "long text",
    "stage": "Closed Won",
    "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "doc": '{"a": [2], "b": 1}',
    "span": 5400.0,
    "at": "09:30:00",
}


@pytest.mark.postgres
def test_postgresql_types_are_normalised_and_values_typed(pg_url, execute, connect) -> None:
    """Every common PostgreSQL type has its protocol type, and a pull returns Python values of it."""
    execute(pg_url, PG_TYPES, PG_ROW)
    connector = connect(pg_url, timezone="Europe/Berlin")
    info = connector.describe("typed")
    assert {name: info.fields[name].type for name in EXPECTED_KINDS} == EXPECTED_KINDS
    assert info.fields["stage"].picklist == ("Prospecting", "Closed Won")
    assert info.fields["id"].unique
    assert not info.fields["id"].nullable
    assert info.fields["note"].nullable
    assert not info.fields["note"].writable
    records, _, _ = drain(connector.pull("typed", list(EXPECTED_VALUES), (), Cursor()))
    assert records == [{"Id": "7", **EXPECTED_VALUES}]
    record = records[0]
    assert type(record["exact"]) is int
    assert type(record["amount"]) is float
    assert record["local"].tzinfo is UTC


SQLITE_TYPES = """
CREATE TABLE typed (
    id INTEGER PRIMARY KEY, whole INTEGER, exact NUMERIC(12, 0), amount NUMERIC(12, 2),
    ratio REAL, flag BOOLEAN, day DATE, local DATETIME, code VARCHAR(10), note TEXT
)
"""


def test_sqlite_types_and_loose_values_are_read_alike(sqlite_url, execute, connect) -> None:
    """SQLite's declared types are normalised, and values stored as text or numbers are read as the type says."""
    execute(
        sqlite_url,
        SQLITE_TYPES,
        "INSERT INTO typed VALUES (1, 40, 12, 1234.5, 0.5, 1, '2026-07-01', "
        "'2026-07-01 09:30:00.000000', 'A-1', 'long text')",
        "INSERT INTO typed VALUES (2, '41', '13.0', '99.5', 1, 'true', '2026-07-02T00:00:00', "
        "'2026-07-02T09:30:00+02:00', 42, NULL)",
    )
    connector = connect(sqlite_url)
    info = connector.describe("typed")
    kinds = {name: field.type for name, field in info.fields.items()}
    assert kinds == {
        "id": "int",
        "whole": "int",
        "exact": "int",
        "amount": "double",
        "ratio": "double",
        "flag": "boolean",
        "day": "date",
        "local": "datetime",
        "code": "string",
        "note": "text",
    }
    fields = [n for n in kinds if n != "id"]
    records, _, _ = drain(connector.pull("typed", fields, (), Cursor()))
    assert records == [
        {
            "Id": "1",
            "whole": 40,
            "exact": 12,
            "amount": 1234.5,
            "ratio": 0.5,
            "flag": True,
            "day": date(2026, 7, 1),
            "local": datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
            "code": "A-1",
            "note": "long text",
        },
        {
            "Id": "2",
            "whole": 41,
            "exact": 13,
            "amount": 99.5,
            "ratio": 1.0,
            "flag": True,
            "day": date(2026, 7, 2),
            "local": datetime(2026, 7, 2, 7, 30, tzinfo=UTC),
            "code": "42",
            "note": None,
        },
    ]


def test_an_unreadable_value_skips_its_row_with_the_reason(sqlite_url, execute, connect) -> None:
    """A value that is not of its column's type skips that row, saying which column and why; the others are read."""
    execute(
        sqlite_url,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, day DATE, amount REAL)",
        "INSERT INTO t VALUES (1, '2026-07-01', 1.5), (2, 'soon', 2.5), (3, '2026-07-03', 'lots')",
        "INSERT INTO t VALUES (4, '2026-07-04', 4.5)",
    )
    pull = connect(sqlite_url).pull("t", ["day", "amount"], (), Cursor())
    records, _, _ = drain(pull)
    assert [r["Id"] for r in records] == ["1", "4"]
    reasons = dict(pull.skipped)
    assert sorted(reasons) == ["2", "3"]
    assert reasons["2"].startswith("day: ")
    assert reasons["2"].endswith("(expected date)")
    assert reasons["3"].startswith("amount: ")
    assert reasons["3"].endswith("(expected double)")
