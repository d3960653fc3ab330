"""Salesforce's errors sorted by what the caller must do.

simple-salesforce raises one exception class per HTTP status; the body is
Salesforce's error list ``[{"errorCode": …, "message": …}]``. :func:`classify`
turns any failure of a call into one of okrsync's typed errors, naming the
CRM, the object and the record, its text passed through the connector's
:class:`okrsync.kit.Redactor`.

``REQUEST_LIMIT_EXCEEDED`` is two different things (:func:`request_limit`):

- the org's rolling 24-hour API allocation is spent (``TotalRequests Limit
  exceeded.``): sleeping is pointless, the run stops with its progress saved
  (:class:`~okrsync.errors.QuotaReserveReached`);
- too many long-running requests at once (``ConcurrentRequests (Concurrent API
  Requests) Limit exceeded.``, or Apex's ``ConcurrentPerOrgLongTxn Limit
  exceeded.``): it passes as soon as the running requests finish, so the call
  is retried with back-off like any retriable failure.

The message names the limit. When it names neither, the quota the org last
reported (``Sforce-Limit-Info``, which Salesforce sends with every REST
answer, the refusal included) decides: requests left means the refusal was
not the daily limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

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
    from collections.abc import Callable

__all__ = [
    "CRM",
    "LOCKED",
    "QUOTA_EXCEEDED",
    "RETRIABLE_CODES",
    "classify",
    "error_codes",
    "error_text",
    "is_retriable",
    "request_limit",
]

CRM = "salesforce"
"""How errors and logs name the CRM."""
LOCKED = "UNABLE_TO_LOCK_ROW"
RETRIABLE_CODES = frozenset({LOCKED, "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})
"""Error codes that go away when the same request is sent again later."""
QUOTA_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
_SERVER_ERROR = 500
_DAILY_WORDS = ("totalrequests", "total requests")
_CONCURRENT_WORDS = ("concurrent",)


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


def request_limit(message: str, remaining: int | None) -> Literal["daily", "concurrent"]:
    """Which limit a ``REQUEST_LIMIT_EXCEEDED`` refusal is about.

    Args:
        message: Salesforce's message with the refusal.
        remaining: Daily API requests left as the org last reported (``None``: unknown).
    """
    text = message.lower()
    if any(word in text for word in _CONCURRENT_WORDS):
        return "concurrent"
    if any(word in text for word in _DAILY_WORDS):
        return "daily"
    return "concurrent" if remaining is not None and remaining > 0 else "daily"


def _limit(exc: BaseException, remaining: int | None) -> Literal["daily", "concurrent"] | None:
    """The limit a refusal is about; ``None`` when it is not ``REQUEST_LIMIT_EXCEEDED``."""
    if QUOTA_EXCEEDED not in error_codes(exc):
        return None
    return request_limit(error_text(exc), remaining)


def is_retriable(exc: BaseException, remaining: int | None = None) -> bool:
    """Whether sending the same request again later may succeed.

    5xx, timeouts, dropped connections, lock and availability codes, and the
    concurrent-request limit.
    """
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
        return True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, SalesforceGeneralError) and int(exc.status or 0) >= _SERVER_ERROR:
        return True
    if _limit(exc, remaining) == "concurrent":
        return True
    return any(code in RETRIABLE_CODES for code in error_codes(exc))


def classify(
    exc: BaseException,
    redact: Callable[[str], str],
    *,
    what: str,
    object_name: str = "",
    record: str = "",
    remaining: int | None = None,
) -> ConnectorError:
    """The typed okrsync error for a failed call ``what``.

    ``remaining`` is the daily quota left as the org last reported (it tells a
    refusal by ``REQUEST_LIMIT_EXCEEDED`` of unknown wording apart).
    """
    text = redact(f"{what} failed: {error_text(exc)}")
    codes = error_codes(exc)
    code = codes[0] if codes else ""
    context = {"crm": CRM, "object_name": object_name, "record": record, "code": code}
    limit = _limit(exc, remaining)
    if limit == "daily":
        return QuotaReserveReached(
            redact(
                f"{what}: the org's daily API request limit is spent ({error_text(exc)}); "
                "the run stops with its progress saved and resumes when the limit allows"
            ),
            **context,
        )
    if limit == "concurrent":
        return RetriableConnectorError(
            text + " (too many long-running requests at once in the org; retried later)",
            crm=CRM,
            object_name=object_name,
            record=record,
            code=code,
        )
    if isinstance(exc, SalesforceExpiredSession):
        return FatalConnectorError(
            redact(f"{what}: the session is invalid or expired (INVALID_SESSION_ID)"), **context
        )
    if is_retriable(exc, remaining):
        return RetriableConnectorError(
            text, crm=CRM, object_name=object_name, record=record, code=code
        )
    if isinstance(exc, SalesforceRefusedRequest):
        return FatalConnectorError(text + " (check the integration user's permissions)", **context)
    return FatalConnectorError(text, **context)
