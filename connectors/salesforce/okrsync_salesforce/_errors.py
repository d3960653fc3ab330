"""Salesforce's errors sorted by what the caller must do, with secrets kept out of every text.

simple-salesforce raises one exception class per HTTP status; the body is
Salesforce's error list ``[{"errorCode": …, "message": …}]``. :func:`classify`
turns any failure of a call into one of okrsync's typed errors, naming the
CRM, the object and the record. :class:`Redactor` masks secret values in any
text built from a response, a URL or an exception before it is raised or logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from okrsync.errors import (
    ConnectorError,
    FatalConnectorError,
    QuotaReserveReached,
    RetriableConnectorError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "CRM",
    "LOCKED",
    "QUOTA_EXCEEDED",
    "RETRIABLE_CODES",
    "Redactor",
    "classify",
    "error_codes",
    "error_text",
    "is_retriable",
]

CRM = "salesforce"
"""How errors and logs name the CRM."""
LOCKED = "UNABLE_TO_LOCK_ROW"
RETRIABLE_CODES = frozenset({LOCKED, "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})
"""Error codes that go away when the same request is sent again later."""
QUOTA_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
_MASK = "**********"
_MIN_SECRET = 4
_SERVER_ERROR = 500


class Redactor:
    """Masks known secret values (session ids, tokens, client secret, private key) in text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Mask ``secret`` from now on (and every line of it, for a PEM key)."""
        if not secret:
            return
        parts = [secret, *(line.strip() for line in secret.splitlines())]
        for part in parts:
            if len(part) >= _MIN_SECRET and part not in self._secrets and "-----" not in part:
                self._secrets.append(part)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by a mask."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text


def error_codes(exc: BaseException) -> list[str]:
    """The ``errorCode`` values of a simple-salesforce error's body (empty when none)."""
    if not isinstance(exc, SalesforceError):
        return []
    content: Any = exc.content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    return [str(item.get("errorCode")) for item in content if isinstance(item, dict)]


def error_text(exc: BaseException) -> str:
    """A short description of a failure: ``CODE: message`` from the body, or the exception."""
    if isinstance(exc, SalesforceError):
        content: Any = exc.content
        if isinstance(content, dict):
            content = [content]
        if isinstance(content, list) and content and isinstance(content[0], dict):
            first = content[0]
            return f"{first.get('errorCode', exc.status)}: {first.get('message', '')}".strip()
        return f"HTTP {exc.status}: {str(content)[:300]}"
    return f"{type(exc).__name__}: {exc}"


def _concurrency_limit(exc: BaseException) -> bool:
    """``REQUEST_LIMIT_EXCEEDED`` for too many long requests at once (not the daily quota)."""
    if not isinstance(exc, SalesforceError) or QUOTA_EXCEEDED not in error_codes(exc):
        return False
    return "concurrent" in error_text(exc).lower()


def is_retriable(exc: BaseException) -> bool:
    """Whether sending the same request again later may succeed (5xx, timeouts, drops, locks)."""
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
        return True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, SalesforceGeneralError) and int(exc.status or 0) >= _SERVER_ERROR:
        return True
    if _concurrency_limit(exc):
        return True
    return any(code in RETRIABLE_CODES for code in error_codes(exc))


def classify(
    exc: BaseException,
    redact: Redactor,
    *,
    what: str,
    object_name: str = "",
    record: str = "",
) -> ConnectorError:
    """The typed okrsync error for a failed call ``what`` (already retried if it could be)."""
    text = redact(f"{what} failed: {error_text(exc)}")
    codes = error_codes(exc)
    code = codes[0] if codes else ""
    context = {"crm": CRM, "object_name": object_name, "record": record, "code": code}
    if QUOTA_EXCEEDED in codes and not _concurrency_limit(exc):
        return QuotaReserveReached(
            redact(f"{what}: the org's daily API quota is spent (REQUEST_LIMIT_EXCEEDED)"),
            **context,
        )
    if isinstance(exc, SalesforceExpiredSession):
        return FatalConnectorError(
            redact(f"{what}: the session is invalid or expired (INVALID_SESSION_ID)"), **context
        )
    if is_retriable(exc):
        return RetriableConnectorError(text, **context)
    if isinstance(exc, SalesforceRefusedRequest):
        return FatalConnectorError(text + " (check the integration user's permissions)", **context)
    return FatalConnectorError(text, **context)
