"""The status page as a WSGI application: ``GET /`` (``?cycle=`` for another cycle), read-only.

Plain WSGI, so any server the daemon runs on can mount it. Optional HTTP
basic auth or a bearer token (``http.auth``), compared in constant time; the
health and metrics endpoints are not behind it. The page is never cached and
may not be framed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import sqlalchemy as sa
import structlog
from markupsafe import escape

from okrsync.report.html import content_security_policy, render_page
from okrsync.report.model import UnknownCycleError, build_report

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from okrsync.app import App
    from okrsync.config import HttpAuth

__all__ = ["REALM", "authorized", "status_page"]

REALM = "okrsync status"
log = structlog.get_logger("okrsync.report")


def _same(given: str, expected: str) -> bool:
    """Constant-time equality, whatever the lengths."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def authorized(auth: HttpAuth, header: str | None) -> bool:
    """Whether an ``Authorization`` header satisfies ``auth`` (always, when auth is off)."""
    if not auth.enabled:
        return True
    scheme, _, credentials = (header or "").strip().partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "bearer" and auth.token is not None:
        return _same(credentials, auth.token.get_secret_value())
    if scheme == "basic" and auth.password is not None and auth.username is not None:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, colon, password = decoded.partition(":")
        user_ok = _same(user, auth.username)
        password_ok = _same(password, auth.password.get_secret_value())
        return bool(colon) and user_ok and password_ok
    return False


def _headers(content_type: str, length: int) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Content-Length", str(length)),
        ("Content-Security-Policy", content_security_policy() + "; frame-ancestors 'none'"),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
    ]


def _send(
    start_response: StartResponse,
    status: int,
    body: str,
    content_type: str = "text/plain; charset=utf-8",
    extra: Iterable[tuple[str, str]] = (),
    *,
    head: bool = False,
) -> list[bytes]:
    data = body.encode("utf-8")
    start_response(
        f"{status} {HTTPStatus(status).phrase}", [*_headers(content_type, len(data)), *extra]
    )
    return [] if head else [data]


def _challenge(auth: HttpAuth) -> list[tuple[str, str]]:
    out = []
    if auth.password is not None:
        out.append(("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'))
    if auth.token is not None:
        out.append(("WWW-Authenticate", f'Bearer realm="{REALM}"'))
    return out


def _unknown_cycle(error: UnknownCycleError) -> str:
    known = "".join(
        f'<li><a href="?cycle={escape(name)}">{escape(name)}</a></li>' for name in error.known
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>No such cycle</title></head><body><h1>No such cycle</h1>"
        f"<p>{escape(str(error))}.</p><ul>{known}</ul></body></html>"
    )


def status_page(
    app: App, environ: WSGIEnvironment, start_response: StartResponse
) -> Iterable[bytes]:
    """Answer a request for the status page (a WSGI application, given the daemon's app)."""
    http = app.settings.http
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    head = method == "HEAD"
    if not http.page:
        return _send(start_response, 404, "The status page is turned off (http.page: false).\n")
    if method not in {"GET", "HEAD"}:
        allow = [("Allow", "GET, HEAD")]
        return _send(start_response, 405, "The status page is read-only.\n", extra=allow)
    if not authorized(http.auth, environ.get("HTTP_AUTHORIZATION")):
        log.info("page.unauthorized", remote=environ.get("REMOTE_ADDR"))
        challenge = _challenge(http.auth)
        return _send(start_response, 401, "The status page needs credentials.\n", extra=challenge)
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    cycle = (query.get("cycle") or [""])[0] or None
    now = app.clock() if app.clock else datetime.now(UTC)
    html = "text/html; charset=utf-8"
    try:
        report = build_report(app.settings, app.db, app.mappings, cycle=cycle, now=now)
    except UnknownCycleError as error:
        return _send(start_response, 404, _unknown_cycle(error), html, head=head)
    except sa.exc.SQLAlchemyError as error:
        log.warning("page.store_unreachable", error=type(error).__name__)
        message = "The state store cannot be read right now; try again shortly.\n"
        return _send(start_response, 503, message, head=head)
    return _send(start_response, 200, render_page(report), html, head=head)
