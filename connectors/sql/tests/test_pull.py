"""Incremental pulls: late commits, local timestamps, soft and hard deletes, whole reads, bounded pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from okrsync.connector import Cursor
from okrsync.testing.driver import drain, ids_of
from okrsync_sql._ids import LIMIT


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The time the test set."""
        return self.now


def pages(pull) -> list[tuple[list[str], list[str], bool]]:
    """Each page as (record ids, deleted ids, reset)."""
    return [(ids_of(p.records), list(p.deleted), p.reset) for p in pull]


# -- late commits ------------------------------------------------------------------------


def _late_commit(
    pg_url, execute, connect, lookback: float
) -> tuple[list[str], list[str], list[str]]:
    """Rows of three pulls around a transaction stamped before, and committed after, the first."""
    execute(
        pg_url,
        "CREATE TABLE t (id integer PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now())",
        "INSERT INTO t (id, v, updated_at) VALUES (1, 'old', now() - interval '1 day')",
    )
    connector = connect(pg_url, lookback_seconds=lookback, clock=lambda: datetime.now(UTC))
    cold = connector.pull("t", ["v"], (), Cursor())
    drain(cold)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as late:
            late.begin()
            late.execute(sa.text("INSERT INTO t (id, v) VALUES (2, 'late')"))  # stamped now
            execute(
                pg_url, "INSERT INTO t (id, v) VALUES (3, 'early')"
            )  # stamped later, committed first
            first = connector.pull("t", ["v"], (), cold.cursor)
            seen_first = ids_of(drain(first)[0])
            late.commit()
    finally:
        engine.dispose()
    second = connector.pull("t", ["v"], (), first.cursor)
    seen_second = ids_of(drain(second)[0])
    third = connector.pull("t", ["v"], (), second.cursor)
    return seen_first, seen_second, ids_of(drain(third)[0])


@pytest.mark.postgres
def test_a_row_committed_after_a_pull_but_stamped_before_it_is_read_next_time(
    pg_url, execute, connect
) -> None:
    """A transaction stamped before a pull and committed after it shows up in the next pull; nothing twice."""
    first, second, third = _late_commit(pg_url, execute, connect, lookback=300)
    assert first == ["3"]
    assert second == ["2"]
    assert third == []


@pytest.mark.postgres
def test_without_a_lookback_that_late_row_is_lost(pg_url, execute, connect) -> None:
    """The same late commit is missed with `lookback_seconds: 0`: the lookback is what finds it."""
    first, second, _ = _late_commit(pg_url, execute, connect, lookback=0)
    assert first == ["3"]
    assert second == []


# -- local timestamps ------------------------------------------------------------------------


@pytest.mark.postgres
def test_timestamps_without_a_zone_are_read_in_the_configured_one(pg_url, execute, connect) -> None:
    """A `timestamp` column holding Berlin wall time gives UTC stamps and windows with `timezone: Europe/Berlin`."""
    execute(
        pg_url,
        "CREATE TABLE t (id integer PRIMARY KEY, v text, updated_at timestamp NOT NULL)",
        "INSERT INTO t VALUES (1, 'a', '2026-07-01 10:00:00')",
    )
    clock = Clock(datetime(2026, 7, 1, 8, 30, tzinfo=UTC))  # 10:30 in Berlin
    connector = connect(pg_url, timezone="Europe/Berlin", lookback_seconds=60, clock=clock)
    cold = connector.pull("t", ["updated_at"], (), Cursor())
    records, _, _ = drain(cold)
    assert records == [{"Id": "1", "updated_at": datetime(2026, 7, 1, 8, 0, tzinfo=UTC)}]
    assert cold.cursor.stamp == "2026-07-01T08:00:00.000Z"
    execute(pg_url, "INSERT INTO t VALUES (2, 'b', '2026-07-01 10:45:00')")  # 08:45 UTC
    clock.now = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    warm = connector.pull("t", ["v"], (), cold.cursor)
    assert ids_of(drain(warm)[0]) == ["2"]
    assert warm.cursor.stamp == "2026-07-01T08:45:00.000Z"


# -- deletions -------------------------------------------------------------------------------


