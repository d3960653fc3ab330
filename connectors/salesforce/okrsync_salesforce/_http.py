"""Every call to Salesforce goes through :class:`Transport`: login, budget, retries, errors.

The budget, the retries and the redaction are the connector toolkit's
(:mod:`okrsync.kit`); what is Salesforce's own is here:

- The HTTP session has timeouts on every request and, with ``ca_file``, an
  adapter that pins the CA whatever ``REQUESTS_CA_BUNDLE`` says (requests lets
  that variable override ``session.verify`` for calls that do not pass
  ``verify``, which is how simple-salesforce calls).
- Every answer's ``Sforce-Limit-Info`` (refusals too) tells the
  :class:`~okrsync.kit.QuotaMeter` what is left of the org's daily requests;
  before each call the reserve rule is checked against it.
- Each failure is sorted (:func:`~okrsync_salesforce._errors.classify`): the
  retriable kind (5xx, timeouts, dropped connections, ``UNABLE_TO_LOCK_ROW``,
  ``SERVER_UNAVAILABLE``, the concurrent-request limit) is retried by the
  :class:`~okrsync.kit.RetryPolicy`; the daily limit stops the run; everything
  else fails at once as a typed error.
- ``INVALID_SESSION_ID`` logs in again once and repeats the call (credential
  flows); a static session is tried once more, then the call fails fatally.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import requests
import structlog
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession
from simple_salesforce.util import exception_handler

from okrsync.errors import (
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
)
from okrsync.kit import QuotaMeter, Redactor, RetryPolicy, ServerClock
from okrsync_salesforce._auth import Authenticator, Token
from okrsync_salesforce._bulk import BulkEndpoint
from okrsync_salesforce._errors import CRM, classify

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from okrsync.connector import Usage
    from okrsync_salesforce._plugin import SalesforceSettings

__all__ = ["PinnedAdapter", "Transport", "make_session"]

T = TypeVar("T")
_FORBIDDEN = 403
_FIRST_FAILURE = 300
_USER_ID = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")

log = structlog.get_logger()


class PinnedAdapter(HTTPAdapter):
    """Sends with a default timeout and, when given, verifies with one CA file.

    ``REQUESTS_CA_BUNDLE`` overrides ``session.verify`` for requests that do not
    pass ``verify`` themselves; an adapter sees the final value and can pin it.
    """

    def __init__(self, ca_file: str | None, timeout: tuple[float, float]) -> None:
        super().__init__()  # no retries of its own: the toolkit's policy decides
        self.ca_file = ca_file
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.ca_file is not None:
            kwargs["verify"] = self.ca_file
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_session(
    settings: SalesforceSettings,
    meter: QuotaMeter | None = None,
    server_clock: ServerClock | None = None,
) -> requests.Session:
    """A session with timeouts on every request and the CA pinned (when ``ca_file`` is set).

    With ``meter``, every answer's ``Sforce-Limit-Info`` is reported to it; with
    ``server_clock``, every answer's ``Date``.
    """
    ca_file = str(settings.ca_file) if settings.ca_file is not None else None
    session = requests.Session()
    if ca_file is not None:
        session.verify = ca_file
    session.mount("https://", PinnedAdapter(ca_file, settings.timeouts))
    if meter is not None:

        def limits(response: requests.Response, *_: Any, **__: Any) -> None:
            found = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
            if found:
                used, total = int(found[1]), int(found[2])
                meter.report(remaining=total - used, limit=total)

        session.hooks["response"].append(limits)
    if server_clock is not None:

        def date(response: requests.Response, *_: Any, **__: Any) -> None:
            server_clock.observe(response.headers.get("Date"))

        session.hooks["response"].append(date)
    return session


class Transport:
    """The connector's way to Salesforce: one client, its budget, its retries.

    Args:
        name: The connector instance's name (bound to every log line).
        settings: The instance's settings.
        clock: The connector's clock (for the CRM's, :attr:`server_clock`).
    """

    def __init__(
        self,
        name: str,
        settings: SalesforceSettings,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.redact = Redactor()
        self.timeout = settings.timeouts
        self.meter = QuotaMeter(CRM, settings.quota_reserve_percent)
        self.retry = RetryPolicy.of(settings)
        self.server_clock = ServerClock(clock or (lambda: datetime.now(UTC)))
        """The org's clock, from the ``Date`` of every answer."""
        self.session = make_session(settings, self.meter, self.server_clock)
        self.auth = Authenticator(settings, self.session, self.redact, self.timeout)
        self._client: Salesforce | None = None
        self._login_lock = threading.RLock()
        self._token: Token | None = None
        self._user_id: str | None = None
        self.log = log.bind(connector=name, crm=CRM)

    # -- the client ------------------------------------------------------------------

    @property
    def client(self) -> Salesforce:
        """The simple-salesforce client, logging in first if needed (once, whatever the threads)."""
        client = self._client
        if client is None:
            with self._login_lock:
                if self._client is None:
                    self._login()
            client = self._client
        assert client is not None  # noqa: S101  (set by _login)
        return client

    def _login(self) -> None:
        token = self.retry.call(self.auth.login, what="log in", log=self.log, redact=self.redact)
        self._token = token
        self._client = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.session,
            version=self.settings.api_version,
            object_pairs_hook=dict,
        )

    @property
    def instance_url(self) -> str:
        """``https://…`` of the org (after login)."""
        _ = self.client
        assert self._token is not None  # noqa: S101  (logged in above)
        return self._token.instance_url

    # -- calls ------------------------------------------------------------------------

    def call(
        self,
        what: str,
        fn: Callable[[Salesforce], T],
        *,
        object_name: str = "",
        record: str = "",
    ) -> T:
        """Run ``fn(client)``: budgeted, retried when retriable, errors typed.

        Args:
            what: What the call does, for errors and logs (``query Opportunity``).
            fn: The call; it must be safe to repeat.
            object_name: The object concerned, for errors.
            record: The record concerned, for errors.

        Raises:
            QuotaReserveReached: The reserve would be crossed, or the quota is spent.
            RetriableConnectorError: Still failing after the retries.
            FatalConnectorError: Refused, or the session cannot be renewed.
        """
        _ = self.client  # logs in first, with retries of its own
        return self.retry.call(
            lambda: self._once(what, fn, object_name, record),
            what=what,
            log=self.log,
            redact=self.redact,
            object_name=object_name,
        )

    def _once(self, what: str, fn: Callable[[Salesforce], T], object_name: str, record: str) -> T:
        """One attempt (with at most one renewal of an expired session), its failure typed."""
        try:
            client = self.client
            used = self._token
            self._count(what, object_name)
            try:
                return fn(client)
            except SalesforceExpiredSession:
                self._renew(what, object_name, used)
                self._count(what, object_name)
                return fn(self.client)
        except ConnectorError:
            raise
        except SalesforceExpiredSession:
            if self.auth.can_login_again:  # a token rejected right after it was issued
                raise RetriableConnectorError(
                    f"{what}: a freshly issued access token was rejected (INVALID_SESSION_ID)",
                    crm=CRM,
                    object_name=object_name,
                    record=record,
                    code="INVALID_SESSION_ID",
                ) from None
            raise FatalConnectorError(
                f"{what}: the static session id was rejected (INVALID_SESSION_ID): give a fresh "
                "`session_id` or use the `jwt` or `client_credentials` flow",
                crm=CRM,
                object_name=object_name,
                record=record,
                code="INVALID_SESSION_ID",
            ) from None
        except Exception as exc:  # noqa: BLE001  (any failure of the client or of HTTP becomes a typed error)
            raise classify(
                exc,
                self.redact,
                what=what,
                object_name=object_name,
                record=record,
                remaining=self.meter.remaining,
            ) from None

    def _count(self, what: str, object_name: str) -> None:
        """Check the reserve, then count the call about to be sent."""
        self.meter.check(what, object_name=object_name)
        self.meter.called()

    def _renew(self, what: str, object_name: str, rejected: Token | None = None) -> None:
        """After ``INVALID_SESSION_ID``: a new token, or (static session) one more try."""
        if self.auth.can_login_again:
            self.log.info("salesforce.auth.relogin", object=object_name, what=what)
            with self._login_lock:  # pulls at once may meet the expiry together: one login
                if rejected is None or self._token is rejected:
                    self._client = None
                    self._login()
            return
        self.log.warning("salesforce.auth.session_rejected", object=object_name, what=what)

    # -- typed shortcuts ---------------------------------------------------------------

    def query(
        self,
        what: str,
        soql: str,
        *,
        object_name: str = "",
        all_rows: bool = False,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The first page of a SOQL query (``queryAll`` with ``all_rows``)."""

        def send(client: Salesforce) -> dict[str, Any]:
            answer = client.query(soql, include_deleted=all_rows, headers=headers or {})
            return answer if isinstance(answer, dict) else {}

        return self.call(what, send, object_name=object_name)

    def query_more(
        self,
        what: str,
        url: str,
        *,
        object_name: str = "",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The page at a ``nextRecordsUrl``."""

        def send(client: Salesforce) -> dict[str, Any]:
            answer = client.query_more(url, identifier_is_url=True, headers=headers or {})
            return answer if isinstance(answer, dict) else {}

        return self.call(what, send, object_name=object_name)

    def query_rows(
        self,
        what: str,
        soql: str,
        *,
        object_name: str = "",
        all_rows: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of records of a query, fetched one at a time."""
        answer = self.query(what, soql, object_name=object_name, all_rows=all_rows, headers=headers)
        while True:
            yield list(answer.get("records") or [])
            url = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not url:
                return
            answer = self.query_more(
                f"{what} (next page)", str(url), object_name=object_name, headers=headers
            )

    def rest(
        self,
        what: str,
        path: str,
        *,
        method: str = "GET",
        object_name: str = "",
        **kwargs: Any,
    ) -> Any:
        """A REST call below ``/services/data/vXX.X/`` (JSON answer, ``None`` for 204)."""

        def send(client: Salesforce) -> Any:
            return client.restful(path, method=method, **kwargs)

        return self.call(what, send, object_name=object_name)

    def tooling(
        self,
        what: str,
        action: str,
        *,
        method: str = "GET",
        data: dict[str, Any] | None = None,
        object_name: str = "",
        **kwargs: Any,
    ) -> Any:
        """A Tooling API call (``query/``, ``sobjects/CustomField/``…)."""

        def send(client: Salesforce) -> Any:
            return client.toolingexecute(action, method=method, data=data, **kwargs)

        return self.call(what, send, object_name=object_name)

    def raw(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        """A call outside the versioned API (``/services/oauth2/userinfo``), as JSON."""

        def send(client: Salesforce) -> Any:
            response = self.session.request(
                method,
                f"https://{client.sf_instance}{path}",
                headers=client.headers,
                timeout=self.timeout,
                **kwargs,
            )
            if response.status_code == _FORBIDDEN and "Bad_OAuth_Token" in response.text:
                raise SalesforceExpiredSession(response.url, 401, path, b"Bad_OAuth_Token")
            if response.status_code >= _FIRST_FAILURE:
                exception_handler(response, name=path)
            return response.json()

        return self.call(what, send)

    def current_user_id(self) -> str:
        """The id of the user the connector acts as (from the login, else ``userinfo``)."""
        if self._user_id is None:
            _ = self.client
            assert self._token is not None  # noqa: S101  (logged in above)
            found = self._token.user_id
            if not found:
                info = self.raw("read the current user", "GET", "/services/oauth2/userinfo")
                found = str(info.get("user_id") or "") if isinstance(info, dict) else ""
            if not _USER_ID.match(found):
                raise FatalConnectorError("cannot tell which user the connector acts as", crm=CRM)
            self._user_id = found
        return self._user_id

    # -- Bulk API 2.0 ------------------------------------------------------------------

    def bulk_endpoint(self) -> BulkEndpoint:
        """Where Bulk API 2.0 calls go: this session and budget, renewing the token as calls do."""
        client = self.client
        return BulkEndpoint(
            self.instance_url,
            self.settings.api_version,
            self.session,
            dict(client.headers),
            timeout=self.timeout[1],
            before=lambda what: self._count(what, ""),
            renew=self._renewed_headers,
        )

    def _renewed_headers(self) -> dict[str, str]:
        """Headers with a new token after ``INVALID_SESSION_ID`` (credential flows only)."""
        if not self.auth.can_login_again:
            raise FatalConnectorError(
                "bulk query: the static session id was rejected (INVALID_SESSION_ID): give a "
                "fresh `session_id` or use the `jwt` or `client_credentials` flow",
                crm=CRM,
                code="INVALID_SESSION_ID",
            )
        self._renew("bulk query", "")
        return dict(self.client.headers)

    # -- budget --------------------------------------------------------------------

    def check_budget(self, what: str, object_name: str = "") -> None:
        """Raise ``QuotaReserveReached`` when one more call would cross the reserve."""
        self.meter.check(what, object_name=object_name)

    def usage(self) -> Usage:
        """Calls made and the daily quota as last reported."""
        return self.meter.usage()

    def close(self) -> None:
        """Release the connections."""
        self.session.close()
