"""A throwaway PostgreSQL server for tests: the core's scale-out tests and any connector's.

The repository's root ``conftest.py`` registers this module as a pytest
plugin, so every test may ask for the session fixture :func:`postgres_url`
(one server for the whole run, skipped with the reason when PostgreSQL is not
installed) and make a database of its own with :func:`fresh_database`.
This module imports pytest (``okrsync[testing]``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["PostgresUnavailableError", "fresh_database", "postgres_server", "postgres_url"]


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be started here (the message says why)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _initdb() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    on_path = shutil.which("initdb")
    initdb = found[-1] if found else Path(on_path) if on_path else None
    if initdb is None:
        raise PostgresUnavailableError(
            "PostgreSQL is not installed (apt-get install postgresql); needed for these tests"
        )
    return initdb


def _as_postgres(data: str) -> list[str]:
    """The command prefix running PostgreSQL as ``postgres`` when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return []
    shutil.chown(data, "postgres", "postgres")
    runuser = shutil.which("runuser") or next(
        (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if Path(p).exists()), None
    )
    if runuser is None:
        raise PostgresUnavailableError(
            "runuser is missing: PostgreSQL cannot be started as root without it"
        )
    return [runuser, "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for as long as the context lasts; its SQLAlchemy URL.

    Raises:
        PostgresUnavailableError: PostgreSQL is not installed.
        RuntimeError: The server did not start.
    """
    import psycopg  # noqa: PLC0415  (only when a server is wanted)

    bindir = _initdb().parent
    data = tempfile.mkdtemp(
        prefix="okrsync-pg-"
    )  # not pytest's folders: PostgreSQL runs as postgres
    try:
        prefix = _as_postgres(data)
        subprocess.run(  # noqa: S603
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603
            [
                *prefix,
                str(bindir / "postgres"),
                "-D",
                data,
                "-p",
                str(port),
                "-k",
                data,
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
            for _ in range(100):
                try:
                    psycopg.connect(dsn, connect_timeout=1).close()
                    break
                except psycopg.OperationalError:
                    time.sleep(0.1)
            else:
                msg = "the test PostgreSQL server did not start"
                raise RuntimeError(msg)
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str, prefix: str = "okrsync") -> Iterator[str]:
    """A new, empty database on the server of ``server_url``, dropped afterwards; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server_url.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1, started once for the test session.

    Skipped, saying why, when PostgreSQL is not installed (``.ci/run`` installs it).
    """
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))
