"""Salesforce's API errors, as the emulator raises and renders them."""

from __future__ import annotations

from typing import Any

__all__ = ["SalesforceError", "not_found"]


class SalesforceError(Exception):
    """An error Salesforce answers with: an HTTP status, an error code, a message, fields.

    Rendered as Salesforce's error list ``[{"message", "errorCode", "fields"}]``.
    """

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The JSON error list of a REST response."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]

    def record_error(self) -> dict[str, Any]:
        """The error of one record in an sObject Collections result."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields or []}


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    """Salesforce's 404 for an unknown resource."""
    return SalesforceError(404, "NOT_FOUND", message)
