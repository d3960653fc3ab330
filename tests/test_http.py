"""The daemon's HTTP server (waitress): endpoints answer, stalled clients are cut off, shutdown is clean."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

from okrsync.app import App, load_config
from okrsync.connector import FieldInfo
from okrsync.daemon import Daemon
from okrsync.http import Served, json_response, serve
from okrsync.mapping.loader import load_mappings
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: crm, metric: {count: deals}, target: 10}
"""


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A WSGI app answering every path with its path."""
    return json_response({"path": environ["PATH_INFO"]})(environ, start_response)


def get(url: str, timeout: float = 5) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def threads_named(prefix: str) -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(prefix))


@pytest.fixture
def served() -> Iterator[Served]:
    """``hello`` on a free loopback port; idle connections closed after a second."""
    made = serve(hello, name="test-http", threads=2, channel_timeout=1, cleanup_interval=1)
    yield made
    made.stop()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon over an in-memory CRM, its endpoints on a free port."""
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING)
    (tmp_path / "okrsync.yaml").write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {tmp_path / 'maps'}\n"
        "http: {host: 127.0.0.1, port: 0}\n"
        "schedules: {sync: {interval: 1h}, check_in: {cron: '0 7 * * MON'}}\n"
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(tmp_path / "okrsync.yaml", registry=registry, env={}, log=False)
    crm = InMemoryConnector("crm", objects={"deals": {"amount": FieldInfo("amount", "currency")}})
    app = App(
        settings,
        registry,
        load_mappings(tmp_path / "maps", sources={"crm": "memory"}, catalogs={}),
        open_store(settings.store_url.get_secret_value()),
        {"crm": crm},
    )
    made = Daemon(app, reload_seconds=3600, sync_at_start=False)
    made.start()
    yield made
    made.shutdown()


def test_the_daemon_serves_its_endpoints_on_threads_named_for_it(daemon: Daemon) -> None:
    """/healthz, /readyz and /metrics answer from waitress, on okrsync-http threads; others are 404."""
    assert daemon.http is not None
    base = daemon.http.url
    status, body, headers = get(base + "/healthz")
    assert (status, body) == (200, '{"status":"ok"}')
    assert headers["Content-Type"] == "application/json"
    assert headers["Server"] == "okrsync"
    assert get(base + "/readyz")[0] == 200
    status, body, headers = get(base + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert "okrsync_cycles_total" in body
    assert get(base + "/nope")[:2] == (404, '{"error":"not found"}')
    names = threads_named("okrsync-http")
    assert "okrsync-http" in names
    assert len(names) == 1 + 4  # the server thread and its bounded pool of workers
    # not the sandboxes' serving thread (named for its port); other modules' sandboxes may run
    assert not threads_named(f"sandbox-{daemon.http.port}")


def test_a_stalled_client_neither_blocks_others_nor_stays_connected(served: Served) -> None:
    """A client that never finishes its request does not delay /healthz and is cut off when idle."""
    stalled = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(3)]
    try:
        for sock in stalled:  # more stalled clients than workers
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        began = time.monotonic()
        status, body, _ = get(served.url + "/healthz", timeout=2)
        assert (status, body) == (200, '{"path":"/healthz"}')
        assert time.monotonic() - began < 1
        for sock in stalled:
            sock.settimeout(5)
            assert sock.recv(1024) == b""  # closed by the server, not by us
        assert time.monotonic() - began < 4  # channel timeout 1 s, looked for every second
    finally:
        for sock in stalled:
            sock.close()


def test_stop_ends_the_server_and_its_workers(served: Served) -> None:
    """stop() returns promptly with a client still connected; the port is closed, no thread left."""
    assert get(served.url + "/a")[0] == 200
    idle = socket.create_connection(("127.0.0.1", served.port))
    try:
        began = time.monotonic()
        served.stop()
        assert time.monotonic() - began < 2
    finally:
        idle.close()
    assert not served.thread.is_alive()
    assert not threads_named("test-http")
    with pytest.raises(OSError, match="refused"):
        socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
    served.stop()  # stopping again is harmless
