"""HubSpot's failures as okrsync's typed errors.

Every error names the CRM (``hubspot``), the object and, when there is one,
the record. Texts are built from the parsed error body, never from the
client's ``ApiException`` text (which dumps headers and bodies), and pass
through the connector's :class:`okrsync.kit.Redactor` before they are raised or logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync.errors import FatalConnectorError, RetriableConnectorError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CRM",
    "ApiFailure",
    "failure_of",
    "retriable_category",
    "translate",
]

CRM = "hubspot"
_MESSAGE_LIMIT = 400
_HTTP_UNAUTHORIZED = 401
_HTTP_FORBIDDEN = 403
_HTTP_NOT_FOUND = 404
_HTTP_CONFLICT = 409
_HTTP_TOO_MANY = 429
_HTTP_SERVER_ERROR = 500
_RETRIABLE_CATEGORIES = frozenset(
    {"RATE_LIMITS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "BAD_GATEWAY", "TIMEOUT", "LOCKED"}
)
"""Error categories (in batch ``errors`` too) that may succeed when sent again."""
SCOPES_HELP = (
    "add {what} to the private app (HubSpot: Settings → Integrations → Private Apps → "
    "the app → Scopes), save, and keep using the same access token"
)


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """A non-2xx answer, parsed: status, HubSpot's category and message, the whole body."""

    status: int
    category: str = ""
    message: str = ""
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def scopes(self) -> list[str]:
        """The scopes a ``MISSING_SCOPES`` answer says are required."""
        found: list[str] = []
        for error in self.body.get("errors") or []:
            context = error.get("context") if isinstance(error, dict) else None
            if not isinstance(context, dict):
                continue
            for key in ("requiredGranularScopes", "requiredScopes", "scopes"):
                found.extend(str(s) for s in context.get(key) or [] if str(s) not in found)
        return found

    @property
    def detail(self) -> str:
        """The most specific message: the first nested error's, else the top-level one."""
        for error in self.body.get("errors") or []:
            if isinstance(error, dict) and error.get("message"):
                nested = str(error["message"])
                if nested not in self.message:
                    return f"{self.message} {nested}".strip()
        return self.message


def failure_of(status: int | None, body: Any) -> ApiFailure:
    """Parse an error answer's body (bytes, text or already parsed)."""
    parsed: Any = body
    if isinstance(body, bytes | bytearray):
        parsed = body.decode("utf-8", "replace")
    if isinstance(parsed, str):
        try:
            parsed = json.loads(parsed) if parsed.strip() else {}
        except ValueError:
            parsed = {"message": parsed[:_MESSAGE_LIMIT]}
    if not isinstance(parsed, dict):
        parsed = {}
    category = str(parsed.get("category") or parsed.get("errorType") or "")
    return ApiFailure(int(status or 0), category, str(parsed.get("message") or ""), parsed)


def retriable_category(category: str) -> bool:
    """Whether a failure of this category may succeed when sent again."""
    return category in _RETRIABLE_CATEGORIES


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def translate(
    failure: ApiFailure,
    redact: Callable[[str], str],
    *,
    action: str,
    object_name: str = "",
    record: str = "",
    retry_after: float | None = None,
) -> FatalConnectorError | RetriableConnectorError:
    """The okrsync error for a failed call (``action`` says what was being done).

    401 and 403 are fatal with what to do about them (``MISSING_SCOPES`` names
    the scopes to add); other 4xx are fatal with HubSpot's message; 429 and
    5xx are retriable (with the ``retry_after`` HubSpot asked for).
    """
    where = {"crm": CRM, "object_name": object_name, "record": record}
    said = _short(redact(failure.detail)) or "no message"
    code = failure.category or f"HTTP_{failure.status}"
    if failure.status == _HTTP_UNAUTHORIZED:
        return FatalConnectorError(
            f"HubSpot refused the access token while trying to {action}: token invalid or "
            f"expired ({said}); create a new private-app access token and set it",
            code=failure.category or "INVALID_AUTHENTICATION",
            **where,
        )
    if failure.status == _HTTP_FORBIDDEN and failure.category == "MISSING_SCOPES":
        scopes = failure.scopes
        listed = ", ".join(f"`{s}`" for s in scopes) or "the scopes HubSpot's error lists"
        noun = "scope" if len(scopes) == 1 else "scopes"
        return FatalConnectorError(
            f"the HubSpot private app is missing the {noun} {listed} needed to {action}: "
            + SCOPES_HELP.format(what=f"the {noun} {listed}"),
            code="MISSING_SCOPES",
            **where,
        )
    if failure.status == _HTTP_TOO_MANY or failure.status >= _HTTP_SERVER_ERROR:
        return RetriableConnectorError(
            f"HubSpot could not {action} (HTTP {failure.status}: {said}); retry later",
            code=code,
            retry_after=retry_after,
            crm=CRM,
            object_name=object_name,
            record=record,
        )
    hint = ""
    if failure.status == _HTTP_NOT_FOUND or "infer object type" in failure.message:
        hint = "; if it is one of okrsync's objects, run `okrsync provision` first"
    return FatalConnectorError(
        f"HubSpot refused to {action} (HTTP {failure.status}: {said}){hint}",
        code=code,
        **where,
    )
