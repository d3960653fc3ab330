"""HTTP to HubSpot through hubspot-api-client: retries, timeouts, pacing, metering, typed errors.

The client's sub-APIs are built by our own ``api_factory`` so that they all
share one urllib3 pool manager, wrapped to put a timeout on every request, to
pace search calls (search has its own low rate limit), to count every call
and to read the ``X-HubSpot-RateLimit-*`` headers. Retries are urllib3's
(``allowed_methods=None``, or POSTs — search and batch calls — would not be
retried) for 429, 5xx, timeouts and dropped connections only, with backoff and
jitter; HubSpot's *daily* 429 is not waited out. Everything else fails fast
as a typed okrsync error (see :mod:`okrsync_hubspot._errors`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import hubspot  # type: ignore[import-untyped]
import structlog
import urllib3
from hubspot.crm.associations.v4.exceptions import (  # type: ignore[import-untyped]
    ApiException as AssociationsApiException,
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
from urllib3.exceptions import HTTPError, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from okrsync.errors import FatalConnectorError, QuotaReserveReached, RetriableConnectorError
from okrsync_hubspot._errors import CRM, ApiFailure, Redactor, failure_of, translate

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from urllib3.connectionpool import ConnectionPool

    from okrsync_hubspot._plugin import HubSpotSettings

__all__ = ["Meter", "Pacer", "Reply", "Transport"]

_API_EXCEPTIONS: tuple[type[Exception], ...] = (
    ObjectsApiException,
    PropertiesApiException,
    SchemasApiException,
    AssociationsApiException,
    OwnersApiException,
)
"""Each generated package has its own ``ApiException`` (no common base but ``Exception``)."""
RETRY_STATUSES = (429, 500, 502, 503, 504)
_TOO_MANY = 429
_EXPIRED = "EXPIRED_AUTHENTICATION"
_HTTP_UNAUTHORIZED = 401
BACKOFF_MAX = 30.0
"""Longest backoff between two attempts, in seconds."""


def _log() -> Any:
    return structlog.get_logger("okrsync.hubspot").bind(crm=CRM)


class DailyLimitSpent(ResponseError):  # noqa: N818  (a state, like urllib3's ResponseError)
    """HubSpot answered 429 for its daily limit: waiting is pointless today."""


class Meter:
    """API calls made (every attempt, retries included) and the quota HubSpot last reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.remaining: int | None = None
        self.limit: int | None = None

    def called(self) -> None:
        """Count one request sent."""
        with self._lock:
            self.calls += 1

    def observe(self, headers: Any) -> None:
        """Read the daily quota from a response's ``X-HubSpot-RateLimit-Daily*`` headers."""
        remaining = _integer(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        limit = _integer(headers.get("X-HubSpot-RateLimit-Daily"))
        with self._lock:
            if remaining is not None:
                self.remaining = remaining
            if limit is not None:
                self.limit = limit


def _integer(text: Any) -> int | None:
    try:
        return int(str(text)) if text is not None else None
    except ValueError:
        return None


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


class _HubSpotRetry(Retry):
    """urllib3's Retry, plus: counts each retried attempt, caps Retry-After, skips the daily 429.

    ``Retry.new`` rebuilds the object for every attempt, so the extra state is
    carried over by :meth:`new`.
    """

    meter: Meter | None = None
    retry_after_cap: float = 10.0

    def new(self, **kw: Any) -> Self:
        fresh = super().new(**kw)
        fresh.meter = self.meter
        fresh.retry_after_cap = self.retry_after_cap
        return fresh

    def parse_retry_after(self, retry_after: str) -> float:
        """Retry-After in seconds, at most ``retry_after_cap``."""
        return min(super().parse_retry_after(retry_after), self.retry_after_cap)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: urllib3.BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """Count the attempt about to be retried; give up at once on the daily limit."""
        path = urlsplit(url or "").path
        if response is not None and response.status == _TOO_MANY and _daily(response):
            _log().warning("hubspot.http.daily_limit", path=path)
            raise MaxRetryError(
                _pool,  # type: ignore[arg-type]  # urllib3 passes its own, possibly None, too
                url or "",
                DailyLimitSpent("HubSpot's daily API limit is spent; it resets at midnight"),
            )
        fresh = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.meter is not None:
            self.meter.called()
        _log().info(
            "hubspot.http.retry",
            path=path,
            method=method,
            status=response.status if response is not None else None,
            error=type(error).__name__ if error is not None else None,
            attempt=len(fresh.history) + 1,
        )
        return fresh


def _daily(response: urllib3.BaseHTTPResponse) -> bool:
    if response.headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
        return True
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("policyName") == "DAILY"


class _MeteredPool:
    """The pool manager every generated API client uses: timeout, pacing, metering.

    The generated clients only call ``request``; responses are always read in
    full (``preload_content``) so the connection goes back to the pool.
    """

    def __init__(
        self,
        inner: urllib3.PoolManager,
        *,
        meter: Meter,
        timeout: urllib3.Timeout,
        search_pacer: Pacer,
    ) -> None:
        self._inner = inner
        self._meter = meter
        self._timeout = timeout
        self._search_pacer = search_pacer

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        """Send one request (its retries happen inside)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        kwargs["preload_content"] = True
        if method.upper() == "POST" and urlsplit(url).path.endswith("/search"):
            self._search_pacer.wait()
        self._meter.called()
        response = self._inner.request(method, url, **kwargs)
        self._meter.observe(response.headers)
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

    def __init__(self, settings: HubSpotSettings, *, instance: str) -> None:
        secret = settings.access_token.get_secret_value() if settings.access_token else ""
        if not secret.strip():
            variable = f"OKRSYNC_CONNECTORS__{instance.upper().replace('-', '_')}__ACCESS_TOKEN"
            raise FatalConnectorError(
                f"no HubSpot access token for connector `{instance}`: set `{variable}` "
                f"(or `{variable}_FILE`) to the private app's token",
                crm=CRM,
            )
        self.redactor = Redactor(secret)
        self.meter = Meter()
        self.reserve_percent = settings.quota_reserve_percent
        retry = _HubSpotRetry(
            total=settings.max_retries,
            connect=settings.max_retries,
            read=settings.max_retries,
            status=settings.max_retries,
            other=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,
            backoff_factor=settings.backoff_factor,
            backoff_jitter=settings.backoff_jitter,
            backoff_max=BACKOFF_MAX,
            respect_retry_after_header=True,
            raise_on_status=True,
        )
        retry.meter = self.meter
        retry.retry_after_cap = settings.retry_after_max_seconds
        self._pool = _MeteredPool(
            urllib3.PoolManager(num_pools=4, maxsize=4, retries=retry),
            meter=self.meter,
            timeout=urllib3.Timeout(
                connect=settings.timeout_seconds, read=settings.timeout_seconds
            ),
            search_pacer=Pacer(settings.search_requests_per_second),
        )
        self._timeout = settings.timeout_seconds
        self._client = hubspot.HubSpot(
            access_token=secret,
            host=settings.host.rstrip("/"),
            retry=retry,
            api_factory=self._factory,
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
        **kwargs: Any,
    ) -> Reply:
        """Call ``method`` of API ``api``; its 2xx reply, or a typed okrsync error.

        ``action`` completes "could not …" in messages. An
        ``EXPIRED_AUTHENTICATION`` 401 is retried once.

        Raises:
            FatalConnectorError: for 4xx answers (token, scopes, validation, not found).
            RetriableConnectorError: when the retries ran out (429, 5xx, timeouts, drops).
        """
        bound = getattr(self.api(api), method)
        where = {"object_name": object_name, "record": record}
        self._check_reserve(action, where)
        for attempt in (1, 2):
            try:
                response = bound(*args, _preload_content=False, **kwargs)
            except _API_EXCEPTIONS as exc:
                failure = failure_of(getattr(exc, "status", 0), getattr(exc, "body", None))
                if failure.status == _HTTP_UNAUTHORIZED and failure.category == _EXPIRED:
                    _log().warning("hubspot.http.expired", action=action, attempt=attempt, **where)
                    if attempt == 1:
                        continue
                raise self._error(failure, action, where) from None
            except MaxRetryError as exc:
                if isinstance(exc.reason, DailyLimitSpent):
                    raise QuotaReserveReached(
                        f"HubSpot could not {action}: the portal's daily API limit is spent; "
                        "the run stops with its progress saved and resumes when it resets",
                        crm=CRM,
                        code="DAILY_LIMIT",
                        **where,
                    ) from None
                reason = self.redactor.text(exc.reason or "retries exhausted")
                raise RetriableConnectorError(
                    f"HubSpot could not {action}: retries exhausted ({reason}); retry later",
                    crm=CRM,
                    code="RETRIES_EXHAUSTED",
                    **where,
                ) from None
            except HTTPError as exc:
                raise RetriableConnectorError(
                    f"HubSpot could not {action}: {type(exc).__name__}: "
                    f"{self.redactor.text(exc)}; retry later",
                    crm=CRM,
                    code="TRANSPORT_ERROR",
                    **where,
                ) from None
            data = response.data
            body = json.loads(data) if data else None
            return Reply(int(response.status), body)
        raise AssertionError  # pragma: no cover  (the loop returns or raises)

    def _check_reserve(self, action: str, where: dict[str, str]) -> None:
        """Stop before the daily quota falls under the reserve (as last reported by HubSpot)."""
        remaining, limit = self.meter.remaining, self.meter.limit
        if remaining is None or not limit:
            return
        reserve = limit * self.reserve_percent / 100
        if remaining <= reserve:
            raise QuotaReserveReached(
                f"HubSpot could not {action}: {remaining} of {limit} daily API calls left, "
                f"at or under the reserve of {self.reserve_percent:g} %; the run stops with its "
                "progress saved",
                crm=CRM,
                code="QUOTA_RESERVE",
                **where,
            )

    def _error(
        self, failure: ApiFailure, action: str, where: dict[str, str]
    ) -> FatalConnectorError | RetriableConnectorError:
        error = translate(failure, self.redactor, action=action, **where)
        _log().warning(
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
