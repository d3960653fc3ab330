"""Logs without noise: libraries' chatter only when debugging; the daemon says when it syncs next."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
import structlog
from structlog.testing import capture_logs

from okrsync.app import App, load_config, load_mappings_for
from okrsync.daemon import Daemon
from okrsync.logging import HANDLER_NAME, configure_logging
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A stream to log into; logging is restored afterwards."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    yield out
    structlog.reset_defaults()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.NOTSET)


def _library_lines() -> None:
    logging.getLogger("apscheduler.scheduler").info("Added job %r to job store %r", "sync", "x")
    logging.getLogger("apscheduler.executors.default").info("Job executed successfully")
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying (Retry(total=4)) after connection broken by '%s': /x", "refused"
    )
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")


def test_library_chatter_is_left_out_at_info(stream: io.StringIO) -> None:
    """At info the scheduler's info lines and urllib3's retries are dropped, warnings stay."""
    configure_logging("info", "json", stream=stream)
    _library_lines()
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["Run time of job was missed"]


def test_library_chatter_is_kept_at_debug(stream: io.StringIO) -> None:
    """At debug every library line is kept."""
    configure_logging("debug", "json", stream=stream)
    _library_lines()
    assert len(stream.getvalue().splitlines()) == 4


def test_daemon_started_says_when_it_syncs_and_checks_in_next(tmp_path: Path) -> None:
    """`daemon.started` carries the next sync and the next check-in, as UTC times."""
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(
        "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}\n"
    )
    (tmp_path / "okrsync.yaml").write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {tmp_path / 'maps'}\n"
        "http: {port: 0, host: 127.0.0.1}\n"
        "schedules: {sync: {interval: 15m}, check_in: {cron: '0 7 * * MON'}}\n"
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(tmp_path / "okrsync.yaml", registry=registry, env={}, log=False)
    app = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(settings.store_url.get_secret_value()),
        {},
    )
    daemon = Daemon(app, reload_seconds=3600, sync_at_start=False)
    with capture_logs() as logs:
        daemon.start()
    daemon.shutdown()
    started = next(e for e in logs if e["event"] == "daemon.started")
    next_sync = datetime.fromisoformat(started["next_sync_at"])
    next_check_in = datetime.fromisoformat(started["next_check_in_at"])
    assert next_sync.utcoffset() is not None
    assert next_sync.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert next_check_in.weekday() == 0  # a Monday
    assert (next_check_in.hour, next_check_in.minute) == (7, 0)
