"""Big reads through Bulk API 2.0 query jobs, with the REST query as the fallback.

The pull path (:mod:`okrsync_salesforce._pull`) reads a first pull through it
when the first REST page's ``totalSize`` reaches ``bulk_threshold_rows``.
The interface::

    endpoint = BulkEndpoint(instance_url, api_version, session, {"Authorization": "Bearer …"})
    choice = choose_read(endpoint, spec, since, threshold=settings.bulk_threshold_rows)
    read = BulkRead(endpoint, spec, since=since) if choice.bulk else None
    for page in read:          # okrsync.connector.Page: typed records, deleted ids
        ...
    read.path, read.reason     # "bulk" or "rest" (and why REST), for the run's account
    read.newest                # newest stamp seen, for the cursor
    read.checkpoint            # job id + locator + rows read: store it to resume after a crash

Input: a :class:`~okrsync_salesforce._pull.PullSpec` (object, fields resolved
against describe, the filter as SOQL, the stamp field) and ``since`` (the
cursor's stamp, or ``None`` for everything); output: an iterator of pages of
records typed exactly as the REST pull types them (:mod:`._values`); the HTTP
session is passed in (it carries the CA; the headers carry the token).

What happens:

- **The job**: ``POST jobs/query`` (``queryAll`` when reading since a stamp on
  an object with soft deletes, so deletions arrive as in the REST pull), then
  ``GET jobs/query/{id}`` with back-off (1 s doubling to 30 s, at most
  ``job_timeout``) until ``JobComplete``.
- **Results**: ``GET …/results?maxRecords=&locator=`` streamed and parsed row
  by row (a set is never held whole), yielded in pages of ``page_size``;
  Bulk CSV's empty field is null (Salesforce keeps no empty text: REST shows
  it as null too).
- **A failed or aborted job** is run once more (a new job); failing again, the
  read falls back to the REST query (``reason`` says so). A job still not done
  after ``job_timeout`` is aborted and the read falls back to REST.
- **An interrupted locator chain** (dropped connection, 5xx, a truncated set):
  the same locator is asked again (a locator stays valid while its job exists)
  and the rows of that set already yielded are skipped; at most
  ``max_retries`` times in a row.
- **Expired results** (the job is gone: 404, e.g. resuming a checkpoint after
  the 7-day lifespan): the job is run again from the start; rows already
  yielded come again (the replica upserts by ``Id``: harmless), and
  ``counts["reruns"]`` says so.
- **What Bulk cannot serve** (an object "not supported by the Bulk API",
  compound fields, refused SOQL shapes, the 10 000 daily jobs spent): the
  read falls back to the REST query (crm-api-notes point 6).
- The finished job is deleted (one call) so the org keeps no copy of the rows.

:func:`choose_read` learns the row count with ``SELECT COUNT() FROM X WHERE …``
(one call) and picks bulk at or above the threshold. The default
(:data:`DEFAULT_BULK_THRESHOLD`, 20 000 rows) comes from the call arithmetic:
REST costs ⌈n / 2 000⌉ calls; a job costs create + about log₂(seconds) polls +
⌈n / max_records⌉ result sets + delete, about 7 calls for a job of up to a
minute. At 20 000 rows REST needs 10 calls, the job 7; below, REST is as
cheap and starts at once (a job waits seconds to minutes before the first row).
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal, NoReturn, cast

import requests
import structlog
import urllib3

from okrsync.connector import Page
from okrsync.errors import FatalConnectorError, QuotaReserveReached, RetriableConnectorError
from okrsync_salesforce._errors import CRM, request_limit
from okrsync_salesforce._soql import format_datetime, parse_datetime, select
from okrsync_salesforce._values import dig, to_python

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from datetime import datetime

    from okrsync.kit import CursorWindow
    from okrsync_salesforce._pull import PullSpec

__all__ = [
    "DEFAULT_BULK_THRESHOLD",
    "DEFAULT_MAX_RECORDS",
    "BulkCheckpoint",
    "BulkEndpoint",
    "BulkOptions",
    "BulkRead",
    "ReadChoice",
    "choose_read",
    "count_rows",
]

DEFAULT_BULK_THRESHOLD = 20_000
"""Rows from which a read goes through Bulk API 2.0 (see the module docstring)."""
DEFAULT_MAX_RECORDS = 100_000
"""Rows per result set asked for (``maxRecords``): 10 sets for a million rows."""
_REST_PAGE = 2000
_NOT_FOUND = 404
_FIRST_FAILURE = 400
_SERVER_ERROR = 500
_TOO_MANY = 429
_FORBIDDEN = 403
_UNAUTHORIZED = 401
_UNSUPPORTED_CODES = frozenset({"INVALIDENTITY", "LIMIT_EXCEEDED", "FUNCTIONALITY_NOT_ENABLED"})
_UNSUPPORTED_TEXT = (
    "not supported",
    "Selecting compound data",
    "Aggregate Relationships",
)
_INTERRUPTED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
)

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class BulkEndpoint:
    """Where and how the calls go: the org's URL, the API version, a session, auth headers."""

    instance_url: str
    api_version: str
    session: requests.Session
    headers: Mapping[str, str]
    """At least ``Authorization``."""
    timeout: float = 120.0
    before: Callable[[str], None] | None = None
    """Called before each call is sent (the connector's budget: reserve check and count)."""
    renew: Callable[[], Mapping[str, str]] | None = None
    """New headers after ``INVALID_SESSION_ID`` (a fresh token); ``None``: the call fails."""

    def url(self, path: str) -> str:
        """``https://…/services/data/vXX.X/<path>``."""
        return f"{self.instance_url.rstrip('/')}/services/data/v{self.api_version}/{path}"


