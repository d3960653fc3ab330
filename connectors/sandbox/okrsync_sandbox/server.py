"""The sandbox CRMs' WSGI app base (faults, accounting), options and admin API.

An emulator subclasses :class:`SandboxApp`: it declares its routes, how to
check credentials and how its CRM renders each fault; the base adds latency,
counts every call, draws faults, and hands partial-batch faults to the handler.
The server thread and JSON responses come from :mod:`okrsync_sandbox.http` (re-exported).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import http_date
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from okrsync_sandbox.faults import Fault, FaultInjector, FaultKind, FaultSpec
from okrsync_sandbox.http import Served, json_response, serve

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from okrsync_sandbox.accounting import Accounting

__all__ = [
    "AdminApp",
    "RunningSandbox",
    "SandboxApp",
    "SandboxOptions",
    "Served",
    "json_response",
    "serve",
]

FAULT_KEY = "okrsync.fault"
"""Where a partial-batch fault for the handler is kept in the WSGI environ."""


@dataclass(slots=True)
class SandboxOptions:
    """How to start a sandbox CRM."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 1
    size: str | int = "small"
    data_dir: Path | None = None
    faults: FaultSpec = field(default_factory=FaultSpec)
    as_of: datetime | None = None
    """The sandbox's "now": data is shown as of this moment (default: the real now)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """CRM-specific settings (daily quotas, page sizes) by name."""


class RunningSandbox(Protocol):
    """A started sandbox CRM."""

    name: str
    faults: FaultInjector

    def info(self) -> dict[str, Any]:
        """What a client needs to connect (URLs, CA file, credentials), JSON-ready."""
        ...

    def connector_settings(self) -> dict[str, Any]:
        """Non-secret connector settings pointing at this sandbox."""
        ...

    def connector_secrets(self) -> dict[str, str]:
        """Secret connector settings (field name → value) for the environment."""
        ...

    def stop(self) -> None:
        """Stop serving and release the store."""
        ...

    def advance(self, as_of: datetime) -> dict[str, int]:
        """Move the sandbox's clock and seeded data to ``as_of`` (records keep their ids)."""
        ...


