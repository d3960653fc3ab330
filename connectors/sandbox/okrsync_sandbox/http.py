"""Serving a sandbox CRM on a thread (Werkzeug's threaded server), and JSON responses.

Enough for an emulator on loopback in development and tests; the daemon's
own endpoints run on a production server (:mod:`okrsync.http`).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Served", "json_response", "serve"]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return Response(body, status=status, headers=headers, mimetype="application/json")


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        del code, size

    def send_response(self, code: int, message: str | None = None) -> None:
        """The status line and ``Server``; ``Date`` is the app's (a sandbox: its CRM's clock)."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002  (werkzeug's name)
        logging.getLogger("okrsync_sandbox.http").debug(message, *args, extra={"kind": type})


@dataclass(slots=True)
class Served:
    """A WSGI app served on a thread."""

    server: BaseWSGIServer
    thread: threading.Thread
    scheme: str

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:8443``."""
        host = self.server.server_address[0]
        text = host.decode() if isinstance(host, bytes) else str(host)
        return f"{self.scheme}://{text}:{self.port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve(
    app: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]],
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> Served:
    """Serve ``app`` on ``host:port`` (0: any free port) in a daemon thread."""
    server = make_server(
        host, port, app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
    )
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{port}", daemon=True)
    thread.start()
    return Served(server, thread, "https" if ssl_context else "http")
