"""Fixtures for the sql connector: databases (a SQLite file, a fresh PostgreSQL database) and connectors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
import structlog
from pydantic import SecretStr

from okrsync.logging import HANDLER_NAME
from okrsync.testing.driver import AS_OF
from okrsync.testing.postgres import fresh_database
from okrsync_sql import SqlConnector, SqlSettings, plugin

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _own_logging() -> Iterator[None]:
    """Undo the logging a command set up (its stream is gone once the command returns)."""
    root = logging.getLogger()
    level = root.level
    yield
    structlog.reset_defaults()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file's URL (the file is made by the first write)."""
    return f"sqlite:///{tmp_path / 'source.db'}"


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    with fresh_database(postgres_url, "okrsync_sql") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLite file, then a fresh PostgreSQL database: the same test on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'source.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url"), "okrsync_sql") as url:
        yield url


@pytest.fixture
def execute() -> Iterator[Callable[..., None]]:
    """Run SQL on a database as its owner: ``execute(url, "CREATE …", "INSERT …", **params)``."""
    engines: dict[str, sa.Engine] = {}

    def run(url: str, *statements: str, **params: Any) -> None:
        engine = engines.setdefault(url, sa.create_engine(url))
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), params)

    yield run
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def connect() -> Iterator[Callable[..., SqlConnector]]:
    """A connector through the plugin on a URL, with fast retries; closed after the test."""
    made: list[SqlConnector] = []

    def build(url: str, *, clock: Callable[[], Any] | None = None, **values: Any) -> SqlConnector:
        values = {"retry_backoff_seconds": 0.01, "retry_max_wait_seconds": 0.05, **values}
        settings = SqlSettings(url=SecretStr(url), **values)
        connector = plugin.connect("sql", settings, clock=clock or (lambda: AS_OF))
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()
