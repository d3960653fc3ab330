"""The status page over WSGI: ``GET /`` (``?cycle=`` for another cycle), read-only.

Optional HTTP basic auth or a bearer token (``http.auth``), both compared in
constant time; the health and metrics endpoints are not behind it. The page
is never cached and may not be framed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from markupsafe import escape
from werkzeug.wrappers import Response

from okrsync.report.html import content_security_policy, render_page
from okrsync.report.model import UnknownCycleError, build_report

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

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


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy() + "; frame-ancestors 'none'",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        message + "\n",
        status=status,
        headers={**_headers(), **(headers or {})},
        mimetype="text/plain",
    )


def _challenge(auth: HttpAuth) -> Response:
    response = _text(401, "The status page needs credentials.")
    if auth.password is not None:
        response.headers.add("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
    if auth.token is not None:
        response.headers.add("WWW-Authenticate", f'Bearer realm="{REALM}"')
    return response


def _unknown_cycle(error: UnknownCycleError) -> Response:
    known = "".join(
        f'<li><a href="?cycle={escape(name)}">{escape(name)}</a></li>' for name in error.known
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>No such cycle</title></head><body><h1>No such cycle</h1>"
        f"<p>{escape(str(error))}.</p><ul>{known}</ul></body></html>"
    )
    return Response(body, status=404, headers=_headers(), mimetype="text/html")


def status_page(app: App, request: Request) -> Response:
    """The response to a request for the status page."""
    http = app.settings.http
    if not http.page:
        return _text(404, "The status page is turned off (http.page: false).")
    if request.method not in {"GET", "HEAD"}:
        return _text(405, "The status page is read-only.", {"Allow": "GET, HEAD"})
    if not authorized(http.auth, request.headers.get("Authorization")):
        log.info("page.unauthorized", remote=request.remote_addr)
        return _challenge(http.auth)
    cycle = request.args.get("cycle") or None
    now = app.clock() if app.clock else datetime.now(UTC)
    try:
        report = build_report(app.settings, app.db, app.mappings, cycle=cycle, now=now)
    except UnknownCycleError as error:
        return _unknown_cycle(error)
    except sa.exc.SQLAlchemyError as error:
        log.warning("page.store_unreachable", error=type(error).__name__)
        return _text(503, "The state store cannot be read right now; try again shortly.")
    response = Response(render_page(report), headers=_headers(), mimetype="text/html")
    if request.method == "HEAD":
        response.set_data(b"")
    return response
