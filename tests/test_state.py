"""The state store: migrations that keep data, refusal of newer schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from okrsync.errors import ConfigurationError
from okrsync.state.db import SCHEMA_VERSION, open_store, table_names
from okrsync.state.models import CursorRow, RunRow

if TYPE_CHECKING:
    from pathlib import Path


def test_fresh_store_has_every_table_at_the_latest_version(tmp_path: Path) -> None:
    """Opening a new store creates all tables and records every migration."""
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert {"okrsync_run", "okrsync_cursor", "okrsync_outbox", "okrsync_check_in"} <= set(
        table_names(engine)
    )
    with engine.connect() as conn:
        versions = [
            r[0] for r in conn.execute(sa.text("SELECT version FROM okrsync_schema_version"))
        ]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_upgrade_from_v1_keeps_runs(tmp_path: Path) -> None:
    """A store written by schema v1 is upgraded in place and keeps its rows."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the v1 layout of okrsync_run, with one run
        conn.execute(
            sa.text(
                "CREATE TABLE okrsync_schema_version (version INTEGER PRIMARY KEY, applied_at DATETIME)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO okrsync_schema_version VALUES (1, '2026-08-01 00:00:00')")
        )
        conn.execute(
            sa.text(
                "CREATE TABLE okrsync_run (id VARCHAR(32) PRIMARY KEY, workspace VARCHAR(64), kind VARCHAR(16),"
                " as_of DATE, started_at DATETIME, finished_at DATETIME, outcome VARCHAR(32), pulled INTEGER,"
                " skipped INTEGER, written INTEGER, unchanged INTEGER, failed INTEGER, api_calls JSON, error TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO okrsync_run VALUES ('r1', 'w', 'sync', '2026-08-01', '2026-08-01 00:00:00', NULL,"
                " 'succeeded', 5, 0, 2, 0, 0, '{}', NULL)"
            )
        )
        conn.execute(  # the v1 layouts that v3 extends
            sa.text(
                "CREATE TABLE okrsync_cursor (connector VARCHAR(64), object VARCHAR(128),"
                " signature VARCHAR(64), cursor JSON, updated_at DATETIME,"
                " PRIMARY KEY (connector, object))"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE okrsync_evaluation (run_id VARCHAR(32), kr_key VARCHAR(255),"
                " as_of DATE, value FLOAT, progress FLOAT, score FLOAT, expected FLOAT,"
                " forecast_score FLOAT, status VARCHAR(16), error TEXT,"
                " PRIMARY KEY (run_id, kr_key))"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO okrsync_cursor VALUES ('sf', 'Opportunity', 'sig', '{}',"
                " '2026-08-01 00:00:00')"
            )
        )
    upgraded = open_store(url)
    inspector = sa.inspect(upgraded)
    assert {"changed_run", "pulled"} <= {c["name"] for c in inspector.get_columns("okrsync_cursor")}
    assert "basis" in {c["name"] for c in inspector.get_columns("okrsync_evaluation")}
    assert "ix_okrsync_evaluation_basis" in {
        i["name"] for i in inspector.get_indexes("okrsync_evaluation")
    }
    assert "okrsync_schema_cache" in inspector.get_table_names()
    with Session(upgraded) as session:
        cursor = session.get(CursorRow, ("sf", "Opportunity"))
        assert cursor is not None
        assert (cursor.signature, cursor.changed_run, cursor.pulled) == ("sig", None, None)
    with Session(upgraded) as session:
        run = session.get(RunRow, "r1")
        assert run is not None
        assert (run.pulled, run.quota) == (5, None)
        run.quota = {"salesforce": {"remaining": 14000, "limit": 15000}}
        session.add(run)
        session.add(
            RunRow(
                id="r2",
                workspace="w",
                kind="sync",
                as_of=date(2026, 8, 2),
                started_at=datetime(2026, 8, 2, tzinfo=UTC),
            )
        )
        session.commit()
        assert session.get(RunRow, "r1").quota == {
            "salesforce": {"remaining": 14000, "limit": 15000}
        }  # type: ignore[union-attr]


def test_newer_store_is_refused(tmp_path: Path) -> None:
    """A store migrated by a newer okrsync is not misread."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_store(url)
    with sa.create_engine(url).begin() as conn:
        conn.execute(
            sa.text("INSERT INTO okrsync_schema_version VALUES (99, '2030-01-01 00:00:00')")
        )
    with pytest.raises(ConfigurationError, match="schema version 99, newer than this okrsync"):
        open_store(url)
