"""The private-app token on the wire, checked against a fake HubSpot (pytest-httpserver)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr
from werkzeug.wrappers import Response

from okrsync.errors import FatalConnectorError
from okrsync_hubspot import HubSpotSettings, plugin

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer
    from werkzeug.wrappers import Request

TOKEN = "pat-eu1-11111111-2222-3333-4444-555555555555"  # noqa: S105  (a fake token)

PROPERTY = {
    "name": "amount",
    "label": "Amount",
    "type": "number",
    "fieldType": "number",
    "groupName": "dealinformation",
    "description": "",
    "options": [],
    "hasUniqueValue": False,
    "hidden": False,
    "modificationMetadata": {
        "archivable": True,
        "readOnlyDefinition": True,
        "readOnlyValue": False,
    },
    "formField": True,
    "calculated": False,
    "externalOptions": False,
    "displayOrder": 1,
}


def connector(httpserver: HTTPServer):
    settings = HubSpotSettings(
        access_token=SecretStr(TOKEN),
        host=httpserver.url_for("").rstrip("/"),
        max_retries=0,
        timeout_seconds=5,
    )
    return plugin.connect("hubspot", settings)


def bearer_only(payload: dict) -> object:
    """A handler that answers only requests carrying exactly our bearer token."""

    def handle(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            body = {
                "status": "error",
                "message": "Authentication credentials not found.",
                "category": "INVALID_AUTHENTICATION",
                "correlationId": "x",
            }
            return Response(json.dumps(body), status=401, content_type="application/json")
        return Response(json.dumps(payload), content_type="application/json")

    return handle


def test_describe_sends_the_token_as_a_bearer_header(httpserver: HTTPServer) -> None:
    """Describe asks for the object's properties with exactly `Authorization: Bearer <token>`."""
    httpserver.expect_request("/crm/v3/properties/deals", method="GET").respond_with_handler(
        bearer_only({"results": [PROPERTY]})
    )
    info = connector(httpserver).describe("deals")
    assert info.field("amount") is not None
    assert info.field("amount").type == "double"  # type: ignore[union-attr]
    (request, _), *_ = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in request.url  # never in the query string


def test_owner_lookup_request_is_exact(httpserver: HTTPServer) -> None:
    """Owner lookup sends GET /crm/v3/owners/ with the e-mail, a limit and archived=false."""
    owner = {
        "id": "77",
        "email": "lena.hoffmann@acme.example",
        "firstName": "Lena",
        "lastName": "Hoffmann",
        "userId": 9,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "archived": False,
    }
    httpserver.expect_request("/crm/v3/owners/", method="GET").respond_with_handler(
        bearer_only({"results": [owner]})
    )
    assert connector(httpserver).resolve_owner("Lena.Hoffmann@acme.example") == "77"
    (request, _), *_ = httpserver.log
    assert request.args["email"] == "Lena.Hoffmann@acme.example"
    assert request.args["limit"] == "100"
    # hubspot-api-client writes Python booleans as `False`; HubSpot reads them case-insensitively
    assert request.args["archived"].lower() == "false"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_refused_token_is_fatal_and_not_echoed(httpserver: HTTPServer) -> None:
    """A 401 becomes a fatal error whose text does not contain the token."""
    httpserver.expect_request("/crm/v3/properties/deals").respond_with_json(
        {
            "status": "error",
            "message": "The OAuth token used to make this call expired.",
            "category": "INVALID_AUTHENTICATION",
            "correlationId": "y",
        },
        status=401,
    )
    with pytest.raises(FatalConnectorError) as caught:
        connector(httpserver).describe("deals")
    assert TOKEN not in str(caught.value)
    assert "hubspot" in str(caught.value)