def test_a_soft_delete_by_date_is_reported_once_and_a_restore_is_a_change(
    any_url, execute, connect
) -> None:
    """A row whose `deleted_at` is set is reported deleted once; cleared again, it is a change."""
    execute(
        any_url,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(5), updated_at TIMESTAMP NOT NULL, "
        "deleted_at TIMESTAMP)",
        "INSERT INTO t VALUES (1, 'a', '2026-07-01 10:00:00', NULL), "
        "(2, 'b', '2026-07-01 10:00:00', '2026-06-30 10:00:00')",
    )
    clock = Clock(datetime(2026, 7, 2, tzinfo=UTC))
    connector = connect(
        any_url, deleted_column="deleted_at", objects={"t": {"hard_deletes": False}}, clock=clock
    )
    cold = connector.pull("t", ["v"], (), Cursor())
    assert pages(cold) == [(["1"], [], False)]  # the deleted row is not read
    execute(
        any_url,
        "UPDATE t SET deleted_at = '2026-07-02 00:00:01', updated_at = '2026-07-02 00:00:01' WHERE id = 1",
    )
    clock.now += timedelta(minutes=1)
    gone = connector.pull("t", ["v"], (), cold.cursor)
    assert pages(gone) == [([], ["1"], False)]
    clock.now += timedelta(minutes=1)
    again = connector.pull("t", ["v"], (), gone.cursor)
    assert pages(again) == []
    execute(
        any_url, "UPDATE t SET deleted_at = NULL, updated_at = '2026-07-02 00:03:00' WHERE id = 1"
    )
    clock.now += timedelta(minutes=2)
    back = connector.pull("t", ["v"], (), again.cursor)
    assert pages(back) == [(["1"], [], False)]


def _stamped(url: str, execute, *, ids: str = "INTEGER", count: int = 3, key=str) -> list[str]:
    execute(
        url, f"CREATE TABLE t (id {ids} PRIMARY KEY, v VARCHAR(5), updated_at TIMESTAMP NOT NULL)"
    )
    made = [key(i) for i in range(1, count + 1)]
    engine = sa.create_engine(url)
    table = sa.Table("t", sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {
                    "id": i if ids != "INTEGER" else int(i),
                    "v": "x",
                    "updated_at": datetime(2026, 7, 1),  # noqa: DTZ001  (a column without a zone)
                }
                for i in made
            ],
        )
    engine.dispose()
    return made


def test_hard_deletes_are_found_at_the_deletion_check_cadence(any_url, execute, connect) -> None:
    """A row deleted for good is reported by the first pull at least `deletion_check_seconds` after the last check."""
    _stamped(any_url, execute)
    clock = Clock(datetime(2026, 7, 2, tzinfo=UTC))
    connector = connect(any_url, deletion_check_seconds=3600, clock=clock)
    cold = connector.pull("t", ["v"], (), Cursor())
    drain(cold)
    execute(any_url, "DELETE FROM t WHERE id = 2")
    clock.now += timedelta(minutes=30)
    early = connector.pull("t", ["v"], (), cold.cursor)
    assert pages(early) == []
    clock.now += timedelta(minutes=31)
    due = connector.pull("t", ["v"], (), early.cursor)
    assert pages(due) == [([], ["2"], False)]
    clock.now += timedelta(hours=2)
    after = connector.pull("t", ["v"], (), due.cursor)
    assert pages(after) == []


def test_an_append_only_object_lists_no_ids(sqlite_url, execute, connect) -> None:
    """With `hard_deletes: false` no id is listed: a pull with nothing changed is one query."""
    _stamped(sqlite_url, execute)
    clock = Clock(datetime(2026, 7, 2, tzinfo=UTC))
    connector = connect(
        sqlite_url, deletion_check_seconds=0, objects={"t": {"hard_deletes": False}}, clock=clock
    )
    cold = connector.pull("t", ["v"], (), Cursor())
    drain(cold)
    assert not any(entry.startswith("#") for entry in cold.cursor.seen)
    execute(sqlite_url, "DELETE FROM t WHERE id = 2")
    clock.now += timedelta(hours=2)
    before = connector.usage().calls
    quiet = connector.pull("t", ["v"], (), cold.cursor)
    assert pages(quiet) == []
    assert connector.usage().calls - before == 1


