"""Bulk API 2.0 query jobs: create, poll, page the CSV results by locator, abort, delete.

Follows Salesforce's *Bulk API 2.0 and Bulk API Developer Guide* ("Bulk API 2.0
Query", https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_bulk_api_2_0.htm):

- ``POST /jobs/query`` ``{"operation": "query"|"queryAll", "query", "contentType",
  "columnDelimiter", "lineEnding"}`` answers the job in state ``UploadComplete``;
  the query is checked at once (unknown names, and what Bulk 2.0 refuses:
  ``GROUP BY``, ``OFFSET``, aggregate functions and ``COUNT()``, parent-to-child
  sub-queries, objects the Bulk API does not serve).
- The job then moves, on the sandbox's clock, through ``InProgress`` to
  ``JobComplete`` (or ``Failed``: a fault, or :meth:`BulkJobs.fail_next`);
  its processing time grows with the rows it matches.
- ``GET …/results?locator=&maxRecords=`` answers CSV: a header row of the
  selected paths (``Owner.Email``) in SELECT order (API 50.0 and later), each
  value double-quoted, a null as an empty unquoted field (Salesforce keeps no
  empty strings: an empty text is null), checkboxes ``true``/``false``, dates
  ``2026-07-01``, datetimes ``2026-07-01T10:00:00.000Z``, numbers as Java's
  ``Double.toString`` writes them (``12500.0``, ``1.25E7``). The
  crm-api-notes' "dates as epoch milliseconds" is Bulk API 1.0's JSON results,
  not 2.0's CSV. Headers ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (an
  opaque string, ``null`` on the last set); a locator can be read again as
  long as the job exists. Before completion: 412 (see :func:`_not_complete`).
- Results of a job in a terminal state are deleted after 7 days ("Results
  lifespan", Bulk API 2.0 limits); then every call on the job is a 404.
- At most 10 000 query jobs per rolling 24 hours (``DailyBulkV2QueryJobs``);
  every HTTP call also counts one ``DailyApiRequests``, as any REST call.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import random
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.engine import RecordPlan, window
from okrsync_salesforce_sandbox.errors import SalesforceError, not_found
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_salesforce_sandbox.soql import Aggregate, CountAll, parse
from okrsync_sandbox.store import FieldType

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from okrsync_salesforce_sandbox.engine import QueryEngine

__all__ = [
    "COLUMN_DELIMITERS",
    "DAILY_QUERY_JOBS",
    "DEFAULT_MAX_RECORDS",
    "LINE_ENDINGS",
    "RESULTS_LIFESPAN",
    "BulkJobs",
    "BulkOptions",
    "ResultSet",
]

DAILY_QUERY_JOBS = 10_000
"""Query jobs per rolling 24 hours (Bulk API 2.0 limits)."""
RESULTS_LIFESPAN = timedelta(days=7)
"""How long a job in a terminal state and its results are kept."""
DEFAULT_MAX_RECORDS = 50_000
"""Rows of a result set without ``maxRecords`` (Salesforce: "a default based on the service")."""
COLUMN_DELIMITERS = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_OPERATIONS = ("query", "queryAll")
_SUBQUERY = re.compile(r"\(\s*select\b", re.IGNORECASE)
_TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
_MIN_API = 47.0
_DAY = timedelta(hours=24)
_NUMERIC = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
_JAVA_PLAIN_MIN = 1e-3
_JAVA_PLAIN_MAX = 1e7


def _api_error(message: str, status: int = 400, code: str = "API_ERROR") -> SalesforceError:
    return SalesforceError(status, code, message)


def _parser_error(value: Any, enum: str) -> SalesforceError:
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {enum} from VALUE_STRING value {value} or request "
        "may be missing a required field",
    )


def _not_complete(state: str) -> SalesforceError:
    # 412 Precondition Failed, as "Get Results for a Query Job" shows it
    # (https://developer.salesforce.com/docs/atlas.ja-jp.222.0.api_bulk_v2.meta/api_bulk_v2/query_get_job_results.htm).
    shown = re.sub(r"(?<!^)(?=[A-Z])", "_", state).upper()
    return SalesforceError(
        412,
        "JOB_NOT_COMPLETE",
        "can only download query results of successfully completed bulk job with status: "
        f"JOB_COMPLETE. Current status: {shown}",
    )


def java_double(value: float) -> str:
    """``value`` as Java's ``Double.toString`` writes it (how Bulk CSV shows numbers).

    Plain decimals with at least one fractional digit from 10⁻³ up to 10⁷
    (``12500.0``), computerized scientific notation outside (``1.25E7``).
    """
    if value == 0 or not math.isfinite(value):
        return repr(value) if value else "0.0"
    if _JAVA_PLAIN_MIN <= abs(value) < _JAVA_PLAIN_MAX:
        return repr(float(value))
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)  # noqa: S101  (finite above)
    shown = "".join(str(d) for d in digits)
    mantissa = f"{shown[0]}.{shown[1:] or '0'}"
    return f"{'-' if sign else ''}{mantissa}E{len(digits) - 1 + exponent}"


def _csv_value(kind: FieldType, value: Any) -> str | None:
    """A stored value as Bulk 2.0 writes it in CSV (``None``: null, an empty field)."""
    if value is None:
        return None
    if kind is FieldType.BOOLEAN:
        return "true" if value else "false"
    if kind is FieldType.DATETIME and isinstance(value, datetime):
        stamp = value.astimezone(UTC) if value.tzinfo else value
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    if kind is FieldType.DATE and isinstance(value, date):
        return value.isoformat()
    if kind is FieldType.INT:
        return str(int(value))
    if kind in _NUMERIC:
        return java_double(float(value))
    text = str(value)
    return text or None


def _request(body: Any) -> tuple[str, str, str, str]:
    """Operation, column delimiter, line ending and query of a create request."""
    if not isinstance(body, dict):
        raise SalesforceError(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of QueryJobRequest from START_ARRAY value [",
        )
    operation = body.get("operation")
    if operation not in _OPERATIONS:
        raise _parser_error(operation, "OperationEnum")
    content = body.get("contentType", "CSV")
    if content != "CSV":
        raise _parser_error(content, "ContentTypeEnum")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in COLUMN_DELIMITERS:
        raise _parser_error(delimiter, "ColumnDelimiterEnum")
    ending = body.get("lineEnding", "LF")
    if ending not in LINE_ENDINGS:
        raise _parser_error(ending, "LineEndingEnum")
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise _api_error("query: a SOQL query is required")
    return str(operation), str(delimiter), str(ending), text


@dataclass(frozen=True, slots=True)
class BulkOptions:
    """How the emulated Bulk API 2.0 behaves (``SandboxOptions.extra`` names in brackets)."""

    base_seconds: float = 2.0
    """Least processing time of a job [``bulk_job_seconds``]."""
    rows_per_second: float = 200_000.0
    """Rows a job processes per second on top [``bulk_rows_per_second``]."""
    daily_jobs: int = DAILY_QUERY_JOBS
    """Query jobs allowed per rolling 24 hours [``bulk_daily_jobs``]."""
    fail_rate: float = 0.0
    """Share of jobs that end ``Failed`` [``bulk_fail_rate``], drawn per job from ``seed``."""
    unsupported: frozenset[str] = frozenset()
    """Objects the Bulk API does not serve in this org [``bulk_unsupported_objects``]."""
    seed: int = 0

    @classmethod
    def from_extra(cls, extra: dict[str, Any], seed: int = 0) -> BulkOptions:
        """Options from ``SandboxOptions.extra``."""
        unsupported = extra.get("bulk_unsupported_objects") or ()
        if isinstance(unsupported, str):
            unsupported = [u for u in unsupported.split(",") if u]
        return cls(
            base_seconds=float(extra.get("bulk_job_seconds", 2.0)),
            rows_per_second=float(extra.get("bulk_rows_per_second", 200_000.0)),
            daily_jobs=int(extra.get("bulk_daily_jobs", DAILY_QUERY_JOBS)),
            fail_rate=float(extra.get("bulk_fail_rate", 0.0)),
            unsupported=frozenset(str(u).lower() for u in unsupported),
            seed=seed,
        )


@dataclass(slots=True)
class _Job:
    id: str
    operation: str
    object: str
    plan: RecordPlan
    created: datetime
    created_by: str
    version: str
    delimiter: str
    line_ending: str
    started: datetime
    ready: datetime
    fails: str | None
    """The error message the job fails with when it is ready, if it fails."""
    state: str | None = None
    """A terminal state once reached (``None``: computed from the clock)."""
    finished: datetime | None = None
    total: int = 0
    resume: dict[int, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ResultSet:
    """One set of results: the CSV lines, how many records, the next locator."""

    lines: Iterator[str]
    count: int
    locator: str


class BulkJobs:
    """The org's Bulk API 2.0 query jobs.

    Args:
        engine: Compiles the SOQL and reads the rows.
        clock: The sandbox's "now".
        options: Timing, limits, faults.
    """

    def __init__(
        self, engine: QueryEngine, clock: Callable[[], datetime], options: BulkOptions
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.options = options
        self._jobs: dict[str, _Job] = {}
        self._created: deque[datetime] = deque()
        self._serial = itertools.count(1)
        self._fail_next: list[str] = []
        self._cut_next: list[int] = []
        self._lock = threading.Lock()

    # -- admin (drills and tests) -------------------------------------------------------

    def fail_next(self, count: int = 1, message: str = "Retried more than 15 times") -> None:
        """Make the next ``count`` jobs end ``Failed`` with ``message``."""
        with self._lock:
            self._fail_next.extend([message] * count)

    def cut_next(self, count: int = 1, after_rows: int = 1) -> None:
        """Break off the next ``count`` result sets after ``after_rows`` rows (a dropped stream)."""
        with self._lock:
            self._cut_next.extend([after_rows] * count)

    def jobs_today(self) -> int:
        """Query jobs created in the last 24 hours."""
        with self._lock:
            self._forget(self.clock())
            return len(self._created)

    # -- the API ------------------------------------------------------------------------

    def create(self, body: Any, version: str, user_id: str) -> dict[str, Any]:
        """``POST /jobs/query``: a new job (``SalesforceError`` for a refused one)."""
        if float(version) < _MIN_API:
            raise not_found()
        operation, delimiter, ending, text = _request(body)
        plan = self._plan(text, all_rows=operation == "queryAll")
        now = self.clock()
        with self._lock:
            self._forget(now)
            if len(self._created) >= self.options.daily_jobs:
                raise _api_error(
                    f"Max bulk v2 query jobs ({self.options.daily_jobs}) per 24 hrs has been "
                    f"reached ({len(self._created) + 1})",
                    code="LIMIT_EXCEEDED",
                )
            self._created.append(now)
            serial = next(self._serial)
            fails = self._fail_next.pop(0) if self._fail_next else None
        if fails is None and self.options.fail_rate:
            draw = random.Random(f"{self.options.seed}:bulk:{serial}")  # noqa: S311  (drills, not crypto)
            if draw.random() < self.options.fail_rate:
                fails = "InternalServerError: the query job failed while processing"
        matched = window(
            self.engine.store.count(
                plan.sobject.name, plan.where, include_deleted=plan.include_deleted
            ),
            plan.offset,
            plan.limit,
        )
        seconds = self.options.base_seconds + matched / max(self.options.rows_per_second, 1.0)
        job = _Job(
            id=make_id("750", serial),
            operation=str(operation),
            object=plan.sobject.name,
            plan=plan,
            created=now,
            created_by=user_id,
            version=version,
            delimiter=str(delimiter),
            line_ending=str(ending),
            started=now + timedelta(seconds=seconds / 4),
            ready=now + timedelta(seconds=seconds),
            fails=fails,
        )
        with self._lock:
            self._jobs[job.id] = job
        return self._info(job, now, created=True)

    def info(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/query/{id}``."""
        job, now = self._job(job_id)
        return self._info(job, now)

    def all(self) -> dict[str, Any]:
        """``GET /jobs/query``: the org's query jobs (at most 1 000 a page; here all in one)."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            jobs = list(self._jobs.values())
        return {
            "done": True,
            "records": [self._info(j, now, created=True) for j in jobs][:1000],
            "nextRecordsUrl": None,
        }

    def object_of(self, job_id: str) -> str | None:
        """The object a job queries (for accounting), if the job exists."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job.object if job is not None else None

    def abort(self, job_id: str, body: Any) -> dict[str, Any]:
        """``PATCH /jobs/query/{id}`` ``{"state": "Aborted"}``."""
        job, now = self._job(job_id)
        state = body.get("state") if isinstance(body, dict) else None
        if state != "Aborted":
            raise _parser_error(state, "JobStateEnum")
        if self._state(job, now) in _TERMINAL:
            raise _api_error(f"Job {job.id} is already in a terminal state: {job.state}")
        job.state = "Aborted"
        job.finished = now
        return self._info(job, now)

    def delete(self, job_id: str) -> None:
        """``DELETE /jobs/query/{id}``: only a job in a terminal state."""
        job, now = self._job(job_id)
        if self._state(job, now) not in _TERMINAL:
            # The documented answer ("Delete a Query Job").
            raise _api_error(
                "Error encountered when deleting the job because the job is not terminated"
            )
        with self._lock:
            self._jobs.pop(job.id, None)

    def results(
        self, job_id: str, version: str, locator: str | None, max_records: str | None
    ) -> ResultSet:
        """``GET /jobs/query/{id}/results``: one set of results as CSV lines."""
        job, now = self._job(job_id)
        if version != job.version:
            # "Use the same API version to get query results that you used to create the
            # query. Otherwise, the call returns a 409 error."
            raise _api_error(
                f"The job was created with API version {job.version}; get its results with "
                "the same version",
                409,
            )
        state = self._state(job, now)
        if state != "JobComplete":
            raise _not_complete(state)
        size = DEFAULT_MAX_RECORDS
        if max_records not in {None, ""}:
            try:
                size = int(str(max_records))
            except ValueError:
                size = 0
            if size <= 0:
                raise _api_error(f"maxRecords: expected a positive integer, got {max_records}")
        position = 0
        if locator not in {None, ""}:
            position = _position(str(locator))
            if position not in job.resume or position > job.total:
                raise _api_error(f"Invalid locator: {locator}", code="INVALID_LOCATOR")
        size = min(size, job.total - position)
        plan = job.plan
        rows = self.engine.fetch(plan, position, job.resume.get(position), size) if size else []
        end = position + len(rows)
        if rows and end < job.total:
            job.resume.setdefault(end, self.engine.resume_key(plan, rows[-1], end))
        next_locator = _locator(end) if end < job.total else "null"
        with self._lock:
            cut = self._cut_next.pop(0) if self._cut_next and rows else None
        return ResultSet(self._lines(job, rows, cut), len(rows), next_locator)

    def daily_remaining(self) -> int:
        """``DailyBulkV2QueryJobs`` remaining."""
        return max(0, self.options.daily_jobs - self.jobs_today())

    # -- internals ----------------------------------------------------------------------

    def _plan(self, text: str, *, all_rows: bool) -> RecordPlan:
        if _SUBQUERY.search(text):
            raise _api_error("Aggregate Relationships not supported in Bulk Query")
        query = parse(text)
        if query.group_by:
            raise _api_error("GROUP BY is not supported by Bulk API 2.0 query jobs")
        if query.offset is not None:
            raise _api_error("OFFSET is not supported by Bulk API 2.0 query jobs")
        if any(isinstance(item, Aggregate | CountAll) for item in query.select):
            raise _api_error(
                "Aggregate functions such as COUNT() are not supported by Bulk API 2.0 query jobs"
            )
        if query.sobject.lower() in self.options.unsupported:
            obj = self.engine.schema.get(query.sobject)
            name = obj.name if obj is not None else query.sobject
            raise _api_error(f"{name} is not supported by the Bulk API", code="INVALIDENTITY")
        plan = self.engine.compile(query, all_rows=all_rows)
        if not isinstance(plan, RecordPlan):  # pragma: no cover - refused above
            raise _api_error("Aggregate queries are not supported by Bulk API 2.0 query jobs")
        return plan

    def _job(self, job_id: str) -> tuple[_Job, datetime]:
        now = self.clock()
        with self._lock:
            self._expire(now)
            job = self._jobs.get(job_id)
        if job is None:
            raise not_found()
        return job, now

    def _forget(self, now: datetime) -> None:
        while self._created and self._created[0] <= now - _DAY:
            self._created.popleft()

    def _expire(self, now: datetime) -> None:
        """Forget jobs that reached a terminal state more than 7 days ago."""
        cutoff = now - RESULTS_LIFESPAN
        for job in list(self._jobs.values()):
            if job.finished is None and job.ready <= cutoff:
                self._state(job, now)  # settles when it finished
        for key in [k for k, j in self._jobs.items() if j.finished and j.finished <= cutoff]:
            del self._jobs[key]

    def _state(self, job: _Job, now: datetime) -> str:
        if job.state is not None:
            return job.state
        if now < job.started:
            return "UploadComplete"
        if now < job.ready:
            return "InProgress"
        job.finished = job.ready
        if job.fails is not None:
            job.state = "Failed"
            job.error = job.fails
            return job.state
        plan = job.plan
        job.total = window(
            self.engine.store.count(
                plan.sobject.name, plan.where, include_deleted=plan.include_deleted
            ),
            plan.offset,
            plan.limit,
        )
        job.resume[0] = None
        job.state = "JobComplete"
        return job.state

    def _info(self, job: _Job, now: datetime, *, created: bool = False) -> dict[str, Any]:
        state = "UploadComplete" if created and job.state is None else self._state(job, now)
        stamp = job.finished if job.finished is not None and state in _TERMINAL else job.created
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": job.created_by,
            "createdDate": _stamp(job.created),
            "systemModstamp": _stamp(stamp),
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.version),
            "lineEnding": job.line_ending,
            "columnDelimiter": job.delimiter,
        }
        if created:
            return info
        info["jobType"] = "V2Query"
        info["numberRecordsProcessed"] = job.total if state == "JobComplete" else 0
        info["retries"] = 0
        elapsed = (min(now, job.ready) - job.started).total_seconds()
        info["totalProcessingTime"] = (
            max(0, int(elapsed * 1000)) if state != "UploadComplete" else 0
        )
        info["isPkChunkingSupported"] = job.plan.sobject.custom or job.object in {
            "Account",
            "Campaign",
            "CampaignMember",
            "Case",
            "Contact",
            "Lead",
            "LoginHistory",
            "Opportunity",
            "Task",
            "User",
        }
        if state == "Failed" and job.error:
            info["errorMessage"] = job.error
        return info

    def _lines(
        self, job: _Job, rows: list[dict[str, Any]], cut: int | None = None
    ) -> Iterator[str]:
        columns = job.plan.columns
        sep = COLUMN_DELIMITERS[job.delimiter]
        end = LINE_ENDINGS[job.line_ending]
        yield sep.join(_quote(path) for path, _ in columns) + end
        for n, row in enumerate(rows):
            if cut is not None and n >= cut:
                # The server drops the connection mid-body: the client's chunked read breaks.
                raise ConnectionAbortedError("result set broken off (sandbox fault)")
            cells = (_csv_value(kind, row.get(path)) for path, kind in columns)
            yield sep.join("" if c is None else _quote(c) for c in cells) + end


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _stamp(moment: datetime) -> str:
    stamp = moment.astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def _locator(position: int) -> str:
    """An opaque locator like Salesforce's (``MTAwMDA`` is the set after 10 000 rows)."""
    return base64.b64encode(str(position).encode()).decode().rstrip("=")


def _position(locator: str) -> int:
    padded = locator + "=" * (-len(locator) % 4)
    try:
        text = base64.b64decode(padded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return -1
    return int(text) if text.isdigit() else -1
