"""`/readyz` of the daemon against sandbox CRMs that go away and come back.

The connectors reach the sandboxes through TCP relays on fixed loopback ports;
closing a relay is a CRM that went dark (connection refused), reopening it on the
same port is the CRM coming back. The daemon's own cycles run as the scheduler
runs them (``Daemon.cycle``).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.daemon import Daemon
from okrsync.state.db import open_store
from okrsync_sandbox.runner import start_sandboxes
from okrsync_sandbox.server import SandboxOptions

from .conftest import MAPPINGS, Sandbox, free_port, provision

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync.plugins import PluginRegistry

FAST_RETRIES = {
    "OKRSYNC_CONNECTORS__SALESFORCE__MAX_RETRIES": "1",
    "OKRSYNC_CONNECTORS__SALESFORCE__RETRY_BACKOFF_SECONDS": "0.01",
    "OKRSYNC_CONNECTORS__HUBSPOT__MAX_RETRIES": "1",
    "OKRSYNC_CONNECTORS__HUBSPOT__BACKOFF_FACTOR": "0.01",
}
"""A dead CRM is found dead in milliseconds, not after a minute of back-off."""


class Relay:
    """A TCP relay from a fixed loopback port to a server; it can be closed and reopened."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        """Listen on the relay's port (again) and forward every connection."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        """Stop listening and cut every connection: the port refuses connections."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def daemon(tmp_path: Path, registry: PluginRegistry) -> Iterator[tuple[Daemon, list[Relay]]]:
    """A daemon (HTTP on a free port, no scheduled tick in the test's time) on relayed sandboxes."""
    moment = datetime(2026, 8, 17, 12, tzinfo=UTC)
    group = start_sandboxes(SandboxOptions(seed=3, size=300, as_of=moment))
    sandbox = Sandbox(group, tmp_path, registry)
    relays: list[Relay] = []
    daemon: Daemon | None = None
    try:
        config = sandbox.write_config("daemon")
        text = config.read_text()
        for port in sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", text)}):
            relay = Relay(port)
            relay.open()
            relays.append(relay)
            text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{relay.port}")
        config.write_text(
            text
            + "http: {host: 127.0.0.1, port: 0}\nreadiness: {unready_after_cycles: 2}\n"
            + "schedules: {sync: {interval: 1d}, check_in: {cron: '0 7 1 1 *'}}\n",
            encoding="utf-8",
        )
        settings = load_config(config, MAPPINGS, registry=registry, env=FAST_RETRIES, log=False)
        db = open_store(settings.store_url.get_secret_value())
        app = App(
            settings,
            registry,
            load_mappings_for(settings, registry),
            db,
            connect(settings, registry, set(settings.connectors), sandbox.clock, db),
            sandbox.clock,
        )
        sandbox.apps.append(app)
        provision(app)
        daemon = Daemon(app, reload_seconds=3600, sync_at_start=False)
        daemon.start()
        yield daemon, relays
    finally:
        if daemon is not None:
            daemon.shutdown()
        for relay in relays:
            relay.close()
        sandbox.stop()


def readyz(d: Daemon) -> tuple[int, dict[str, object]]:
    """Status and body of ``/readyz``."""
    assert d.http is not None
    try:
        with urllib.request.urlopen(d.http.url + "/readyz", timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_readyz_turns_unready_while_the_crms_are_dark_and_ready_when_they_return(
    daemon: tuple[Daemon, list[Relay]],
) -> None:
    """Cycles against unreachable CRMs make /readyz 503 after the configured count; one good cycle makes it 200."""
    d, relays = daemon
    d.cycle("sync")
    status, body = readyz(d)
    assert (status, body["cycles_synced_nothing"], body["last_outcome"]) == (200, 0, "succeeded")
    for relay in relays:
        relay.close()
    d.cycle("sync")
    status, body = readyz(d)
    assert (status, body["cycles_synced_nothing"]) == (200, 1), body
    assert d.last_outcome == "partial"  # every pull failed, yet the run is only "partial"
    d.cycle("sync")
    status, body = readyz(d)
    assert status == 503, body
    assert body["reason"] == "2 cycles in a row synced nothing"
    for relay in relays:
        relay.open()
    d.cycle("sync")
    status, body = readyz(d)
    assert (status, body["cycles_synced_nothing"]) == (200, 0), body
