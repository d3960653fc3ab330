"""HubSpot's error bodies, and the exception handlers raise to answer with one."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from okrsync_sandbox.server import json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

__all__ = [
    "HubSpotError",
    "correlation_id",
    "error_body",
    "missing_scopes",
    "not_found",
    "property_errors",
    "validation_error",
]

SCOPES_LINK = "https://developers.hubspot.com/scopes"


def correlation_id() -> str:
    """A fresh correlation id, as HubSpot puts on every error."""
    return str(uuid.uuid4())


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's error body: ``status``, ``message``, ``correlationId``, ``category`` and extras."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
    }
    body.update(extra)
    body["category"] = category
    return body


class HubSpotError(Exception):
    """An error answer: raised by handlers, rendered by the app."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return error_body(self.category, self.message, **self.extra)

    def response(self) -> Response:
        """The HTTP response."""
        return json_response(self.body(), self.status, dict(self.headers))


def validation_error(message: str, **extra: Any) -> HubSpotError:
    """A 400 ``VALIDATION_ERROR``."""
    return HubSpotError(400, "VALIDATION_ERROR", message, **extra)


def not_found(message: str = "resource not found") -> HubSpotError:
    """A 404 ``OBJECT_NOT_FOUND``."""
    return HubSpotError(404, "OBJECT_NOT_FOUND", message)


def property_errors(problems: list[tuple[str, str, str]], portal_id: int) -> HubSpotError:
    """The 400 for invalid property values; ``problems`` are ``(name, error code, message)``.

    HubSpot puts the list of problems, JSON-encoded, into the message and, in
    structured form, into ``errors``.
    """
    listed = [
        {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
            "portalId": portal_id,
        }
        for name, code, message in problems
    ]
    return validation_error(
        "Property values were not valid: " + json.dumps(listed, separators=(",", ":")),
        errors=[
            {"message": message, "code": code, "context": {"propertyName": [name]}}
            for name, code, message in problems
        ],
    )


def missing_scopes(scopes: list[str]) -> HubSpotError:
    """The 403 ``MISSING_SCOPES`` body a private app without ``scopes`` gets."""
    return HubSpotError(
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {SCOPES_LINK}.",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": scopes},
            }
        ],
        links={"scopes": SCOPES_LINK},
    )