def test_text_ids_are_reconciled_too(any_url, execute, connect) -> None:
    """Ids that are not numbers (UUIDs) are compared as text; deleted ones are reported."""
    made = _stamped(
        any_url, execute, ids="VARCHAR(36)", count=5, key=lambda i: str(uuid.UUID(int=i))
    )
    clock = Clock(datetime(2026, 7, 2, tzinfo=UTC))
    connector = connect(any_url, deletion_check_seconds=0, clock=clock)
    cold = connector.pull("t", ["v"], (), Cursor())
    assert sorted(ids_of(drain(cold)[0])) == sorted(made)
    execute(any_url, "DELETE FROM t WHERE id IN (:a, :b)", a=made[1], b=made[3])
    clock.now += timedelta(minutes=1)
    warm = connector.pull("t", ["v"], (), cold.cursor)
    assert pages(warm) == [([], sorted([made[1], made[3]]), False)]


def test_more_ids_than_a_cursor_keeps_are_reconciled_by_reading_the_object_again(
    sqlite_url, execute, connect
) -> None:
    """When the known ids outgrow the cursor, the next check reads the object whole (reset) and so drops deleted rows."""
    count = LIMIT // 40 + 100  # UUIDs: about 40 characters each in the cursor
    made = _stamped(
        sqlite_url, execute, ids="VARCHAR(36)", count=count, key=lambda i: str(uuid.UUID(int=i))
    )
    clock = Clock(datetime(2026, 7, 2, tzinfo=UTC))
    connector = connect(sqlite_url, deletion_check_seconds=0, page_size=1000, clock=clock)
    cold = connector.pull("t", ["v"], (), Cursor())
    drain(cold)
    assert "#t!" in cold.cursor.seen
    assert sum(len(e) for e in cold.cursor.seen) < 1000
    execute(sqlite_url, "DELETE FROM t WHERE id = :gone", gone=made[7])
    clock.now += timedelta(minutes=1)
    warm = list(connector.pull("t", ["v"], (), cold.cursor))
    assert warm[0].reset
    assert not any(p.reset for p in warm[1:])
    ids = [r["Id"] for p in warm for r in p.records]
    assert sorted(ids) == sorted(set(made) - {made[7]})


# -- whole reads ---------------------------------------------------------------------------------


def test_an_object_without_a_stamp_is_reported_only_when_its_content_changed(
    any_url, execute, connect
) -> None:
    """A view without a stamp is read whole: unchanged, nothing is reported; changed, it is reported anew (reset)."""
    execute(
        any_url,
        "CREATE TABLE base (id INTEGER PRIMARY KEY, v INTEGER)",
        "INSERT INTO base VALUES (1, 10), (2, 20), (3, 30)",
        "CREATE VIEW big AS SELECT id AS key, v FROM base WHERE v >= 20",
    )
    connector = connect(any_url, page_size=1, objects={"big": {"id_column": "key"}})
    first = connector.pull("big", ["v"], (), Cursor())
    assert pages(first) == [(["2"], [], False), (["3"], [], False)]
    quiet = connector.pull("big", ["v"], (), first.cursor)
    assert pages(quiet) == []
    assert quiet.cursor == first.cursor
    execute(any_url, "UPDATE base SET v = 25 WHERE id = 1")
    changed = connector.pull("big", ["v"], (), quiet.cursor)
    assert pages(changed) == [(["1"], [], True), (["2"], [], False), (["3"], [], False)]
    execute(any_url, "DELETE FROM base")
    empty = connector.pull("big", ["v"], (), changed.cursor)
    assert pages(empty) == [([], [], True)]


# -- bounded reads --------------------------------------------------------------------------------


def test_every_read_is_a_page_of_its_own_query(sqlite_url, execute, connect) -> None:
    """A first pull of 250 rows at 100 a page is three LIMITed queries after the newest stamp; no query reads more."""
    _stamped(sqlite_url, execute, count=250)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        del conn, cursor, args
        statements.append(" ".join(statement.split()))

    connector = connect(sqlite_url, page_size=100)
    connector.describe("t")
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        sizes = [len(p.records) for p in connector.pull("t", ["v"], (), Cursor())]
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert sizes == [100, 100, 50]
    assert len(statements) == 4
    assert "max(" in statements[0].lower()
    assert all(s.endswith("LIMIT ? OFFSET ?") for s in statements[1:])
