"""`okrsync check-in` against the sandbox CRMs: one day's records whatever runs, backfills, exit codes."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select

from okrsync.state.models import CheckInRow
from okrsync_sandbox.runner import start_sandboxes
from okrsync_sandbox.server import SandboxOptions

from .conftest import (
    MAPPINGS,
    Sandbox,
    expected_keys,
    free_port,
    provision,
    read_back_all,
    run_key_results,
    run_okrsync,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync.app import App
    from okrsync.plugins import PluginRegistry

LAST_WEEK = date(2026, 8, 10)
MONDAY = date(2026, 8, 17)
SIZE = 600
"""Rows per CRM: enough for every key result to have a value, small enough to be quick."""


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def week(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry
) -> Iterator[tuple[Sandbox, Path, App]]:
    """CRMs seeded as of last Monday with its check-in recorded, then moved on to this Monday."""
    group = start_sandboxes(SandboxOptions(seed=5, size=SIZE, as_of=_noon(LAST_WEEK)))
    sandbox = Sandbox(group, tmp_path_factory.mktemp("check-in"), registry)
    try:
        config = sandbox.write_config("cron")
        app = sandbox.app(config)
        provision(app)
        assert app.engine().run("check_in", LAST_WEEK).outcome == "succeeded"
        group.advance(_noon(MONDAY))
        yield sandbox, config, app
    finally:
        sandbox.stop()


def check_in(config: Path, day: date, *args: str) -> Any:
    """Run ``okrsync check-in`` for ``day``."""
    return run_okrsync(
        "check-in", "--config", str(config), "--mappings", str(MAPPINGS), "--as-of", str(day), *args
    )


def crm_state(app: App) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Every field of every okrsync record in both CRMs: this week's and last week's."""
    state = read_back_all(app, MONDAY)
    for (name, obj), records in read_back_all(app, LAST_WEEK).items():
        if obj == "check_in":
            state[name, "check_in_last_week"] = records
    return state


def test_check_in_rerun_and_sync_on_one_day_write_the_same_fields(
    week: tuple[Sandbox, Path, App],
) -> None:
    """A check-in, the same check-in again and a sync on the same day leave every field of every record as the first check-in wrote it."""
    _, config, app = week
    first = check_in(config, MONDAY, "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    report = json.loads(first.stdout)
    assert report["check_ins"] == len(run_key_results(app))
    assert report["backfill"] is False
    after_first = crm_state(app)
    wanted = {**expected_keys(app, MONDAY)}
    wanted.update(
        {
            (n, "check_in_last_week"): k
            for (n, o), k in expected_keys(app, LAST_WEEK).items()
            if o == "check_in"
        }
    )
    assert {k: sorted(v) for k, v in after_first.items()} == {
        k: sorted(v) for k, v in wanted.items()
    }

    again = check_in(config, MONDAY, "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    report_again = json.loads(again.stdout)
    assert report_again["key_results"] == report["key_results"]
    assert report_again["objectives"] == report["objectives"]
    assert all(w["upserted"] == 0 for w in report_again["writes"].values()), report_again["writes"]
    assert crm_state(app) == after_first

    sync = run_okrsync(
        "sync",
        "--config",
        str(config),
        "--mappings",
        str(MAPPINGS),
        "--as-of",
        str(MONDAY),
        "--json",
    )
    assert sync.returncode == 0, sync.stderr[-2000:]
    report_sync = json.loads(sync.stdout)
    assert report_sync["key_results"] == report["key_results"]
    assert all(w["upserted"] == 0 for w in report_sync["writes"].values()), report_sync["writes"]
    assert crm_state(app) == after_first


def test_backfill_adds_history_without_touching_key_results(
    week: tuple[Sandbox, Path, App],
) -> None:
    """A check-in for an earlier Monday records its check-ins and leaves the key results as the last sync wrote them."""
    _, config, app = week
    assert app.engine().run("check_in", MONDAY).outcome == "succeeded"
    key_results = {k: v for k, v in read_back_all(app, MONDAY).items() if k[1] != "check_in"}
    earlier = MONDAY - timedelta(weeks=3)
    done = check_in(config, earlier, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["backfill"] is True
    assert "a backfill" in done.stderr
    backfilled = read_back_all(app, earlier)
    assert {k: v for k, v in read_back_all(app, MONDAY).items() if k[1] != "check_in"} == (
        key_results
    )
    for (name, obj), keys in expected_keys(app, earlier).items():
        if obj == "check_in":
            records = backfilled[name, obj]
            assert sorted(records) == sorted(keys), name
            assert {str(r["check_in_date"])[:10] for r in records.values()} == {str(earlier)}
    with Session(app.db) as session:
        days = {row.on for row in session.exec(select(CheckInRow))}
    assert days == {earlier, LAST_WEEK, MONDAY}


def test_check_in_with_both_crms_unreachable_exits_3(
    week: tuple[Sandbox, Path, App], tmp_path: Path
) -> None:
    """With both CRMs unreachable `okrsync check-in` exits 3: nothing synced."""
    _, config, _ = week
    closed = free_port()  # nothing listens there
    dead = tmp_path / config.name
    dead.write_text(
        re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{closed}", config.read_text()), encoding="utf-8"
    )
    env_file = config.with_suffix(".env")
    (tmp_path / env_file.name).write_text(env_file.read_text(), encoding="utf-8")
    down = run_okrsync(
        "check-in",
        "--config",
        str(dead),
        "--mappings",
        str(MAPPINGS),
        "--as-of",
        str(MONDAY),
        "--json",
        OKRSYNC_STORE_URL=f"sqlite:///{tmp_path / 'dead-state.db'}",
        OKRSYNC_CONNECTORS__SALESFORCE__MAX_RETRIES="0",
        OKRSYNC_CONNECTORS__HUBSPOT__MAX_RETRIES="0",
    )
    assert down.returncode == 3, down.stderr[-2000:]
    report = json.loads(down.stdout)
    assert report["key_results"]
    assert all(r["status"] == "error" for r in report["key_results"])