@dataclass(frozen=True, slots=True)
class BulkOptions:
    """How a bulk read polls, pages and gives up."""

    max_records: int = DEFAULT_MAX_RECORDS
    page_size: int = _REST_PAGE
    """Records per yielded page (as many as a REST page)."""
    first_poll: float = 1.0
    max_poll: float = 30.0
    job_timeout: float = 3600.0
    """Seconds a job may take before it is aborted and REST takes over."""
    job_attempts: int = 2
    """Jobs tried before falling back to REST (a failed job is run once more)."""
    max_retries: int = 5
    """Retries of one call after a retriable failure (dropped connection, 5xx, 429)."""
    retry_backoff: float = 1.0
    delete_when_done: bool = True


@dataclass(frozen=True, slots=True)
class BulkCheckpoint:
    """Where a bulk read was: its job, the locator of the set being read, rows of it read."""

    job_id: str
    locator: str | None
    rows_in_set: int = 0


@dataclass(frozen=True, slots=True)
class ReadChoice:
    """The row count a ``COUNT()`` found and the path chosen for it."""

    rows: int
    threshold: int

    @property
    def bulk(self) -> bool:
        """Whether the read should go through Bulk API 2.0."""
        return self.threshold > 0 and self.rows >= self.threshold


class _Fallback(Exception):  # noqa: N818  (control flow, never escapes)
    """Bulk cannot serve this read; the message says why."""


class _Gone(Exception):  # noqa: N818  (control flow, never escapes)
    """The job no longer exists (its results expired)."""


def _where(spec: PullSpec, since: datetime | None, *, archived: bool = False) -> str | None:
    """The filter of a first read; since a stamp, the stamp window unfiltered (as REST pulls it).

    ``archived``: a first read of an object that archives records (Task, Event)
    through ``queryAll``, which returns archived rows, less the recycle bin.
    """
    if since is not None:
        return f"{spec.stamp_field} >= {format_datetime(since)}"
    if archived:
        live = "IsDeleted = false"
        return live if spec.where is None else f"({spec.where}) AND {live}"
    return spec.where


def _all_rows(spec: PullSpec, since: datetime | None, *, archived: bool = False) -> bool:
    """Whether the read is a ``queryAll`` (soft deletes since a stamp; archived rows)."""
    return (since is not None and spec.soft_deletes) or (since is None and archived)


def _soql(spec: PullSpec, since: datetime | None, *, archived: bool = False) -> str:
    return select(
        spec.select(with_deleted=since is not None and spec.soft_deletes),
        spec.object_name,
        where=_where(spec, since, archived=archived),
    )


