"""Shared fixtures: the installed connector plugins and their catalogs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from okrsync.catalog import Catalog, load_plugin_catalog
from okrsync.plugins import PluginRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def registry() -> PluginRegistry:
    """The connector plugins installed in this environment."""
    return PluginRegistry.from_entry_points()


@pytest.fixture(scope="session")
def catalogs(registry: PluginRegistry) -> dict[str, Catalog]:
    """Built-in catalog of each installed connector type."""
    return {name: load_plugin_catalog(registry.get(name)) for name in registry}


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1, started for these tests.

    Skipped, saying why, when PostgreSQL is not installed (``.ci/run`` installs it).
    """
    import os  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    import time  # noqa: PLC0415

    import psycopg  # noqa: PLC0415

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    on_path = shutil.which("initdb")
    initdb = found[-1] if found else Path(on_path) if on_path else None
    if initdb is None:
        pytest.skip(
            "PostgreSQL is not installed (apt-get install postgresql); needed for scale-out tests"
        )
    bindir = initdb.parent
    del tmp_path_factory  # pytest's folders are private to root; PostgreSQL runs as postgres
    data = tempfile.mkdtemp(prefix="okrsync-pg-")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if Path(p).exists()), None
        )
        if runuser is None:
            pytest.skip("runuser is missing: PostgreSQL cannot be started as root without it")
        as_postgres = [runuser, "-u", "postgres", "--"]
    subprocess.run(  # noqa: S603
        [
            *as_postgres,
            str(initdb),
            "-D",
            str(data),
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
            *as_postgres,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(data),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    for _ in range(100):
        try:
            psycopg.connect(dsn, connect_timeout=1).close()
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("the test PostgreSQL server did not start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
