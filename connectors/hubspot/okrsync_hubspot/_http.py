"""HTTP to HubSpot through hubspot-api-client: retries, timeouts, pacing, metering, typed errors.

The client's sub-APIs are built by our own ``api_factory`` so that they all
share one urllib3 pool manager, wrapped to put a timeout on every request, to
pace search calls (search has its own low rate limit), to count every request
and to read the ``X-HubSpot-RateLimit-Daily*`` headers into the toolkit's
:class:`~okrsync.kit.QuotaMeter`. urllib3 retries nothing itself: each failure
becomes a typed okrsync error (see :mod:`okrsync_hubspot._errors`) and the
toolkit's :class:`~okrsync.kit.RetryPolicy` decides what is sent again and
when — 429 (honouring ``Retry-After``), 5xx, timeouts and dropped connections.
HubSpot's *daily* 429 stops the run at once (``QuotaReserveReached``); it is
never waited out.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import hubspot  # type: ignore[import-untyped]
import structlog
import urllib3
from hubspot.crm.associations.v4.exceptions import (  # type: ignore[import-untyped]
    ApiException as AssociationsApiException,
)
from hubspot.crm.exports.exceptions import (  # type: ignore[import-untyped]
    ApiException as ExportsApiException,
)
from hubspot.crm.objects.exceptions import (  # type: ignore[import-untyped]
    ApiException as ObjectsApiException,
)
from hubspot.crm.owners.exceptions import (  # type: ignore[import-untyped]
    ApiException as OwnersApiException,
)
from hubspot.crm.properties.exceptions import (  # type: ignore[import-untyped]
    ApiException as PropertiesApiException,
)
from hubspot.crm.schemas.exceptions import (  # type: ignore[import-untyped]
    ApiException as SchemasApiException,
)
from urllib3.exceptions import HTTPError

from okrsync.errors import (
    ConnectorError,
    FatalConnectorError,
    QuotaReserveReached,
    RetriableConnectorError,
)
from okrsync.kit import QuotaMeter, Redactor, RetryPolicy, ServerClock
from okrsync_hubspot._errors import CRM, ApiFailure, failure_of, translate

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_hubspot._plugin import HubSpotSettings

__all__ = ["Pacer", "Reply", "Transport"]

_API_EXCEPTIONS: tuple[type[Exception], ...] = (
    ObjectsApiException,
    PropertiesApiException,
    SchemasApiException,
    AssociationsApiException,
    OwnersApiException,
    ExportsApiException,
)
"""Each generated package has its own ``ApiException`` (no common base but ``Exception``)."""
_TOO_MANY = 429
_FIRST_FAILURE = 300
_EXPIRED = "EXPIRED_AUTHENTICATION"
_HTTP_UNAUTHORIZED = 401


def _log() -> Any:
    return structlog.get_logger("okrsync.hubspot").bind(crm=CRM)


def _integer(text: Any) -> int | None:
    try:
        return int(str(text)) if text is not None else None
    except ValueError:
        return None


def _retry_after(headers: Any) -> float | None:
    """``Retry-After`` in seconds (HubSpot sends whole seconds), if the answer had one."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _daily(failure: ApiFailure, headers: Any) -> bool:
    """Whether a 429 is the daily limit (not the ten-second window or search's)."""
    if headers is not None and headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
        return True
    return failure.body.get("policyName") == "DAILY"