def _errors(response: requests.Response) -> tuple[str, str]:
    """The first ``errorCode`` and ``message`` of a Salesforce error list."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    item = body[0] if isinstance(body, list) and body else body
    if not isinstance(item, dict):
        return "", str(body)[:200]
    return str(item.get("errorCode") or ""), str(item.get("message") or "")


class _Calls:
    """Sends one call with bounded retries of retriable failures; types the rest."""

    def __init__(
        self,
        endpoint: BulkEndpoint,
        options: BulkOptions,
        sleep: Callable[[float], None],
        object_name: str,
    ) -> None:
        self.endpoint = endpoint
        self.options = options
        self.sleep = sleep
        self.object_name = object_name
        self.headers = dict(endpoint.headers)
        self.calls = 0
        self.retries = 0

    def send(
        self, what: str, method: str, path: str, *, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """The response of a 2xx, or 404 (the caller decides); every other failure raised."""
        attempt = 0
        extra = kwargs.pop("headers", {})
        renewed = False
        while True:
            self.calls += 1
            if self.endpoint.before is not None:
                self.endpoint.before(what)
            headers = {**self.headers, **extra}
            try:
                response = self.endpoint.session.request(
                    method,
                    self.endpoint.url(path),
                    headers=headers,
                    timeout=self.endpoint.timeout,
                    stream=stream,
                    **kwargs,
                )
            except _INTERRUPTED as exc:
                attempt = self._again(what, attempt, type(exc).__name__)
                continue
            status = response.status_code
            if status < _FIRST_FAILURE or status == _NOT_FOUND:
                return response
            code, message = _errors(response)
            response.close()
            if status == _UNAUTHORIZED and self.endpoint.renew is not None and not renewed:
                log.info("salesforce.bulk.relogin", object=self.object_name, what=what)
                self.headers = dict(self.endpoint.renew())
                renewed = True
                continue
            concurrent = (
                status == _FORBIDDEN
                and code == "REQUEST_LIMIT_EXCEEDED"
                and request_limit(message, None) == "concurrent"
            )
            if status >= _SERVER_ERROR or status == _TOO_MANY or concurrent:
                attempt = self._again(what, attempt, f"{status} {code}")
                continue
            self.fail(what, status, code, message)

    def fail(self, what: str, status: int, code: str, message: str) -> NoReturn:
        """Raise the typed error of a refused call."""
        text = f"{what}: {status} {code}: {message}"
        if status == _FORBIDDEN and code == "REQUEST_LIMIT_EXCEEDED":
            raise QuotaReserveReached(text, crm=CRM, object_name=self.object_name, code=code)
        if code in _UNSUPPORTED_CODES or any(t in message for t in _UNSUPPORTED_TEXT):
            raise _Fallback(f"{code}: {message}")
        if status == _UNAUTHORIZED:
            code = code or "INVALID_SESSION_ID"
        raise FatalConnectorError(text, crm=CRM, object_name=self.object_name, code=code)

    def _again(self, what: str, attempt: int, reason: str) -> int:
        if attempt >= self.options.max_retries:
            raise RetriableConnectorError(
                f"{what}: still failing after {attempt} retries ({reason})",
                crm=CRM,
                object_name=self.object_name,
            )
        delay = min(30.0, self.options.retry_backoff * 2**attempt)
        log.warning(
            "salesforce.bulk.retry", object=self.object_name, what=what, reason=reason, sleep=delay
        )
        self.sleep(delay)
        self.retries += 1
        return attempt + 1


def count_rows(endpoint: BulkEndpoint, spec: PullSpec, since: datetime | None = None) -> int:
    """Rows a read would return: ``SELECT COUNT() FROM X WHERE …`` (one call)."""
    soql = select(["COUNT()"], spec.object_name, where=_where(spec, since))
    kind = "queryAll" if _all_rows(spec, since) else "query"
    calls = _Calls(endpoint, BulkOptions(), time.sleep, spec.object_name)
    response = calls.send(f"count {spec.object_name}", "GET", f"{kind}/", params={"q": soql})
    if response.status_code == _NOT_FOUND:
        calls.fail(f"count {spec.object_name}", _NOT_FOUND, *_errors(response))
    return int(response.json().get("totalSize") or 0)


def choose_read(
    endpoint: BulkEndpoint,
    spec: PullSpec,
    since: datetime | None = None,
    *,
    threshold: int = DEFAULT_BULK_THRESHOLD,
) -> ReadChoice:
    """Count the rows (one call) and choose bulk at or above ``threshold`` (0: never)."""
    rows = count_rows(endpoint, spec, since) if threshold > 0 else 0
    return ReadChoice(rows, threshold)


@dataclass(slots=True)
class _Batch:
    """Rows read but not handed over yet: ``(id, stamp, record)`` (``None``: deleted), skips."""

    rows: list[tuple[str, datetime, dict[str, Any] | None]] = field(default_factory=list)
    skips: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Set:
    locator: str | None
    skip: int = 0


@dataclass(slots=True)
class BulkRead:
    """One read of one object through a Bulk API 2.0 job (REST when Bulk cannot serve it).

    Iterate it once. Args: the endpoint, the spec, ``since`` (cursor stamp or
    ``None``), options, ``resume`` (a checkpoint of an earlier read of the same
    spec), ``sleep`` (waits; tests move the sandbox clock instead), ``connector``.
    """

    endpoint: BulkEndpoint
    spec: PullSpec
    since: datetime | None = None
    options: BulkOptions = field(default_factory=BulkOptions)
    resume: BulkCheckpoint | None = None
    sleep: Callable[[float], None] = time.sleep
    connector: str = "salesforce"
    window: CursorWindow | None = None
    """The pull's cursor window: each row goes through it (newest stamp, rows seen)."""
    archived: bool = False
    """Read archived rows too (``queryAll`` less the recycle bin: Task, Event)."""
    path: Literal["bulk", "rest"] = "bulk"
    reason: str = ""
    """Why the read went through REST (empty when it did not)."""
    newest: datetime | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "records": 0,
            "deleted": 0,
            "skipped": 0,
            "jobs": 0,
            "failed_jobs": 0,
            "reruns": 0,
            "sets": 0,
            "interruptions": 0,
            "retried_calls": 0,
        }
    )
    _job: str | None = None
    _set: _Set | None = None
    _started: bool = False
    _calls: _Calls | None = None

    @property
    def calls(self) -> int:
        """HTTP calls made so far."""
        return self._calls.calls if self._calls is not None else 0

    @property
    def checkpoint(self) -> BulkCheckpoint | None:
        """Where to resume this read (``None`` before a job exists or after the last set)."""
        if self._job is None or self._set is None:
            return None
        return BulkCheckpoint(self._job, self._set.locator, self._set.skip)

    def __iter__(self) -> Iterator[Page]:
        if self._started:
            raise RuntimeError("a read is iterated once")
        self._started = True
        self._calls = _Calls(self.endpoint, self.options, self.sleep, self.spec.object_name)
        return self._run()

    # -- the run ------------------------------------------------------------------------

    def _run(self) -> Iterator[Page]:
        bound = log.bind(connector=self.connector, crm=CRM, object=self.spec.object_name)
        try:
            yield from self._bulk()
        except _Fallback as why:
            self.path, self.reason = "rest", str(why)
            bound.warning("salesforce.bulk.fallback", reason=self.reason)
            yield from self._rest()
        self.counts["retried_calls"] = self._calls.retries if self._calls is not None else 0
        bound.info("salesforce.bulk.completed", path=self.path, calls=self.calls, **self.counts)

    def _bulk(self) -> Iterator[Page]:
        reran = False
        if self.resume is not None:
            self._job = self.resume.job_id
            self._set = _Set(self.resume.locator, self.resume.rows_in_set)
        while True:
            if self._job is None:
                self._job = self._run_job()
                self._set = _Set(None)
            try:
                yield from self._sets()
            except _Gone:
                if reran:
                    raise _Fallback("the job's results vanished twice") from None
                reran = True
                self.counts["reruns"] += 1
                log.warning(
                    "salesforce.bulk.rerun", object=self.spec.object_name, job=self._job,
                    reason="results expired or job deleted",
                )  # fmt: skip
                self._job = None
                continue
            break
        self._finish()

    def _run_job(self) -> str:
        """Create a job and wait for it; ``_Fallback`` when jobs keep failing."""
        calls = self._calls
        assert calls is not None  # noqa: S101  (set in __iter__)
        what = f"bulk query {self.spec.object_name}"
        all_rows = _all_rows(self.spec, self.since, archived=self.archived)
        query = _soql(self.spec, self.since, archived=self.archived)
        body = {"operation": "queryAll" if all_rows else "query", "query": query}
        for attempt in range(1, self.options.job_attempts + 1):
            response = calls.send(what, "POST", "jobs/query", json=body)
            job_id = str(response.json()["id"])
            self.counts["jobs"] += 1
            state, message = self._wait(job_id)
            if state == "JobComplete":
                return job_id
            self.counts["failed_jobs"] += 1
            log.warning(
                "salesforce.bulk.job_failed", object=self.spec.object_name, job=job_id,
                state=state, error=message, attempt=attempt,
            )  # fmt: skip
            last = f"job {job_id} ended {state}: {message}"
        raise _Fallback(f"{self.options.job_attempts} bulk jobs failed; last: {last}")

    def _wait(self, job_id: str) -> tuple[str, str]:
        calls = self._calls
        assert calls is not None  # noqa: S101  (set in __iter__)
        delay = self.options.first_poll
        waited = 0.0
        while True:
            response = calls.send(f"poll bulk job {job_id}", "GET", f"jobs/query/{job_id}")
            if response.status_code == _NOT_FOUND:
                return "Deleted", "the job no longer exists"
            info = response.json()
            state = str(info.get("state") or "")
            if state in {"JobComplete", "Failed", "Aborted"}:
                return state, str(info.get("errorMessage") or "")
            if waited >= self.options.job_timeout:
                calls.send(
                    f"abort bulk job {job_id}",
                    "PATCH",
                    f"jobs/query/{job_id}",
                    json={"state": "Aborted"},
                )
                raise _Fallback(f"job {job_id} not done after {waited:g} s")
            self.sleep(delay)
            waited += delay
            delay = min(self.options.max_poll, delay * 2)

    def _sets(self) -> Iterator[Page]:
        """Every result set from the current locator on, resuming interrupted ones."""
        calls = self._calls
        assert calls is not None  # noqa: S101  (set in __iter__)
        assert self._set is not None  # noqa: S101  (set with the job)
        interrupted = 0
        while True:
            current = self._set
            params: dict[str, Any] = {"maxRecords": self.options.max_records}
            if current.locator:
                params["locator"] = current.locator
            response = calls.send(
                f"results of bulk job {self._job}",
                "GET",
                f"jobs/query/{self._job}/results",
                params=params,
                stream=True,
            )
            if response.status_code == _NOT_FOUND:
                response.close()
                raise _Gone
            try:
                yield from self._read_set(response, current)
            except (*_INTERRUPTED, _Truncated) as exc:
                interrupted += 1
                self.counts["interruptions"] += 1
                if interrupted > self.options.max_retries:
                    raise RetriableConnectorError(
                        f"results of bulk job {self._job} keep breaking off ({exc})",
                        crm=CRM,
                        object_name=self.spec.object_name,
                    ) from None
                log.warning(
                    "salesforce.bulk.set_interrupted", object=self.spec.object_name,
                    job=self._job, locator=current.locator, read=current.skip,
                    error=type(exc).__name__,
                )  # fmt: skip
                self.sleep(min(30.0, self.options.retry_backoff * 2 ** (interrupted - 1)))
                continue
            finally:
                response.close()
            interrupted = 0
            self.counts["sets"] += 1
            following = response.headers.get("Sforce-Locator") or "null"
            if following == "null":
                return
            self._set = _Set(following)

    def _read_set(self, response: requests.Response, current: _Set) -> Iterator[Page]:
        expected = int(response.headers.get("Sforce-NumberOfRecords") or -1)
        response.raw.decode_content = True
        text = io.TextIOWrapper(cast("IO[bytes]", response.raw), encoding="utf-8", newline="")
        rows = csv.reader(text, strict=True)
        header = next(rows, None)
        if header is None:
            raise _Truncated("an empty result set")
        index = {name.lower(): i for i, name in enumerate(header)}
        seen = 0
        batch = _Batch()
        for row in rows:
            seen += 1
            if seen <= current.skip:
                continue
            self._take(batch, index, row)
            if len(batch.rows) >= self.options.page_size:
                # Rows count as read once their page is handed over: a set that breaks
                # off later is read again from here (nothing lost, nothing twice).
                current.skip = seen
                yield self._out(batch)
                batch = _Batch()
        if 0 <= expected != seen:
            raise _Truncated(f"{seen} of {expected} rows")
        if batch.rows or batch.skips:
            current.skip = seen
            yield self._out(batch)

    def _take(self, batch: _Batch, index: dict[str, int], row: list[str]) -> None:
        def cell(name: str) -> str | None:
            i = index.get(name.lower())
            value = row[i] if i is not None and i < len(row) else ""
            return value or None  # Bulk CSV: an empty field is null

        record_id = cell("Id") or ""
        self._record(
            batch,
            record_id,
            cell(self.spec.stamp_field),
            cell("IsDeleted") == "true",
            lambda resolved: cell(resolved.path),
        )

    def _record(
        self,
        batch: _Batch,
        record_id: str,
        stamp: Any,
        deleted: bool,
        value_of: Callable[[Any], Any],
    ) -> None:
        try:
            moment = parse_datetime(str(stamp))
        except ValueError:
            batch.skips.append((record_id, f"{self.spec.stamp_field}: unreadable {stamp!r}"))
            return
        if deleted:
            batch.rows.append((record_id, moment, None))
            return
        out: dict[str, Any] = {"Id": record_id}
        for name, resolved in self.spec.fields:
            value = value_of(resolved)
            try:
                out[name] = to_python(resolved.type, value)
            except (TypeError, ValueError) as exc:
                reason = f"{resolved.path}: {exc} (value {repr(value)[:80]})"
                batch.skips.append((record_id, reason))
                return
        batch.rows.append((record_id, moment, out))

    def _out(self, batch: _Batch) -> Page:
        """The page of a batch being handed over: newest stamp, the window, skips, counts."""
        page = Page()
        for record_id, moment, record in batch.rows:
            if self.newest is None or moment > self.newest:
                self.newest = moment
            live = record is not None
            if self.window is not None and not self.window.fresh(record_id, moment, live=live):
                continue  # already reported at this stamp (an overlapping window)
            if record is None:
                page.deleted.append(record_id)
            else:
                page.records.append(record)
        for record_id, reason in batch.skips:
            self._skip(record_id, reason)
        self.counts["records"] += len(page.records)
        self.counts["deleted"] += len(page.deleted)
        return page

    def _skip(self, record_id: str, reason: str) -> None:
        self.skipped.append((record_id, reason))
        self.counts["skipped"] += 1
        log.warning("salesforce.pull.skipped", record=record_id, reason=reason)

    def _finish(self) -> None:
        job, self._set = self._job, None
        if job is not None and self.options.delete_when_done and self._calls is not None:
            self._calls.send(f"delete bulk job {job}", "DELETE", f"jobs/query/{job}")

    # -- the REST fallback ----------------------------------------------------------------

    def _rest(self) -> Iterator[Page]:
        calls = self._calls
        assert calls is not None  # noqa: S101  (set in __iter__)
        self._job = self._set = None
        what = f"query {self.spec.object_name}"
        kind = "queryAll" if _all_rows(self.spec, self.since, archived=self.archived) else "query"
        headers = {"Sforce-Query-Options": f"batchSize={min(self.options.page_size, _REST_PAGE)}"}
        soql = _soql(self.spec, self.since, archived=self.archived)
        response = calls.send(what, "GET", f"{kind}/", params={"q": soql}, headers=headers)
        while True:
            if response.status_code == _NOT_FOUND:
                calls.fail(what, _NOT_FOUND, *_errors(response))
            answer = response.json()
            batch = _Batch()
            for raw in answer.get("records") or []:
                self._record(
                    batch,
                    str(raw.get("Id") or ""),
                    raw.get(self.spec.stamp_field),
                    raw.get("IsDeleted") is True,
                    _digger(raw),
                )
            yield self._out(batch)
            following = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not following:
                return
            path = str(following).split(f"/v{self.endpoint.api_version}/", 1)[-1]
            response = calls.send(f"{what} (next page)", "GET", path, headers=headers)


def _digger(raw: dict[str, Any]) -> Callable[[Any], Any]:
    def value_of(resolved: Any) -> Any:
        return dig(raw, resolved.parts)

    return value_of


class _Truncated(Exception):  # noqa: N818  (control flow, never escapes)
    """A result set ended before all its rows arrived."""


def rest_calls(rows: int) -> int:
    """Calls a REST read of ``rows`` costs (pages of 2 000)."""
    return max(1, math.ceil(rows / _REST_PAGE))


def bulk_calls(rows: int, *, polls: int, max_records: int = DEFAULT_MAX_RECORDS) -> int:
    """Calls a bulk read of ``rows`` costs: create, ``polls``, result sets, delete."""
    return 1 + polls + max(1, math.ceil(rows / max_records)) + 1