class SandboxApp:
    """Base of an emulated CRM API (a WSGI application).

    Subclasses set :attr:`crm`, :attr:`url_map` (endpoint names map to
    ``on_<endpoint>`` methods taking the request and the URL arguments) and
    :attr:`batch_endpoints`, and implement :meth:`authenticate`,
    :meth:`fault_response` and :meth:`error_response`.
    """

    crm = "crm"
    url_map = Map()
    batch_endpoints: frozenset[str] = frozenset()
    open_endpoints: frozenset[str] = frozenset()
    """Endpoints without authentication, faults or accounting (login)."""

    def __init__(
        self,
        faults: FaultInjector,
        accounting: Accounting,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.faults = faults
        self.accounting = accounting
        self.clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:  # noqa: D102
        request = Request(environ)
        response = self.dispatch(request)
        if response is None:
            _drop(environ)
            response = Response(b"", status=500)
        # Every answer says when it was made, on the CRM's clock (RFC 9110 `Date`), as the
        # CRMs' own do; the server would otherwise stamp the machine's time.
        response.headers.setdefault("Date", http_date(self.clock()))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response | None:
        """Route, count, delay, authenticate, inject, handle; ``None`` drops the connection."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self.error_response(
                404, "NOT_FOUND", f"The requested resource does not exist: {request.path}"
            )
        except MethodNotAllowed:
            return self.error_response(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed"
            )
        except HTTPException as exc:  # a redirect for a missing slash, say
            return exc.get_response(request.environ)
        name = str(endpoint)
        if name in self.open_endpoints:
            return self.handle(name, request, args)
        self.accounting.call(self.crm, name, self.object_of(name, args, request))
        if self.faults.latency_seconds:
            time.sleep(self.faults.latency_seconds)
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        fault = self.faults.draw(batch=name in self.batch_endpoints)
        if fault is not None:
            self.accounting.fault(self.crm, fault.kind.value)
            if fault.kind is FaultKind.DROP:
                return None
            if fault.kind is FaultKind.PARTIAL:
                request.environ[FAULT_KEY] = fault
            else:
                return self.fault_response(fault, request)
        return self.handle(name, request, args)

    def handle(self, name: str, request: Request, args: Mapping[str, Any]) -> Response:
        """Call ``on_<name>``; map unexpected errors to the CRM's 500 body."""
        handler = getattr(self, f"on_{name}")
        try:
            response: Response = handler(request, **args)
        except Exception as exc:  # an emulator bug must answer, not hang
            logging.getLogger("okrsync_sandbox").exception("sandbox handler failed")
            return self.error_response(500, "UNKNOWN_EXCEPTION", f"sandbox error: {exc}")
        return response

    @staticmethod
    def partial_fault(request: Request) -> Fault | None:
        """The partial-batch fault drawn for this request, if any."""
        fault = request.environ.get(FAULT_KEY)
        return fault if isinstance(fault, Fault) else None

    def object_of(self, endpoint: str, args: Mapping[str, Any], request: Request) -> str | None:
        """The object a call concerns, for accounting (default: the ``object`` URL argument)."""
        del endpoint, request
        value = args.get("object") or args.get("sobject")
        return str(value) if value else None

    def authenticate(self, request: Request) -> Response | None:
        """``None`` when the request carries valid credentials, else the CRM's 401."""
        raise NotImplementedError

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """How this CRM answers when ``fault`` strikes."""
        raise NotImplementedError

    def error_response(self, status: int, code: str, message: str) -> Response:
        """This CRM's error body for ``status``."""
        raise NotImplementedError


def _drop(environ: WSGIEnvironment) -> None:
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class AdminApp:
    """The sandbox's admin API: accounting and fault settings of every CRM.

    - ``GET /stats``: calls per CRM, endpoint and object; records written; faults.
    - ``POST /reset``: forget the counts.
    - ``GET /faults``: the fault spec of each CRM.
    - ``PUT /faults``: set it; body ``{"crm": "hubspot", "5xx": 0.2, "seed": 3, …}``
      (without ``crm``: every CRM).
    - ``POST /advance``: ``{"as_of": "2026-08-10"}`` moves every CRM's clock and
      seeded data to that day (the demo's weekly check-ins).
    """

    def __init__(self, accounting: Accounting, sandboxes: dict[str, RunningSandbox]) -> None:
        self.accounting = accounting
        self.sandboxes = sandboxes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:  # noqa: D102
        request = Request(environ)
        return self.route(request)(environ, start_response)

    def route(self, request: Request) -> Response:
        """Answer one admin request."""
        path, method = request.path.rstrip("/"), request.method
        if path == "/stats" and method == "GET":
            return json_response(self.accounting.snapshot())
        if path == "/reset" and method == "POST":
            self.accounting.reset()
            return json_response({"reset": True})
        if path == "/faults" and method == "GET":
            return json_response({n: s.faults.spec.to_dict() for n, s in self.sandboxes.items()})
        if path == "/faults" and method == "PUT":
            return self.put_faults(request)
        if path == "/health":
            return json_response({"status": "ok", "crms": sorted(self.sandboxes)})
        if path == "/advance" and method == "POST":
            return self.advance(request)
        return json_response({"error": f"no admin endpoint {method} {path}"}, 404)

    def advance(self, request: Request) -> Response:
        """Move every CRM's clock and data to ``{"as_of": "2026-08-10"}`` (noon UTC)."""
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            day = datetime.fromisoformat(str(body["as_of"]))
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"error": f'expected {{"as_of": "YYYY-MM-DD"}}: {exc}'}, 400)
        moment = day if day.tzinfo else day.replace(tzinfo=UTC, hour=day.hour or 12)
        return json_response({n: s.advance(moment) for n, s in self.sandboxes.items()})

    def put_faults(self, request: Request) -> Response:
        """Set fault specs at run time."""
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        if not isinstance(body, dict):
            return json_response({"error": "expected a JSON object"}, 400)
        crm = body.pop("crm", None)
        try:
            spec = FaultSpec.from_dict(body)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        targets = [crm] if crm else list(self.sandboxes)
        unknown = [t for t in targets if t not in self.sandboxes]
        if unknown:
            return json_response({"error": f"unknown crm {unknown[0]!r}"}, 404)
        for name in targets:
            self.sandboxes[name].faults.set_spec(spec)
        return json_response({n: self.sandboxes[n].faults.spec.to_dict() for n in targets})
