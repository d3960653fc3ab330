"""The emulator's HTTP face: Salesforce's REST and Tooling paths on the core ``SandboxApp``.

Routes, status codes, headers and bodies follow Salesforce's REST API as
simple-salesforce uses it: ``/services/data/vXX.X/{query,queryAll,sobjects,
composite/sobjects,limits,tooling/…}`` and ``/services/oauth2/token``. Every
API response carries ``Sforce-Limit-Info``; errors are Salesforce's JSON error
lists.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from okrsync_salesforce_sandbox.batch import delete_batch, upsert_batch, write_batch
from okrsync_salesforce_sandbox.describe import describe_global, describe_object, object_summary
from okrsync_salesforce_sandbox.engine import DEFAULT_BATCH, MAX_BATCH, MIN_BATCH
from okrsync_salesforce_sandbox.errors import SalesforceError, not_found
from okrsync_salesforce_sandbox.values import parse_datetime, read_value
from okrsync_sandbox.faults import FaultKind
from okrsync_sandbox.server import SandboxApp, json_response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from werkzeug.wrappers import Request

    from okrsync_salesforce_sandbox.auth import Quota, Sessions
    from okrsync_salesforce_sandbox.bulk import BulkJobs
    from okrsync_salesforce_sandbox.engine import QueryEngine
    from okrsync_salesforce_sandbox.org import Org
    from okrsync_salesforce_sandbox.schema import SObjectType
    from okrsync_salesforce_sandbox.tooling import Tooling
    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.faults import Fault, FaultInjector

__all__ = ["MAX_COLLECTION", "SUPPORTED_VERSIONS", "SalesforceApp"]

MAX_COLLECTION = 200
"""Records per sObject Collections request."""
SUPPORTED_VERSIONS = tuple(f"{n}.0" for n in range(31, 63))
_USER = "okrsync.salesforce.user"
_API = "/services/data/v<version>"
_VERSION_LABELS = {
    "59.0": "Winter '24",
    "60.0": "Spring '24",
    "61.0": "Summer '24",
    "62.0": "Winter '25",
}
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_log = logging.getLogger("okrsync_sandbox.salesforce")


def _too_many() -> SalesforceError:
    return SalesforceError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
    )


def _from_object(text: str) -> str | None:
    """The object after FROM in a query (or in a JSON body holding one)."""
    match = re.search(r"\bfrom\s+([A-Za-z0-9_]+)", text, re.IGNORECASE)
    return match.group(1) if match else None


def _rule(path: str, endpoint: str, *methods: str) -> Rule:
    return Rule(path, endpoint=endpoint, methods=list(methods or ("GET",)))


class SalesforceApp(SandboxApp):
    """Salesforce's REST API over an :class:`~okrsync_salesforce_sandbox.org.Org`.

    Args:
        org: The records.
        engine: SOQL over the data API.
        tooling: Provisioning records.
        tooling_engine: SOQL over the Tooling API.
        sessions: Access tokens.
        quota: The daily request limit.
        faults: Drawn per request.
        accounting: Counts calls and writes.
        clock: The sandbox's "now".
        bulk: Bulk API 2.0 query jobs (default: none; the ``jobs/query`` paths answer 404).
        instance_url: The base URL clients reach the app at (set once serving).
    """

    crm = "salesforce"
    url_map = Map(
        [
            _rule("/services/data/", "versions"),
            _rule(f"{_API}/", "resources"),
            _rule(f"{_API}/limits/", "limits"),
            _rule(f"{_API}/sobjects/", "describe_global"),
            _rule(f"{_API}/sobjects/<sobject>/", "sobject_info"),
            _rule(f"{_API}/sobjects/<sobject>/", "create", "POST"),
            _rule(f"{_API}/sobjects/<sobject>/describe/", "describe"),
            _rule(f"{_API}/sobjects/<sobject>/deleted/", "deleted"),
            _rule(f"{_API}/sobjects/<sobject>/updated/", "updated"),
            _rule(f"{_API}/sobjects/<sobject>/<record_id>", "get_record"),
            _rule(f"{_API}/sobjects/<sobject>/<record_id>", "update_record", "PATCH"),
            _rule(f"{_API}/sobjects/<sobject>/<record_id>", "delete_record", "DELETE"),
            _rule(f"{_API}/sobjects/<sobject>/<field>/<path:value>", "get_by_external_id"),
            _rule(f"{_API}/sobjects/<sobject>/<field>/<path:value>", "upsert", "PATCH"),
            _rule(f"{_API}/query/", "query"),
            _rule(f"{_API}/queryAll/", "query_all"),
            _rule(f"{_API}/query/<locator>", "query_more"),
            _rule(f"{_API}/queryAll/<locator>", "query_more"),
            _rule(f"{_API}/composite/sobjects", "composite_create", "POST"),
            _rule(f"{_API}/composite/sobjects", "composite_update", "PATCH"),
            _rule(f"{_API}/composite/sobjects", "composite_delete", "DELETE"),
            _rule(f"{_API}/composite/sobjects/<sobject>/<field>", "composite_upsert", "PATCH"),
            _rule(f"{_API}/tooling/query/", "tooling_query"),
            _rule(f"{_API}/tooling/query/<locator>", "tooling_query_more"),
            _rule(f"{_API}/tooling/sobjects/<sobject>/", "tooling_create", "POST"),
            _rule(f"{_API}/tooling/sobjects/<sobject>/<record_id>", "tooling_get"),
            _rule(f"{_API}/tooling/sobjects/<sobject>/<record_id>", "tooling_update", "PATCH"),
            _rule(f"{_API}/jobs/query", "bulk_jobs"),
            _rule(f"{_API}/jobs/query", "bulk_create", "POST"),
            _rule(f"{_API}/jobs/query/<job_id>", "bulk_info"),
            _rule(f"{_API}/jobs/query/<job_id>", "bulk_abort", "PATCH"),
            _rule(f"{_API}/jobs/query/<job_id>", "bulk_delete", "DELETE"),
            _rule(f"{_API}/jobs/query/<job_id>/results", "bulk_results"),
            _rule("/services/oauth2/token", "token", "POST"),
            _rule("/services/oauth2/userinfo", "userinfo"),
        ],
        strict_slashes=False,
    )
    batch_endpoints = frozenset(
        {"composite_create", "composite_update", "composite_delete", "composite_upsert"}
    )
    open_endpoints = frozenset({"versions", "token", "userinfo"})
    """Login and identity: no API quota, no faults (``userinfo`` checks its token itself)."""

    def __init__(
        self,
        *,
        org: Org,
        engine: QueryEngine,
        tooling: Tooling,
        tooling_engine: QueryEngine,
        sessions: Sessions,
        quota: Quota,
        faults: FaultInjector,
        accounting: Accounting,
        clock: Callable[[], datetime],
        bulk: BulkJobs | None = None,
    ) -> None:
        super().__init__(faults, accounting, clock)
        self.bulk = bulk
        self.org = org
        self.engine = engine
        self.tooling = tooling
        self.tooling_engine = tooling_engine
        self.sessions = sessions
        self.quota = quota
        self.instance_url = ""

    # -- the base's hooks ---------------------------------------------------------------

    def dispatch(self, request: Request) -> Response | None:
        """Route and answer; API responses get ``Sforce-Limit-Info``."""
        response = super().dispatch(request)
        if response is not None and request.path.startswith("/services/data/v"):
            response.headers["Sforce-Limit-Info"] = self.quota.header()
        return response

    def handle(self, name: str, request: Request, args: Mapping[str, Any]) -> Response:
        """Call ``on_<name>``, rendering ``SalesforceError`` as Salesforce does."""
        version = args.get("version")
        if version is not None and version not in SUPPORTED_VERSIONS:
            return json_response(not_found().body(), 404)
        try:
            handler = getattr(self, f"on_{name}")
            response: Response = handler(request, **args)
        except SalesforceError as exc:
            return json_response(exc.body(), exc.status)
        except Exception as exc:
            _log.exception("salesforce sandbox handler failed")
            return self.error_response(500, "UNKNOWN_EXCEPTION", f"sandbox error: {exc}")
        return response

    def authenticate(self, request: Request) -> Response | None:
        """401 ``INVALID_SESSION_ID`` without a live token; 403 once the daily quota is spent."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = (
            self.sessions.user_of(token.strip()) if scheme.lower() in {"bearer", "oauth"} else None
        )
        if user is None:
            return self._expired()
        if not self.quota.take():
            return self._limit_exceeded()
        request.environ[_USER] = user
        return None

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """Salesforce's answer to an injected fault.

        Salesforce refuses with ``REQUEST_LIMIT_EXCEEDED`` for two limits: the
        transient one (``429``: too many long-running requests at once) and
        the org's daily allocation (``daily``: spent, as ``Sforce-Limit-Info`` then says).
        """
        del request
        if fault.kind is FaultKind.EXPIRED:
            return self._expired()
        if fault.kind is FaultKind.THROTTLE:
            return self._concurrent_limit_exceeded()
        if fault.kind is FaultKind.DAILY:
            self.quota.spend()
            return self._limit_exceeded()
        if fault.rng.random() < 0.5:  # noqa: PLR2004  (half of server errors each way)
            return self.error_response(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        code = f"{fault.rng.randint(1000000, 9999999)}-{fault.rng.randint(10000, 99999)}"
        return self.error_response(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact "
            f"support: {code}",
        )

    def error_response(self, status: int, code: str, message: str) -> Response:
        """Salesforce's error list."""
        if code == "NOT_FOUND":
            message = "The requested resource does not exist"
        return json_response([{"errorCode": code, "message": message}], status)

    def object_of(self, endpoint: str, args: Mapping[str, Any], request: Request) -> str | None:
        """The object a call concerns: the URL's, or the FROM of a query."""
        if "sobject" in args:
            return str(args["sobject"])
        if endpoint in {"query", "query_all", "tooling_query"}:
            return _from_object(request.args.get("q", ""))
        if endpoint == "bulk_create":
            return _from_object(request.get_data(as_text=True))
        if "job_id" in args and self.bulk is not None:
            return self.bulk.object_of(str(args["job_id"]))
        return None

    def _expired(self) -> Response:
        response = json_response(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
        )
        response.headers["WWW-Authenticate"] = "Token"
        return response

    def _limit_exceeded(self) -> Response:
        """The org's daily API request allocation is spent."""
        return json_response(
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
            403,
        )

    def _concurrent_limit_exceeded(self) -> Response:
        """Too many long-running requests at once (it passes when they finish)."""
        message = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
        return json_response([{"message": message, "errorCode": "REQUEST_LIMIT_EXCEEDED"}], 403)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _user(request: Request) -> str:
        return str(request.environ[_USER])

    @staticmethod
    def _json(request: Request) -> Any:
        data = request.get_data(as_text=True)
        if not data.strip():
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body is empty")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}"
            ) from None

    def _object_body(self, request: Request) -> dict[str, Any]:
        body = self._json(request)
        if not isinstance(body, dict):
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of sObject from START_ARRAY value [",
            )
        return body

    @staticmethod
    def _batch_size(request: Request) -> int | None:
        """The ``Sforce-Query-Options: batchSize=N`` asked for (kept within 200–2 000)."""
        match = _BATCH_SIZE.search(request.headers.get("Sforce-Query-Options", ""))
        if not match:
            return None
        return max(MIN_BATCH, min(MAX_BATCH, int(match.group(1))))

    def _url(self, version: str, obj: SObjectType, record_id: str) -> str:
        return f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"

    # -- discovery ------------------------------------------------------------------------

    def on_versions(self, request: Request) -> Response:
        """``GET /services/data/``: the API versions."""
        del request
        return json_response(
            [
                {
                    "label": _VERSION_LABELS.get(v, f"v{v}"),
                    "url": f"/services/data/v{v}",
                    "version": v,
                }
                for v in SUPPORTED_VERSIONS
            ]
        )

    def on_resources(self, request: Request, version: str) -> Response:
        """``GET /services/data/vXX.X/``: the resources of a version."""
        del request
        base = f"/services/data/v{version}"
        names = ("tooling", "query", "queryAll", "sobjects", "limits", "composite")
        resources = {name: f"{base}/{name}" for name in names}
        if self.bulk is not None:
            resources["jobs"] = f"{base}/jobs"
        return json_response(resources)

    def on_limits(self, request: Request, version: str) -> Response:
        """``GET /limits``: the org's limits, with the daily API requests left."""
        del request, version
        used, limit = self.quota.used, self.quota.limit

        def pair(maximum: int, remaining: int | None = None) -> dict[str, int]:
            return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

        return json_response(
            {
                "ConcurrentAsyncGetReportInstances": pair(200),
                "ConcurrentSyncReportRuns": pair(20),
                "DailyApiRequests": pair(limit, max(0, limit - used)),
                "DailyAsyncApexExecutions": pair(250000),
                "DailyBulkApiBatches": pair(15000),
                "DailyBulkV2QueryFileStorageMB": pair(976562),
                "DailyBulkV2QueryJobs": pair(
                    *(
                        (self.bulk.options.daily_jobs, self.bulk.daily_remaining())
                        if self.bulk is not None
                        else (10000,)
                    )
                ),
                "DataStorageMB": pair(1024),
                "FileStorageMB": pair(1024),
                "HourlyODataCallout": pair(20000),
                "SingleEmail": pair(5000),
            }
        )

    def on_describe_global(self, request: Request, version: str) -> Response:
        """``GET /sobjects/``: describeGlobal, as the calling user sees the org."""
        found = describe_global(self.org.schema, version)
        user = self._user(request)
        if self.org.access.restricted:
            found["sobjects"] = [
                self._as_user(user, summary)
                for summary in found["sobjects"]
                if self.org.access.obj(user, summary["name"]).read
            ]
        return json_response(found)

    def on_sobject_info(self, request: Request, version: str, sobject: str) -> Response:
        """``GET /sobjects/{type}/``: the object's summary."""
        obj = self._visible(request, sobject)
        summary = self._as_user(self._user(request), object_summary(obj, version))
        return json_response({"objectDescribe": summary, "recentItems": []})

    def on_describe(self, request: Request, version: str, sobject: str) -> Response:
        """``GET /sobjects/{type}/describe``, as the calling user sees the object.

        Fields the user may not read are left out; those it may only read are
        neither ``createable`` nor ``updateable``.
        """
        obj = self._visible(request, sobject)
        found = describe_object(obj, self.org.schema, version)
        if not self.org.access.restricted:
            return json_response(found)
        user = self._user(request)
        found = self._as_user(user, found)
        fields = []
        for item in found["fields"]:
            access = self.org.access.field(user, obj.name, item["name"])
            if access.read:
                read_only = {"createable": False, "updateable": False}
                fields.append(item if access.edit else {**item, **read_only})
        found["fields"] = fields
        return json_response(found)

    def _visible(self, request: Request, sobject: str) -> SObjectType:
        """The object, if the calling user may see it (else 404, as for one that does not exist)."""
        obj = self.org.sobject(sobject)
        if not self.org.access.obj(self._user(request), obj.name).read:
            raise not_found()
        return obj

    def _as_user(self, user: str, summary: dict[str, Any]) -> dict[str, Any]:
        """An object's summary with ``createable``/``updateable`` as ``user`` may."""
        access = self.org.access.obj(user, str(summary["name"]))
        return {
            **summary,
            "createable": bool(summary["createable"]) and access.create,
            "updateable": bool(summary["updateable"]) and access.edit,
        }

    # -- records ---------------------------------------------------------------------------

    def on_create(self, request: Request, version: str, sobject: str) -> Response:
        """``POST /sobjects/{type}/``: create; 201 with the new id."""
        del version
        obj = self.org.sobject(sobject)
        record_id = self.org.create(obj, self._object_body(request), self._user(request))
        return json_response({"id": record_id, "success": True, "errors": []}, 201)

    def on_get_record(
        self, request: Request, version: str, sobject: str, record_id: str
    ) -> Response:
        """``GET /sobjects/{type}/{id}`` (``?fields=A,B`` for some fields)."""
        obj = self.org.sobject(sobject)
        fields = request.args.get("fields")
        names = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        return json_response(self.org.record(obj, record_id, version, names))

    def on_update_record(
        self, request: Request, version: str, sobject: str, record_id: str
    ) -> Response:
        """``PATCH /sobjects/{type}/{id}``: update; 204."""
        del version
        obj = self.org.sobject(sobject)
        self.org.update(obj, record_id, self._object_body(request), self._user(request))
        return Response(status=204)

    def on_delete_record(
        self, request: Request, version: str, sobject: str, record_id: str
    ) -> Response:
        """``DELETE /sobjects/{type}/{id}``: soft delete; 204."""
        del version
        obj = self.org.sobject(sobject)
        self.org.delete(obj, record_id, self._user(request))
        return Response(status=204)

    def on_get_by_external_id(
        self, request: Request, version: str, sobject: str, field: str, value: str
    ) -> Response:
        """``GET /sobjects/{type}/{field}/{value}``: the record with that external id."""
        del request
        obj = self.org.sobject(sobject)
        item = self.org.external_field(obj, field)
        found = self.org.find_by(obj, item, read_value(item, value))
        if not found:
            raise not_found()
        if len(found) > 1:
            return json_response([self._url(version, obj, i) for i in found], 300)
        return json_response(self.org.record(obj, found[0], version))

    def on_upsert(
        self, request: Request, version: str, sobject: str, field: str, value: str
    ) -> Response:
        """``PATCH /sobjects/{type}/{field}/{value}``: 201 created, 204 updated, 300 ambiguous."""
        obj = self.org.sobject(sobject)
        body = self._object_body(request)
        try:
            record_id, created = self.org.upsert(obj, field, value, body, self._user(request))
        except SalesforceError as exc:
            if exc.status == 300:  # noqa: PLR2004  (Multiple Choices: the matching records)
                return json_response([self._url(version, obj, i) for i in exc.fields or []], 300)
            raise
        if created:
            return json_response(
                {"id": record_id, "success": True, "errors": [], "created": True}, 201
            )
        return Response(status=204)

    # -- deleted / updated -----------------------------------------------------------------

    @staticmethod
    def _window(request: Request) -> tuple[datetime, datetime]:
        texts = [request.args.get("start"), request.args.get("end")]
        if not all(texts):
            raise SalesforceError(400, "MISSING_ARGUMENT", "start and end must both be given")
        try:
            start, end = (parse_datetime(str(t).strip().rstrip(":")) for t in texts)
        except ValueError:
            raise SalesforceError(
                400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times"
            ) from None
        return start, end

    def on_deleted(self, request: Request, version: str, sobject: str) -> Response:
        """``GET /sobjects/{type}/deleted/?start=…&end=…``."""
        del version
        obj = self.org.sobject(sobject)
        return json_response(self.org.deleted(obj, *self._window(request)))

    def on_updated(self, request: Request, version: str, sobject: str) -> Response:
        """``GET /sobjects/{type}/updated/?start=…&end=…``."""
        del version
        obj = self.org.sobject(sobject)
        return json_response(self.org.updated(obj, *self._window(request)))

    # -- queries ---------------------------------------------------------------------------

    def _query(
        self, engine: QueryEngine, request: Request, version: str, *, all_rows: bool
    ) -> Response:
        text = request.args.get("q")
        if not text:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch_size = self._batch_size(request) or DEFAULT_BATCH
        hidden = None
        if engine is self.engine:
            self.org.archive_activities()
            hidden = self.org.access.hidden(self._user(request))
        page = engine.query(
            text, all_rows=all_rows, batch_size=batch_size, version=version, hidden=hidden
        )
        return json_response(page)

    def on_query(self, request: Request, version: str) -> Response:
        """``GET /query?q=``."""
        return self._query(self.engine, request, version, all_rows=False)

    def on_query_all(self, request: Request, version: str) -> Response:
        """``GET /queryAll?q=``: soft-deleted rows too."""
        return self._query(self.engine, request, version, all_rows=True)

    def on_query_more(self, request: Request, version: str, locator: str) -> Response:
        """``GET /query/{locator}``: the next page."""
        del version
        return json_response(self.engine.query_more(locator, batch_size=self._batch_size(request)))

    def on_tooling_query(self, request: Request, version: str) -> Response:
        """``GET /tooling/query?q=``."""
        return self._query(self.tooling_engine, request, version, all_rows=False)

    def on_tooling_query_more(self, request: Request, version: str, locator: str) -> Response:
        """``GET /tooling/query/{locator}``."""
        del version
        return json_response(
            self.tooling_engine.query_more(locator, batch_size=self._batch_size(request))
        )

    # -- sObject Collections ---------------------------------------------------------------

    def _collection(self, request: Request) -> tuple[bool, list[Any]]:
        body = self._object_body(request)
        records = body.get("records")
        if not isinstance(records, list):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "records: expected a list of records")
        if len(records) > MAX_COLLECTION:
            raise _too_many()
        return bool(body.get("allOrNone", False)), records

    def _failing(self, request: Request, count: int) -> set[int]:
        fault = self.partial_fault(request)
        return fault.failing(count) if fault is not None else set()

    def _typed(self, record: Any) -> tuple[SObjectType, dict[str, Any]] | SalesforceError:
        if not isinstance(record, dict):
            return SalesforceError(400, "JSON_PARSER_ERROR", "a record must be a JSON object")
        attributes = record.get("attributes") or {}
        name = attributes.get("type") if isinstance(attributes, dict) else None
        if not name:
            return SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.", [])
        obj = self.org.schema.get(str(name))
        if obj is None:
            return SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{name}' is not supported.", []
            )
        return obj, {k: v for k, v in record.items() if k != "attributes"}

    def on_composite_create(self, request: Request, version: str) -> Response:
        """``POST /composite/sobjects``: create up to 200 records."""
        del version
        all_or_none, records = self._collection(request)
        items: list[Any] = []
        for record in records:
            typed = self._typed(record)
            items.append(typed if isinstance(typed, SalesforceError) else (*typed, None))
        outcomes = write_batch(
            self.org,
            items,
            user_id=self._user(request),
            all_or_none=all_or_none,
            failing=self._failing(request, len(items)),
        )
        return json_response([o.result(with_created=False) for o in outcomes])

    def on_composite_update(self, request: Request, version: str) -> Response:
        """``PATCH /composite/sobjects``: update up to 200 records by Id."""
        del version
        all_or_none, records = self._collection(request)
        items: list[Any] = []
        for record in records:
            typed = self._typed(record)
            if isinstance(typed, SalesforceError):
                items.append(typed)
                continue
            obj, body = typed
            record_id = body.get("Id")
            if not isinstance(record_id, str) or not record_id:
                items.append(
                    SalesforceError(
                        400, "MISSING_ARGUMENT", "Id not specified in an update call", []
                    )
                )
                continue
            items.append((obj, body, record_id))
        outcomes = write_batch(
            self.org,
            items,
            user_id=self._user(request),
            all_or_none=all_or_none,
            failing=self._failing(request, len(items)),
        )
        return json_response([o.result(with_created=False) for o in outcomes])

    def on_composite_upsert(
        self, request: Request, version: str, sobject: str, field: str
    ) -> Response:
        """``PATCH /composite/sobjects/{type}/{field}``: upsert up to 200 records by external id."""
        del version
        obj = self.org.sobject(sobject)
        item = self.org.external_field(obj, field)
        all_or_none, records = self._collection(request)
        outcomes = upsert_batch(
            self.org,
            obj,
            item,
            records,
            user_id=self._user(request),
            all_or_none=all_or_none,
            failing=self._failing(request, len(records)),
        )
        return json_response([o.result(with_created=True) for o in outcomes])

    def on_composite_delete(self, request: Request, version: str) -> Response:
        """``DELETE /composite/sobjects?ids=…&allOrNone=…``: delete up to 200 records."""
        del version
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if len(ids) > MAX_COLLECTION:
            raise _too_many()
        outcomes = delete_batch(
            self.org,
            ids,
            user_id=self._user(request),
            all_or_none=request.args.get("allOrNone", "false").lower() == "true",
            failing=self._failing(request, len(ids)),
        )
        return json_response([o.deletion() for o in outcomes])

    # -- Tooling API -----------------------------------------------------------------------

    def on_tooling_create(self, request: Request, version: str, sobject: str) -> Response:
        """``POST /tooling/sobjects/{CustomObject|CustomField}``."""
        del version
        body = self._object_body(request)
        if sobject == "CustomObject":
            record_id = self.tooling.create_object(body)
        elif sobject == "CustomField":
            record_id = self.tooling.create_field(body)
        else:
            raise not_found()
        return json_response(
            {"id": record_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201
        )

    def on_tooling_get(
        self, request: Request, version: str, sobject: str, record_id: str
    ) -> Response:
        """``GET /tooling/sobjects/{type}/{id}`` with ``FullName`` and ``Metadata``."""
        del request
        return json_response(self.tooling.record(sobject, record_id, version))

    def on_tooling_update(
        self, request: Request, version: str, sobject: str, record_id: str
    ) -> Response:
        """``PATCH /tooling/sobjects/{type}/{id}``: change metadata; 204."""
        del version
        self.tooling.update(sobject, record_id, self._object_body(request))
        return Response(status=204)

    # -- Bulk API 2.0 query jobs (see okrsync_salesforce_sandbox.bulk) ------------------------

    def _jobs(self) -> BulkJobs:
        if self.bulk is None:
            raise not_found()
        return self.bulk

    def on_bulk_jobs(self, request: Request, version: str) -> Response:
        """``GET /jobs/query``: the org's query jobs."""
        del request, version
        return json_response(self._jobs().all())

    def on_bulk_create(self, request: Request, version: str) -> Response:
        """``POST /jobs/query``: create a query job; 200 with the job in ``UploadComplete``."""
        return json_response(self._jobs().create(self._json(request), version, self._user(request)))

    def on_bulk_info(self, request: Request, version: str, job_id: str) -> Response:
        """``GET /jobs/query/{id}``: the job's state and counts."""
        del request, version
        return json_response(self._jobs().info(job_id))

    def on_bulk_abort(self, request: Request, version: str, job_id: str) -> Response:
        """``PATCH /jobs/query/{id}`` with ``{"state": "Aborted"}``."""
        del version
        return json_response(self._jobs().abort(job_id, self._json(request)))

    def on_bulk_delete(self, request: Request, version: str, job_id: str) -> Response:
        """``DELETE /jobs/query/{id}``: 204."""
        del request, version
        self._jobs().delete(job_id)
        return Response(status=204)

    def on_bulk_results(self, request: Request, version: str, job_id: str) -> Response:
        """``GET /jobs/query/{id}/results?locator=&maxRecords=``: CSV, streamed."""
        found = self._jobs().results(
            job_id, version, request.args.get("locator"), request.args.get("maxRecords")
        )
        response = Response(
            (line.encode() for line in found.lines), mimetype="text/csv", direct_passthrough=True
        )
        response.headers["Content-Type"] = "text/csv; charset=UTF-8"
        response.headers["Sforce-NumberOfRecords"] = str(found.count)
        response.headers["Sforce-Locator"] = found.locator
        return response

    # -- OAuth -----------------------------------------------------------------------------

    def on_token(self, request: Request) -> Response:
        """``POST /services/oauth2/token``: client credentials or JWT bearer."""
        answer = self.sessions.token(
            request.form.to_dict(), request.headers.get("Authorization", ""), self.instance_url
        )
        return json_response(answer.body, answer.status)

    def on_userinfo(self, request: Request) -> Response:
        """``GET /services/oauth2/userinfo``: who the access token acts as (403 for a bad token)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user_id = (
            self.sessions.user_of(token.strip()) if scheme.lower() in {"bearer", "oauth"} else None
        )
        row = self.org.store.get("User", user_id) if user_id else None
        if row is None:
            return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
        org_id = self.org.org_id
        return json_response(
            {
                "sub": f"{self.instance_url}/id/{org_id}/{user_id}",
                "user_id": user_id,
                "organization_id": org_id,
                "preferred_username": row.get("Username"),
                "nickname": row.get("FirstName") or row.get("LastName"),
                "name": row.get("Name"),
                "email": row.get("Email"),
                "email_verified": True,
                "given_name": row.get("FirstName"),
                "family_name": row.get("LastName"),
                "active": bool(row.get("IsActive", True)),
                "user_type": "STANDARD",
                "language": "en_US",
                "locale": "en_US",
                "urls": {
                    "rest": f"{self.instance_url}/services/data/v{{version}}/",
                    "query": f"{self.instance_url}/services/data/v{{version}}/query/",
                    "sobjects": f"{self.instance_url}/services/data/v{{version}}/sobjects/",
                },
            }
        )
