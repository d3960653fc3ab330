"""Which table an object is, and its id, stamp and soft-delete columns, as the settings say."""

from __future__ import annotations

import re

import pytest

from okrsync.connector import Cursor
from okrsync.errors import FatalConnectorError
from okrsync.testing.driver import drain

TABLE = (
    "CREATE TABLE deals (id INTEGER PRIMARY KEY, stage VARCHAR(20), modified TIMESTAMP, "
    "updated_at DATE, removed BOOLEAN)"
)


def test_every_table_and_view_is_an_object_by_its_name_in_any_case(
    any_url, execute, connect
) -> None:
    """`Deals` finds the table `deals`; a view is an object too; an unknown name is a missing object."""
    execute(
        any_url,
        TABLE,
        "INSERT INTO deals (id, stage) VALUES (1, 'Won')",
        "CREATE VIEW open_deals AS SELECT id AS deal, stage FROM deals",
    )
    connector = connect(any_url, objects={"open_deals": {"id_column": "deal"}})
    assert connector.describe("Deals").label.lower() == "deals"
    assert drain(connector.pull("Deals", ["Stage"], (), Cursor()))[0] == [
        {"Id": "1", "Stage": "Won"}
    ]
    assert set(connector.describe("open_deals").fields) == {"deal", "stage", "id"}
    with pytest.raises(LookupError):
        connector.describe("no_such_table")
    with pytest.raises(FatalConnectorError, match="no table or view `no_such_table`"):
        connector.pull("no_such_table", [], (), Cursor())


def test_an_object_may_name_another_table(sqlite_url, execute, connect) -> None:
    """`objects.won.table: deals` makes the object `won` read the table `deals`."""
    execute(sqlite_url, TABLE, "INSERT INTO deals (id, stage) VALUES (1, 'Won')")
    connector = connect(sqlite_url, objects={"won": {"table": "deals"}})
    assert drain(connector.pull("won", ["stage"], (), Cursor()))[0] == [{"Id": "1", "stage": "Won"}]


def test_id_names_the_row_id_and_its_type(sqlite_url, execute, connect) -> None:
    """Without a column called `id`, the field `Id` is the id column, typed as it is."""
    execute(
        sqlite_url,
        "CREATE TABLE accounts (account_no INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO accounts VALUES (42, 'Acme')",
    )
    connector = connect(sqlite_url)
    info = connector.describe("accounts")
    assert (info.field("Id").name, info.field("Id").type) == ("Id", "int")
    records = drain(connector.pull("accounts", ["Id", "name"], (), Cursor()))[0]
    assert records == [{"Id": 42, "name": "Acme"}]


def test_a_view_without_a_key_says_which_setting_names_one(sqlite_url, execute, connect) -> None:
    """Describing a view with no primary key and no `id` column names the setting and its variable."""
    execute(
        sqlite_url,
        TABLE,
        "CREATE VIEW stages AS SELECT stage, count(*) AS n FROM deals GROUP BY stage",
    )
    connector = connect(sqlite_url)
    with pytest.raises(FatalConnectorError) as caught:
        connector.describe("stages")
    message = str(caught.value)
    assert "stages has no primary key" in message
    assert (
        "`objects.stages.id_column` (OKRSYNC_CONNECTORS__SQL__OBJECTS__STAGES__ID_COLUMN)"
        in message
    )
    assert caught.value.code == "NO_ID_COLUMN"


def test_a_key_of_several_columns_needs_an_id_column(sqlite_url, execute, connect) -> None:
    """A primary key of two columns cannot be the id: the error says so and which setting to set."""
    execute(sqlite_url, "CREATE TABLE lines (deal INTEGER, line INTEGER, PRIMARY KEY (deal, line))")
    with pytest.raises(FatalConnectorError, match="a primary key of several columns"):
        connect(sqlite_url).describe("lines")


def test_the_default_stamp_applies_where_it_fits_and_a_named_one_must(
    sqlite_url, execute, connect
) -> None:
    """`updated_at` of type DATE is no stamp (the object is read whole); a named stamp must exist and be a timestamp."""
    execute(
        sqlite_url,
        TABLE,
        "INSERT INTO deals (id, stage, modified) VALUES (1, 'Won', '2026-07-01 10:00:00.000000')",
    )
    whole = connect(sqlite_url).pull("deals", ["stage"], (), Cursor())
    drain(whole)
    assert whole.cursor.seen[0].startswith("#sha:")
    stamped = connect(sqlite_url, stamp_column="modified").pull("deals", ["stage"], (), Cursor())
    drain(stamped)
    assert stamped.cursor.stamp == "2026-07-01T10:00:00.000Z"
    assert not any(e.startswith("#sha:") for e in stamped.cursor.seen)
    with pytest.raises(FatalConnectorError) as missing:
        connect(sqlite_url, objects={"deals": {"stamp_column": "changed"}}).describe("deals")
    assert "deals has no column `changed`; fix `objects.deals.stamp_column`" in str(missing.value)
    with pytest.raises(FatalConnectorError) as wrong:
        connect(sqlite_url, objects={"deals": {"stamp_column": "stage"}}).describe("deals")
    assert "`stage` of deals is a string column, not a timestamp" in str(wrong.value)


def test_soft_delete_columns_are_booleans_or_dates(sqlite_url, execute, connect) -> None:
    """A boolean soft-delete column keeps deleted rows out of a first pull; a text one is refused."""
    execute(
        sqlite_url,
        TABLE,
        "INSERT INTO deals (id, stage, removed) VALUES (1, 'a', 0), (2, 'b', 1), (3, 'c', NULL)",
    )
    connector = connect(sqlite_url, objects={"deals": {"deleted_column": "removed"}})
    records = drain(connector.pull("deals", ["stage"], (), Cursor()))[0]
    assert [r["Id"] for r in records] == ["1", "3"]
    with pytest.raises(FatalConnectorError, match="not a boolean or a date"):
        connect(sqlite_url, objects={"deals": {"deleted_column": "stage"}}).describe("deals")


@pytest.mark.postgres
def test_the_schema_setting_chooses_where_objects_are(pg_url, execute, connect) -> None:
    """Objects are the tables of `schema` (default: the database's own, `public`)."""
    execute(
        pg_url,
        "CREATE SCHEMA analytics",
        "CREATE TABLE analytics.usage (id integer PRIMARY KEY, days integer)",
        "INSERT INTO analytics.usage VALUES (1, 9)",
    )
    with pytest.raises(LookupError):
        connect(pg_url).describe("usage")
    connector = connect(pg_url, schema="analytics")
    assert drain(connector.pull("usage", ["days"], (), Cursor()))[0] == [{"Id": "1", "days": 9}]


def test_fields_the_table_lacks_are_named(sqlite_url, execute, connect) -> None:
    """A pull asking for columns the table lacks names them all."""
    execute(sqlite_url, TABLE)
    with pytest.raises(FatalConnectorError, match="deals has no column `amount`, `owner`"):
        connect(sqlite_url).pull("deals", ["stage", "amount", "owner"], (), Cursor())


def test_whoami_names_the_database_the_server_and_the_user(any_url, connect) -> None:
    """`whoami()` (for `okrsync doctor`) says which database, server version and user the connector reaches."""
    said = connect(any_url).whoami()
    if any_url.startswith("sqlite"):
        assert re.fullmatch(r"sqlite 3\.\d+\.\d+ at /.+/source\.db, schema main", said), said
    else:
        assert re.fullmatch(
            r"postgresql \d+\.\d+ at 127\.0\.0\.1:\d+/okrsync_sql_\w+ as postgres, schema public",
            said,
        ), said
