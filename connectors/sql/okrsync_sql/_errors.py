"""A database's errors sorted by what the caller must do, with the URL's secrets masked.

SQLAlchemy wraps the driver's exception (``exc.orig``); the driver says what
happened: PostgreSQL with a SQLSTATE (``sqlstate`` in psycopg 3, ``pgcode`` in
psycopg2), SQLite with an error name. :func:`classify` turns any failure into
one of okrsync's typed errors:

- retriable: a dropped or refused connection, a server shutting down or
  starting, too many connections, a serialization failure or deadlock, a
  locked SQLite file, the pool exhausted;
- fatal: credentials refused, no such database, table or column, permission
  denied, a query over the statement timeout (retrying would only wait as long
  again), bad data, anything else.

Every text passes through the connector's :class:`~okrsync.kit.Redactor`,
which knows the URL in each form SQLAlchemy or a driver may print it
(:func:`url_redactor`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from okrsync.errors import ConnectorError, FatalConnectorError, RetriableConnectorError
from okrsync.kit import Redactor

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CRM", "classify", "error_code", "url_redactor"]

CRM = "sql"
"""How errors and logs name the source."""

_SECRET_QUERY = re.compile(r"(?i)pass|secret|token|key|credential")
_RETRIABLE_STATES = ("08", "40001", "40P01", "53", "57P01", "57P02", "57P03", "55P03")
_SQLITE_RETRIABLE = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT"})
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)\s*$")
_HINTS = {
    "28": "the database refused the credentials of the URL",
    "3D000": "the URL names a database that does not exist",
    "42P01": "no such table or view (check `table` and `schema` in the connector's settings)",
    "42703": "no such column (check the connector's `objects` settings and the mappings)",
    "42501": "permission denied: grant SELECT on the schema's tables to the URL's user",
    "57014": "the query ran longer than `timeout_seconds`: raise it, or index the object's "
    "stamp and id columns",
    "unreached": "the database cannot be reached: is it running, and are the URL's host "
    "and port right?",
}


def url_redactor(url: str) -> Redactor:
    """A redactor masking ``url`` whole, its password in every spelling, and secret parameters."""
    found: list[str] = [url]
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        return Redactor(found)
    found.append(parsed.render_as_string(hide_password=False))
    if parsed.password:
        password = str(parsed.password)
        found += [password, quote(password, safe=""), unquote(password)]
    for key, value in parsed.query.items():
        if _SECRET_QUERY.search(key):
            found += [value] if isinstance(value, str) else list(value)
    return Redactor(found)


def _driver_code(error: BaseException) -> str | None:
    """A PostgreSQL SQLSTATE or an SQLite error name, when the driver gave one."""
    orig = getattr(error, "orig", None) or error
    for attribute in ("sqlstate", "pgcode", "sqlite_errorname"):
        code = getattr(orig, attribute, None)
        if isinstance(code, str) and code:
            return code
    return None


def error_code(error: BaseException) -> str:
    """The driver's code: a PostgreSQL SQLSTATE, an SQLite error name, else the class name."""
    return _driver_code(error) or type(getattr(error, "orig", None) or error).__name__


def _text(error: BaseException) -> str:
    """The driver's message (SQLAlchemy's statement and parameters left out)."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return _BACKGROUND.sub("", text) or type(error).__name__


def _retriable(error: BaseException, code: str) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True
    if code in _SQLITE_RETRIABLE:
        return True
    if code.startswith(_RETRIABLE_STATES):
        return True
    # no SQLSTATE: the driver could not reach the server at all (refused, unknown host, timeout)
    return isinstance(error, sa_exc.OperationalError) and _driver_code(error) is None


def classify(
    error: BaseException,
    *,
    what: str,
    redact: Callable[[str], str],
    object_name: str = "",
) -> ConnectorError:
    """The okrsync error for a failed database call: retriable or fatal, named and redacted."""
    code = error_code(error)
    unreached = isinstance(error, sa_exc.OperationalError) and _driver_code(error) is None
    hint = _HINTS["unreached"] if unreached else _HINTS.get(code) or _HINTS.get(code[:2], "")
    message = f"{what}: {redact(_text(error))}" + (f" ({hint})" if hint else "")
    kind = RetriableConnectorError if _retriable(error, code) else FatalConnectorError
    return kind(message, crm=CRM, object_name=object_name, code=code)