class Pacer:
    """At most ``per_second`` calls in any one-second window (thread-safe).

    A sliding log of the last calls: a burst up to the limit goes at once (a
    warm cycle's few searches do not wait), and a longer run of calls settles
    at the rate. The window is a little longer than a second, so calls that
    travel at different speeds still reach HubSpot within its limit. Below
    one call a second, calls are spaced ``1 / per_second`` apart.
    """

    MARGIN = 1.1
    """How much longer than the limit's window the log's window is."""

    def __init__(
        self,
        per_second: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = max(1, int(per_second))
        self.window = self.capacity / per_second * self.MARGIN
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()

    def wait(self) -> None:
        """Block until the next call may go."""
        with self._lock:
            now = self._monotonic()
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            if len(self._sent) >= self.capacity:
                ready = self._sent.popleft() + self.window
                if ready > now:
                    self._sleep(ready - now)
                    now = ready
            self._sent.append(now)


class _MeteredPool:
    """The pool manager every generated API client uses: timeout, pacing, metering.

    The generated clients only call ``request``; responses are always read in
    full (``preload_content``) so the connection goes back to the pool.
    """

    def __init__(
        self,
        inner: urllib3.PoolManager,
        *,
        meter: QuotaMeter,
        timeout: urllib3.Timeout,
        search_pacer: Pacer,
        server_clock: ServerClock,
    ) -> None:
        self._inner = inner
        self._meter = meter
        self._timeout = timeout
        self._search_pacer = search_pacer
        self._server_clock = server_clock

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        """Send one request (its retries happen inside)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        kwargs["preload_content"] = True
        if method.upper() == "POST" and urlsplit(url).path.endswith("/search"):
            self._search_pacer.wait()
        self._meter.called()
        response = self._inner.request(method, url, **kwargs)
        headers = response.headers
        self._server_clock.observe(headers.get("Date"))
        self._meter.report(
            remaining=_integer(headers.get("X-HubSpot-RateLimit-Daily-Remaining")),
            limit=_integer(headers.get("X-HubSpot-RateLimit-Daily")),
        )
        return response

    def clear(self) -> None:
        """Close every pooled connection."""
        self._inner.clear()


@dataclass(frozen=True, slots=True)
class Reply:
    """A 2xx answer: its status and parsed JSON body (``None`` when empty)."""

    status: int
    body: Any


class Transport:
    """hubspot-api-client set up for okrsync: one pool, retries, timeouts, pacing, metering."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        instance: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        secret = settings.access_token.get_secret_value() if settings.access_token else ""
        if not secret.strip():
            variable = f"OKRSYNC_CONNECTORS__{instance.upper().replace('-', '_')}__ACCESS_TOKEN"
            raise FatalConnectorError(
                f"no HubSpot access token for connector `{instance}`: set `{variable}` "
                f"(or `{variable}_FILE`) to the private app's token",
                crm=CRM,
            )
        self.redactor = Redactor([secret])
        self.meter = QuotaMeter(CRM, settings.quota_reserve_percent)
        self.retry = RetryPolicy.of(settings)
        self.log = _log().bind(connector=instance)
        self.server_clock = ServerClock(clock or (lambda: datetime.now(UTC)))
        """The portal's clock, from the ``Date`` of every answer."""
        connect, read = settings.timeouts
        self.timeout = urllib3.Timeout(connect=connect, read=read)
        self._pool = _MeteredPool(
            urllib3.PoolManager(num_pools=4, maxsize=4, retries=False),
            meter=self.meter,
            timeout=self.timeout,
            search_pacer=Pacer(settings.search_requests_per_second),
            server_clock=self.server_clock,
        )
        self._token = secret
        self._host = settings.host.rstrip("/")
        self._client = hubspot.HubSpot(
            access_token=secret, host=self._host, api_factory=self._factory
        )
        self._apis: dict[str, Any] = {}

    def _factory(self, package: Any, api_name: str, config: dict[str, Any]) -> Any:
        """Build one generated API client, as the library's default factory does, on our pool."""
        configuration = package.Configuration()
        for key, value in config.items():
            if key == "retry":
                configuration.retries = value
            elif key != "api_key":
                setattr(configuration, key, value)
        api_client = package.ApiClient(configuration=configuration)
        api_client.user_agent = (
            f"okrsync hubspot-api-client-python; {metadata.version('hubspot-api-client')}"
        )
        api_client.rest_client.pool_manager = self._pool
        return getattr(package, api_name)(api_client=api_client)

    def api(self, path: str) -> Any:
        """A generated API by its path on the client, e.g. ``crm.objects.search_api`` (cached)."""
        found = self._apis.get(path)
        if found is None:
            found = self._client
            for part in path.split("."):
                found = getattr(found, part)
            self._apis[path] = found
        return found

    def call(
        self,
        action: str,
        api: str,
        method: str,
        *args: Any,
        object_name: str = "",
        record: str = "",
        once: bool = False,
        **kwargs: Any,
    ) -> Reply:
        """Call ``method`` of API ``api``; its 2xx reply, or a typed okrsync error.

        ``action`` completes "could not …" in messages. Retriable failures are
        sent again as the toolkit's retry policy allows (not with ``once``); an
        ``EXPIRED_AUTHENTICATION`` 401 is tried once more at once.

        Raises:
            FatalConnectorError: for 4xx answers (token, scopes, validation, not found).
            RetriableConnectorError: when the retries ran out (429, 5xx, timeouts, drops).
            QuotaReserveReached: the reserve would be crossed, or the daily limit is spent.
        """
        bound = getattr(self.api(api), method)
        where = {"object_name": object_name, "record": record}
        if once:  # the caller has its own way round a failure
            return self._once(action, bound, args, kwargs, where)
        return self.retry.call(
            lambda: self._once(action, bound, args, kwargs, where),
            what=action,
            log=self.log,
            redact=self.redactor,
            object_name=object_name,
        )

    def _once(
        self,
        action: str,
        bound: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        where: dict[str, str],
    ) -> Reply:
        """One attempt (and one more at once after an expired token), its failure typed."""
        self.meter.check(f"HubSpot could not {action}", object_name=where["object_name"])
        for attempt in (1, 2):
            try:
                response = bound(*args, _preload_content=False, **kwargs)
            except _API_EXCEPTIONS as exc:
                headers = getattr(exc, "headers", None)
                failure = failure_of(getattr(exc, "status", 0), getattr(exc, "body", None))
                if failure.status == _HTTP_UNAUTHORIZED and failure.category == _EXPIRED:
                    _log().warning("hubspot.http.expired", action=action, attempt=attempt, **where)
                    if attempt == 1:
                        continue
                raise self._refused(failure, headers, action, where) from None
            except HTTPError as exc:
                raise self._dropped(exc, action, where) from None
            data = response.data
            body = json.loads(data) if data else None
            return Reply(int(response.status), body)
        raise AssertionError  # pragma: no cover  (the loop returns or raises)

    def request(
        self, action: str, method: str, path: str, *, body: Any = None, object_name: str = ""
    ) -> Reply:
        """A call the client library has no API for (``/account-info/v3/details``), as JSON.

        Sent through the same pool, meter, retry policy and error translation as
        :meth:`call`; the token goes in the ``Authorization`` header.

        Raises:
            FatalConnectorError: for 4xx answers (token, scopes, validation, not found).
            RetriableConnectorError: when the retries ran out (429, 5xx, timeouts, drops).
            QuotaReserveReached: the reserve would be crossed, or the daily limit is spent.
        """
        where = {"object_name": object_name, "record": ""}
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()

        def once() -> Reply:
            self.meter.check(f"HubSpot could not {action}", object_name=object_name)
            try:
                response = self._pool.request(
                    method, self._host + path, headers=headers, body=payload
                )
            except HTTPError as exc:
                raise self._dropped(exc, action, where) from None
            if response.status >= _FIRST_FAILURE:
                failure = failure_of(response.status, response.data)
                raise self._refused(failure, response.headers, action, where)
            data = response.data
            return Reply(int(response.status), json.loads(data) if data else None)

        return self.retry.call(
            once, what=action, log=self.log, redact=self.redactor, object_name=object_name
        )

    def _refused(
        self, failure: ApiFailure, headers: Any, action: str, where: dict[str, str]
    ) -> ConnectorError:
        """The error of a failed answer: the daily limit spent stops the run, else translated."""
        if failure.status == _TOO_MANY and _daily(failure, headers):
            return QuotaReserveReached(
                f"HubSpot could not {action}: the portal's daily API limit is spent; "
                "the run stops with its progress saved and resumes when it resets",
                crm=CRM,
                code="DAILY_LIMIT",
                **where,
            )
        return self._error(failure, action, where, _retry_after(headers))

    def _dropped(self, exc: Exception, action: str, where: dict[str, str]) -> ConnectorError:
        """A connection that failed before any answer (reset, timeout): retriable."""
        return RetriableConnectorError(
            f"HubSpot could not {action}: {type(exc).__name__}: "
            f"{self.redactor(str(exc))}; retry later",
            crm=CRM,
            code="TRANSPORT_ERROR",
            object_name=where["object_name"],
            record=where["record"],
        )

    def _error(
        self, failure: ApiFailure, action: str, where: dict[str, str], retry_after: float | None
    ) -> ConnectorError:
        error = translate(failure, self.redactor, action=action, retry_after=retry_after, **where)
        _log().info(
            "hubspot.http.failed",
            action=action,
            status=failure.status,
            code=error.code,
            kind=type(error).__name__,
            **where,
        )
        return error

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()
