"""The HubSpot sandbox's HTTP surface: routes, authentication, scopes, limits and faults."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from okrsync_hubspot_sandbox.associations import Associations
from okrsync_hubspot_sandbox.errors import (
    HubSpotError,
    error_body,
    missing_scopes,
    not_found,
    validation_error,
)
from okrsync_hubspot_sandbox.exports import FILE_PATH as EXPORT_FILES
from okrsync_hubspot_sandbox.exports import ExportOptions, Exports
from okrsync_hubspot_sandbox.limits import RateLimits, Refusal
from okrsync_hubspot_sandbox.owners import Owners
from okrsync_hubspot_sandbox.records import Records, parse_properties_param
from okrsync_hubspot_sandbox.schema import Portal
from okrsync_hubspot_sandbox.search import search
from okrsync_hubspot_sandbox.values import iso_millis
from okrsync_sandbox.faults import FaultKind
from okrsync_sandbox.server import SandboxApp, json_response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from werkzeug.wrappers import Request

    from okrsync_hubspot_sandbox.records import BatchOutcome
    from okrsync_hubspot_sandbox.schema import ObjectType
    from okrsync_hubspot_sandbox.settings import PortalSettings
    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.faults import Fault, FaultInjector
    from okrsync_sandbox.store import Store

__all__ = ["HubSpotSandboxApp"]

_log = logging.getLogger("okrsync_sandbox.hubspot")
_OBJ = "/crm/v3/objects/<object_type>"
_ASSOC = "/crm/v4/associations/<from_type>/<to_type>"
_OBJ4 = "/crm/v4/objects/<object_type>/<object_id>"
_MAX_LIST = 100
_BASE_SCOPES = (
    "oauth",
    "crm.objects.owners.read",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
)
"""Scopes every portal offers besides those of its standard object types."""


def _rules() -> list[Rule]:
    def rule(path: str, endpoint: str, *methods: str) -> Rule:
        return Rule(path, endpoint=endpoint, methods=list(methods))

    return [
        rule(_OBJ, "list", "GET"),
        rule(_OBJ, "create", "POST"),
        rule(f"{_OBJ}/search", "search", "POST"),
        rule(f"{_OBJ}/batch/read", "batch_read", "POST"),
        rule(f"{_OBJ}/batch/create", "batch_create", "POST"),
        rule(f"{_OBJ}/batch/update", "batch_update", "POST"),
        rule(f"{_OBJ}/batch/upsert", "batch_upsert", "POST"),
        rule(f"{_OBJ}/batch/archive", "batch_archive", "POST"),
        # ``path``: an idProperty value may hold slashes (okrsync's keys do), sent as %2F.
        rule(f"{_OBJ}/<path:object_id>", "get", "GET"),
        rule(f"{_OBJ}/<path:object_id>", "update", "PATCH"),
        rule(f"{_OBJ}/<path:object_id>", "archive", "DELETE"),
        rule("/crm/v3/owners/", "owners", "GET"),
        rule("/crm/v3/owners/<owner_id>", "owner", "GET"),
        rule("/crm-object-schemas/v3/schemas", "schemas", "GET"),
        rule("/crm-object-schemas/v3/schemas", "schema_create", "POST"),
        rule("/crm-object-schemas/v3/schemas/<object_type>", "schema", "GET"),
        rule("/crm-object-schemas/v3/schemas/<object_type>", "schema_update", "PATCH"),
        rule("/crm/v3/properties/<object_type>", "properties", "GET"),
        rule("/crm/v3/properties/<object_type>", "property_create", "POST"),
        rule("/crm/v3/properties/<object_type>/<property_name>", "property", "GET"),
        rule(f"{_ASSOC}/batch/create", "assoc_create", "POST"),
        rule(f"{_ASSOC}/batch/associate/default", "assoc_default", "POST"),
        rule(f"{_ASSOC}/batch/read", "assoc_read", "POST"),
        rule(f"{_ASSOC}/batch/archive", "assoc_archive", "POST"),
        rule(f"{_ASSOC}/labels", "assoc_labels", "GET"),
        rule(f"{_ASSOC}/labels", "assoc_label_create", "POST"),
        rule(f"{_OBJ4}/associations/<to_type>", "assoc_list", "GET"),
        rule(f"{_OBJ4}/associations/<to_type>/<to_id>", "assoc_put", "PUT"),
        rule(f"{_OBJ4}/associations/default/<to_type>/<to_id>", "assoc_put_default", "PUT"),
        rule("/account-info/v3/details", "account_details", "GET"),
        rule("/account-info/v3/api-usage/daily/private-apps", "account_usage", "GET"),
        rule("/oauth/v2/private-apps/get/access-token-info", "token_info", "POST"),
        rule("/crm/v3/exports/export/async", "export_start", "POST"),
        rule("/crm/v3/exports/export/async/tasks/<task_id>/status", "export_status", "GET"),
    ]


def _json(request: Request) -> Any:
    data = request.get_data(as_text=True)
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise validation_error(
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def _flag(request: Request, name: str) -> bool:
    return str(request.args.get(name, "false")).lower() == "true"


def _after(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise validation_error(f"Invalid after value {raw!r}: expected a paging cursor.")
    return int(raw)


def _limit(raw: str | None, default: int, ceiling: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(f"limit must be an integer, got {raw!r}.") from None
    if not 0 < value <= ceiling:
        raise validation_error(f"limit must be between 1 and {ceiling}, got {value}.")
    return value


def _inputs_count(body: Any) -> int:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    return len(inputs) if isinstance(inputs, list) else 0


class HubSpotSandboxApp(SandboxApp):
    """The emulated HubSpot API of one portal (a WSGI application)."""

    crm = "hubspot"
    url_map = Map(_rules(), strict_slashes=False)
    batch_endpoints = frozenset({"batch_create", "batch_update", "batch_upsert", "assoc_create"})

    def __init__(
        self,
        store: Store,
        settings: PortalSettings,
        *,
        faults: FaultInjector,
        accounting: Accounting,
        clock: Callable[[], datetime],
        exports: ExportOptions | None = None,
    ) -> None:
        super().__init__(faults, accounting, clock)
        self.settings = settings
        self.store = store
        self.portal = Portal(store, settings.portal_id, clock)
        self.records = Records(
            self.portal,
            accounting,
            batch_limit=settings.batch_limit,
            search_lag_seconds=settings.search_lag_seconds,
        )
        self.associations = Associations(self.portal, accounting, settings.batch_limit)
        self.owners = Owners(store)
        self.exports = Exports(self.records, clock, exports or ExportOptions())
        self.limits = RateLimits(
            ten_second_limit=settings.ten_second_limit,
            daily_limit=settings.daily_limit,
            search_per_second=settings.search_per_second,
        )
        self.revoked: set[str] = set()
        """Scopes taken from the private app while serving (see :meth:`granted_scopes`)."""

    def close(self) -> None:
        """Release what the app holds (nothing beyond the store, which its owner closes)."""

    # -- the base's hooks --------------------------------------------------------

    def dispatch(self, request: Request) -> Response | None:
        """Handle the request; add the rate-limit headers to every answer.

        A download link of an export is not the API: it needs no token, spends
        no rate limit and is counted as ``export_download``.
        """
        if request.path.startswith(f"{EXPORT_FILES}/"):
            self.accounting.call(self.crm, "export_download", None)
            if self.faults.latency_seconds:
                time.sleep(self.faults.latency_seconds)
            status, body, kind = self.exports.download(request.path.rsplit("/", 1)[-1])
            return Response(body, status=status, content_type=kind)
        response = super().dispatch(request)
        if response is not None:
            response.headers.update(self.limits.headers())
        return response

    def handle(self, name: str, request: Request, args: Mapping[str, Any]) -> Response:
        """Apply the rate limits, then call ``on_<name>``; render HubSpot's errors."""
        refusal = self.limits.acquire(search=name == "search")
        if refusal is not None:
            return self._throttled(refusal)
        handler: Callable[..., Response] = getattr(self, f"on_{name}")
        try:
            return handler(request, **args)
        except HubSpotError as exc:
            return exc.response()
        except Exception as exc:  # an emulator bug must answer, not hang
            _log.exception("hubspot sandbox handler %s failed", name)
            return self.error_response(500, "INTERNAL_ERROR", f"sandbox error: {exc}")

    def object_of(self, endpoint: str, args: Mapping[str, Any], request: Request) -> str | None:
        """The object type a call concerns, for accounting."""
        del request
        if endpoint in {"owners", "owner"}:
            return "owners"
        value = args.get("object_type") or args.get("from_type")
        if not value:
            return None
        kind = self.portal.find(str(value))
        return kind.name if kind is not None else str(value)

    def authenticate(self, request: Request) -> Response | None:
        """Accept the private app's token as ``Authorization: Bearer``; else HubSpot's 401."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip() == self.settings.access_token:
            return None
        return json_response(
            error_body(
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            ),
            401,
        )

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """HubSpot's answer to an injected fault (expired token, 429, 502/503)."""
        del request
        if fault.kind is FaultKind.EXPIRED:
            return json_response(
                error_body(
                    "EXPIRED_AUTHENTICATION",
                    "The OAuth token used to make this call expired 1 second(s) ago.",
                ),
                401,
            )
        if fault.kind is FaultKind.THROTTLE:
            return self._throttled(self.limits.ten_second_refusal())
        if fault.kind is FaultKind.DAILY:
            return self._throttled(self.limits.spend_day())
        status = fault.rng.choice([502, 503])
        category = "BAD_GATEWAY" if status == 502 else "SERVICE_UNAVAILABLE"  # noqa: PLR2004
        return json_response(
            error_body(category, "An internal error occurred. Please try again."), status
        )

    def error_response(self, status: int, code: str, message: str) -> Response:
        """HubSpot's error body."""
        return json_response(error_body(code, message), status)

    @staticmethod
    def _throttled(refusal: Refusal) -> Response:
        return json_response(refusal.body(), 429, {"Retry-After": str(refusal.retry_after)})

    # -- helpers -----------------------------------------------------------------

    def require(self, scope: str) -> None:
        """Refuse with 403 ``MISSING_SCOPES`` when the app lacks ``scope``.

        Raises:
            HubSpotError: when the portal setting ``missing_scopes`` lists it.
        """
        if scope in self.settings.missing_scopes or scope in self.revoked:
            raise missing_scopes([scope])

    def granted_scopes(self) -> list[str]:
        """The private app's scopes: every scope of the portal's object types, less the missing.

        Missing are those of the portal setting ``missing_scopes`` and those revoked
        while serving.
        """
        scopes = set(_BASE_SCOPES)
        for kind in self.portal.types():
            for area in ("objects", "schemas"):
                scopes.update(f"crm.{area}.{kind.scope}.{access}" for access in ("read", "write"))
        return sorted(scopes - set(self.settings.missing_scopes) - self.revoked)

    def _kind(self, name: str, access: str) -> ObjectType:
        kind = self.portal.resolve(name)
        self.require(f"crm.objects.{kind.scope}.{access}")
        return kind

    def _now(self) -> str:
        return iso_millis(self.clock())

    def _batch(self, outcome: BatchOutcome, ok: int) -> Response:
        return json_response(outcome.body(self._now()), 207 if outcome.errors else ok)

    def _failing(self, request: Request, body: Any) -> set[int]:
        fault = self.partial_fault(request)
        return fault.failing(_inputs_count(body)) if fault is not None else set()

    # -- objects -----------------------------------------------------------------

    def on_list(self, request: Request, object_type: str) -> Response:
        """``GET /crm/v3/objects/{type}``: a page keyed on the object id."""
        kind = self._kind(object_type, "read")
        page = self.records.list_page(
            kind,
            limit=_limit(request.args.get("limit"), 10, _MAX_LIST),
            after=_after(request.args.get("after")),
            names=parse_properties_param(request.args.getlist("properties")),
            archived=_flag(request, "archived"),
        )
        return json_response(page)

    def on_get(self, request: Request, object_type: str, object_id: str) -> Response:
        """``GET /crm/v3/objects/{type}/{id}`` (``idProperty`` for a unique property)."""
        kind = self._kind(object_type, "read")
        found = self.records.get(
            kind,
            object_id,
            parse_properties_param(request.args.getlist("properties")),
            request.args.get("idProperty"),
            archived=_flag(request, "archived"),
        )
        return json_response(found)

    def on_create(self, request: Request, object_type: str) -> Response:
        """``POST /crm/v3/objects/{type}``: one object (and its associations)."""
        kind = self._kind(object_type, "write")
        body = _json(request) or {}
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object.")
        self._check_create_associations(kind, body.get("associations"))
        created = self.records.create(kind, body.get("properties"))
        self._create_associations(kind, int(created["id"]), body.get("associations"))
        return json_response(created, 201)

    def on_update(self, request: Request, object_type: str, object_id: str) -> Response:
        """``PATCH /crm/v3/objects/{type}/{id}``."""
        kind = self._kind(object_type, "write")
        body = _json(request) or {}
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object.")
        updated = self.records.update(
            kind, object_id, body.get("properties"), request.args.get("idProperty")
        )
        return json_response(updated)

    def on_archive(self, request: Request, object_type: str, object_id: str) -> Response:
        """``DELETE /crm/v3/objects/{type}/{id}``: archive; 204 even when absent."""
        del request
        kind = self._kind(object_type, "write")
        self.records.archive(kind, [object_id])
        return Response(status=204)

    def on_search(self, request: Request, object_type: str) -> Response:
        """``POST /crm/v3/objects/{type}/search``."""
        kind = self._kind(object_type, "read")
        return json_response(search(self.records, kind, _json(request)))

    def on_batch_read(self, request: Request, object_type: str) -> Response:
        """``POST …/batch/read``: 200, or 207 listing the ids not found."""
        kind = self._kind(object_type, "read")
        body = _json(request) or {}
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise validation_error("Invalid input JSON: inputs must be a list.")
        ids = [str(i.get("id", "")) if isinstance(i, dict) else str(i) for i in inputs]
        outcome = self.records.batch_read(
            kind,
            ids,
            parse_properties_param(body.get("properties") or []),
            body.get("idProperty"),
            archived=_flag(request, "archived"),
        )
        return self._batch(outcome, 200)

    def on_batch_create(self, request: Request, object_type: str) -> Response:
        """``POST …/batch/create``: 201, or 207 when some inputs failed."""
        kind = self._kind(object_type, "write")
        body = _json(request)
        outcome, _ = self.records.batch_create(kind, body, self._failing(request, body))
        return self._batch(outcome, 201)

    def on_batch_update(self, request: Request, object_type: str) -> Response:
        """``POST …/batch/update``: 200, or 207."""
        kind = self._kind(object_type, "write")
        body = _json(request)
        outcome = self.records.batch_update(kind, body, self._failing(request, body))
        return self._batch(outcome, 200)

    def on_batch_upsert(self, request: Request, object_type: str) -> Response:
        """``POST …/batch/upsert`` by a unique ``idProperty``: 200, or 207."""
        kind = self._kind(object_type, "write")
        body = _json(request)
        outcome = self.records.batch_upsert(kind, body, self._failing(request, body))
        return self._batch(outcome, 200)

    def on_batch_archive(self, request: Request, object_type: str) -> Response:
        """``POST …/batch/archive``: 204."""
        kind = self._kind(object_type, "write")
        body = _json(request) or {}
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise validation_error("Invalid input JSON: inputs must be a list.")
        self.records.check_batch_size(len(inputs))
        self.records.archive(
            kind, [str(i.get("id", "")) if isinstance(i, dict) else str(i) for i in inputs]
        )
        return Response(status=204)

    def _check_create_associations(self, kind: ObjectType, raw: Any) -> None:
        for item in raw or []:
            self._association_targets(kind, item)

    def _association_targets(self, kind: ObjectType, item: Any) -> list[tuple[Any, int]]:
        if not isinstance(item, dict):
            raise validation_error("Each association must be an object.")
        to_id = Associations._object_id(item.get("to"), "associations.to")  # noqa: SLF001  (shared parser)
        found = []
        for spec in item.get("types") or []:
            type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
            match = next(
                (
                    a
                    for a in self.portal.association_types_from(kind.object_type_id)
                    if a.type_id == type_id and a.category == spec.get("associationCategory")
                ),
                None,
            )
            if match is None:
                raise validation_error(f"Association type {type_id} is not valid for {kind.name}.")
            found.append((match, to_id))
        return found

    def _create_associations(self, kind: ObjectType, object_id: int, raw: Any) -> None:
        pairs = [
            (spec, object_id, to_id)
            for item in raw or []
            for spec, to_id in self._association_targets(kind, item)
        ]
        if pairs:
            self.associations.insert_pairs(pairs)

    # -- owners ------------------------------------------------------------------

    def on_owners(self, request: Request) -> Response:
        """``GET /crm/v3/owners/`` (``email``, ``limit``, ``after``, ``archived``)."""
        self.require("crm.objects.owners.read")
        page = self.owners.page(
            email=request.args.get("email") or None,
            limit=_limit(request.args.get("limit"), 100, 500),
            after=_after(request.args.get("after")),
            archived=_flag(request, "archived"),
        )
        return json_response(page)

    def on_owner(self, request: Request, owner_id: str) -> Response:
        """``GET /crm/v3/owners/{ownerId}`` (``idProperty=userId`` for a user id)."""
        self.require("crm.objects.owners.read")
        found = self.owners.get(
            owner_id,
            by_user_id=request.args.get("idProperty") == "userId",
            archived=_flag(request, "archived"),
        )
        return json_response(found)

    # -- the account and the token ----------------------------------------------------

    def on_account_details(self, request: Request) -> Response:
        """``GET /account-info/v3/details``: the portal the token belongs to."""
        del request
        return json_response(
            {
                "portalId": self.settings.portal_id,
                "accountType": "STANDARD",
                "timeZone": "US/Eastern",
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": "-05:00",
                "utcOffsetMilliseconds": -18_000_000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )

    def on_account_usage(self, request: Request) -> Response:
        """``GET /account-info/v3/api-usage/daily/private-apps``: today's calls and the limit."""
        del request
        now = self.limits.wall()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return json_response(
            {
                "results": [
                    {
                        "name": "private-apps-api-calls-daily",
                        "usageLimit": self.limits.daily_limit,
                        "currentUsage": self.limits.used_today(),
                        "collectedAt": iso_millis(now),
                        "fetchStatus": "SUCCESS",
                        "resetsAt": iso_millis(midnight),
                    }
                ]
            }
        )

    def on_token_info(self, request: Request) -> Response:
        """``POST /oauth/v2/private-apps/get/access-token-info``: a private app token's scopes.

        The body names the token (``{"tokenKey": …}``); one this portal did not
        issue is not found.
        """
        body = _json(request)
        key = body.get("tokenKey") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            raise validation_error("tokenKey is required.")
        if key != self.settings.access_token:
            raise not_found("The access token was not found.")
        return json_response(
            {
                "userId": self.settings.user_id,
                "hubId": self.settings.portal_id,
                "appId": self.settings.app_id,
                "scopes": self.granted_scopes(),
            }
        )

    # -- exports -------------------------------------------------------------------

    def on_export_start(self, request: Request) -> Response:
        """``POST /crm/v3/exports/export/async``: 202 with the task (scope ``crm.export``)."""
        self.require("crm.export")
        body = _json(request)
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an export request object.")
        kind = self.portal.resolve(str(body.get("objectType") or ""))
        self.require(f"crm.objects.{kind.scope}.read")
        task = self.exports.start(kind, body)
        status = f"{request.host_url.rstrip('/')}/crm/v3/exports/export/async/tasks/{task}/status"
        return json_response({"id": str(task), "links": {"status": status}}, 202)

    def on_export_status(self, request: Request, task_id: str) -> Response:
        """``GET …/tasks/{taskId}/status``: the task; when complete, a fresh download link."""
        self.require("crm.export")
        return json_response(self.exports.status(task_id, request.host_url))

    # -- schemas and properties --------------------------------------------------

    def on_schemas(self, request: Request) -> Response:
        """``GET /crm-object-schemas/v3/schemas``: the custom object types."""
        del request
        self.require("crm.schemas.custom.read")
        return json_response(
            {"results": [self.portal.schema_json(k) for k in self.portal.types(custom=True)]}
        )

    def on_schema(self, request: Request, object_type: str) -> Response:
        """``GET /crm-object-schemas/v3/schemas/{objectType}``."""
        del request
        self.require("crm.schemas.custom.read")
        kind = self.portal.find(object_type)
        if kind is None:
            raise not_found(f"Unable to find object type {object_type}")
        return json_response(self.portal.schema_json(kind))

    def on_schema_create(self, request: Request) -> Response:
        """``POST /crm-object-schemas/v3/schemas``: a custom object type; 201."""
        self.require("crm.schemas.custom.write")
        body = _json(request)
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object.")
        kind = self.portal.create_schema(body)
        return json_response(self.portal.schema_json(kind), 201)

    def on_schema_update(self, request: Request, object_type: str) -> Response:
        """``PATCH /crm-object-schemas/v3/schemas/{objectType}``: display and labels; 200."""
        self.require("crm.schemas.custom.write")
        kind = self.portal.find(object_type)
        if kind is None:
            raise not_found(f"Unable to find object type {object_type}")
        self.portal.update_schema(kind, _json(request))
        return json_response(self.portal.schema_json(kind))

    def on_properties(self, request: Request, object_type: str) -> Response:
        """``GET /crm/v3/properties/{objectType}``."""
        del request
        kind = self.portal.resolve(object_type)
        self.require(f"crm.schemas.{kind.scope}.read")
        return json_response({"results": [p.to_json() for p in kind.properties.values()]})

    def on_property(self, request: Request, object_type: str, property_name: str) -> Response:
        """``GET /crm/v3/properties/{objectType}/{propertyName}``."""
        del request
        kind = self.portal.resolve(object_type)
        self.require(f"crm.schemas.{kind.scope}.read")
        prop = kind.property(property_name)
        if prop is None:
            raise not_found(f"Unable to find property {property_name} on {kind.name}")
        return json_response(prop.to_json())

    def on_property_create(self, request: Request, object_type: str) -> Response:
        """``POST /crm/v3/properties/{objectType}``: a property (``hasUniqueValue`` too); 201."""
        kind = self.portal.resolve(object_type)
        self.require(f"crm.schemas.{kind.scope}.write")
        prop = self.portal.add_property(kind, _json(request))
        return json_response(prop.to_json(), 201)

    # -- associations ------------------------------------------------------------

    def _pair(self, from_type: str, to_type: str, access: str) -> tuple[ObjectType, ObjectType]:
        return self._kind(from_type, access), self._kind(to_type, access)

    def on_assoc_create(self, request: Request, from_type: str, to_type: str) -> Response:
        """``POST /crm/v4/associations/{from}/{to}/batch/create``: 201, or 207."""
        source, target = self._pair(from_type, to_type, "write")
        body = _json(request)
        outcome = self.associations.create(
            source, target, body, self._failing(request, body), self._now()
        )
        return self._batch(outcome, 201)

    def on_assoc_default(self, request: Request, from_type: str, to_type: str) -> Response:
        """``POST …/batch/associate/default``: the unlabeled association; 200, or 207."""
        source, target = self._pair(from_type, to_type, "write")
        outcome = self.associations.create_default(source, target, _json(request), self._now())
        return self._batch(outcome, 200)

    def on_assoc_read(self, request: Request, from_type: str, to_type: str) -> Response:
        """``POST …/batch/read``: 200, or 207 for ids without associations."""
        source, target = self._pair(from_type, to_type, "read")
        outcome = self.associations.read(source, target, _json(request), self._now())
        return self._batch(outcome, 200)

    def on_assoc_archive(self, request: Request, from_type: str, to_type: str) -> Response:
        """``POST …/batch/archive``: remove associations between pairs; 204."""
        source, target = self._pair(from_type, to_type, "write")
        self.associations.archive(source, target, _json(request))
        return Response(status=204)

    def on_assoc_labels(self, request: Request, from_type: str, to_type: str) -> Response:
        """``GET /crm/v4/associations/{from}/{to}/labels``: the association types."""
        del request
        source, target = self._pair(from_type, to_type, "read")
        types = self.portal.association_types(source.object_type_id, target.object_type_id)
        return json_response({"results": [t.spec() for t in types]})

    def on_assoc_label_create(self, request: Request, from_type: str, to_type: str) -> Response:
        """``POST /crm/v4/associations/{from}/{to}/labels``: a (paired) label; 200."""
        source, target = self._pair(from_type, to_type, "write")
        created = self.portal.create_label(
            source.object_type_id, target.object_type_id, _json(request)
        )
        return json_response({"results": [t.spec() for t in created]})

    def on_assoc_list(
        self, request: Request, object_type: str, object_id: str, to_type: str
    ) -> Response:
        """``GET /crm/v4/objects/{type}/{id}/associations/{toType}``."""
        source, target = self._pair(object_type, to_type, "read")
        if not object_id.isdigit():
            raise not_found()
        limit = _limit(request.args.get("limit"), 500, 500)
        after = _after(request.args.get("after")) or 0
        found = self.associations.targets(source, target, int(object_id))
        page = [t for t in found if t["toObjectId"] > after][:limit]
        body: dict[str, Any] = {"results": page}
        if page and len([t for t in found if t["toObjectId"] > after]) > limit:
            last = str(page[-1]["toObjectId"])
            body["paging"] = {"next": {"after": last, "link": f"?after={last}"}}
        return json_response(body)

    def on_assoc_put(
        self, request: Request, object_type: str, object_id: str, to_type: str, to_id: str
    ) -> Response:
        """``PUT /crm/v4/objects/{type}/{id}/associations/{toType}/{toId}`` with the types; 201."""
        source, target = self._pair(object_type, to_type, "write")
        body = {
            "inputs": [{"from": {"id": object_id}, "to": {"id": to_id}, "types": _json(request)}]
        }
        outcome = self.associations.create(source, target, body, set(), self._now())
        if outcome.errors:
            raise validation_error(outcome.errors[0]["message"])
        return json_response(outcome.results[0], 201)

    def on_assoc_put_default(
        self, request: Request, object_type: str, object_id: str, to_type: str, to_id: str
    ) -> Response:
        """``PUT /crm/v4/objects/{type}/{id}/associations/default/{toType}/{toId}``."""
        del request
        source, target = self._pair(object_type, to_type, "write")
        body = {"inputs": [{"from": {"id": object_id}, "to": {"id": to_id}}]}
        outcome = self.associations.create_default(source, target, body, self._now())
        return self._batch(outcome, 200)
