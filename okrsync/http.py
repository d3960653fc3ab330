"""The daemon's HTTP server: waitress, a production WSGI server, on a thread of its own.

waitress reads requests asynchronously on the server thread and hands a
worker of a bounded pool only a whole request, so a slow or stalled client
holds no worker; a connection idle for longer than the channel timeout is
closed, and past the connection limit new connections wait. :meth:`Served.stop`
lets requests in flight finish, then closes every socket and ends the thread.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from waitress.server import BaseWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher
from waitress.wasyncore import close_all

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Response", "Served", "json_response", "serve"]

THREADS = 4
"""Workers serving requests (the endpoints answer in milliseconds)."""
CHANNEL_TIMEOUT_SECONDS = 30
"""A connection with no activity for this long is closed."""
CONNECTION_LIMIT = 100
"""Open connections past which the server stops accepting until some close."""
STOP_SECONDS = 5
"""How long :meth:`Served.stop` waits for requests in flight."""


class _NamedWorkers(ThreadedTaskDispatcher):
    """waitress's worker pool, its threads named after the server's (``okrsync-http-0``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def start_new_thread(self, target: Callable[[int], Any], thread_no: int) -> None:
        """Start worker ``thread_no`` as a daemon thread named for the server."""
        thread = threading.Thread(
            target=target, name=f"{self.name}-{thread_no}", args=(thread_no,), daemon=True
        )
        thread.start()


@dataclass(slots=True)
class Served:
    """A WSGI app served by waitress on a thread."""

    server: BaseWSGIServer
    thread: threading.Thread
    sockets: dict[int, Any]
    """The server's socket map (waitress's): the listening socket, connections, its trigger."""
    host: str
    port: int
    """The bound address."""

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: int = STOP_SECONDS) -> None:
        """Let requests in flight finish (``timeout`` s at most), close sockets, end the thread."""
        if not self.thread.is_alive():
            return
        self.server.task_dispatcher.shutdown(timeout=timeout)
        # the sockets belong to the server thread: it closes them, and its loop ends with none left
        trigger: Any = self.server.trigger  # typeshed's stub calls it an int
        trigger.pull_trigger(lambda: close_all(self.sockets))
        self.thread.join(timeout=timeout)


def serve(
    app: WSGIApplication,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    name: str = "okrsync-http",
    threads: int = THREADS,
    channel_timeout: int = CHANNEL_TIMEOUT_SECONDS,
    connection_limit: int = CONNECTION_LIMIT,
    cleanup_interval: int = CHANNEL_TIMEOUT_SECONDS,
) -> Served:
    """Serve ``app`` on ``host:port`` (0: any free port) in a daemon thread called ``name``.

    ``cleanup_interval``: how often idle connections are looked for (seconds).
    """
    sockets: dict[int, Any] = {}
    workers = _NamedWorkers(name)
    workers.set_thread_count(threads)
    server = create_server(
        app,
        sockets,
        _dispatcher=workers,  # waitress's way to bring one's own worker pool
        host=host,
        port=port,
        threads=threads,
        channel_timeout=channel_timeout,
        cleanup_interval=cleanup_interval,
        connection_limit=connection_limit,
        ident="okrsync",
        clear_untrusted_proxy_headers=True,
    )
    if not isinstance(server, BaseWSGIServer):  # pragma: no cover  (one host and port: one socket)
        server.close()
        msg = f"{host}:{port} resolves to several addresses; give one"
        raise TypeError(msg)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    bound_host, bound_port = server.getsockname()
    return Served(server, thread, sockets, str(bound_host), int(bound_port))


@dataclass(frozen=True, slots=True)
class Response:
    """A whole response, itself a WSGI application (``response(environ, start_response)``)."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Send the status line and headers; return the body."""
        del environ
        start_response(
            f"{self.status} {HTTPStatus(self.status).phrase}",
            [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))],
        )
        return [self.body]


def json_response(data: Any, status: int = 200) -> Response:
    """Compact JSON (values it cannot encode as their text)."""
    body = json.dumps(data, separators=(",", ":"), default=str).encode()
    return Response(body, status)
