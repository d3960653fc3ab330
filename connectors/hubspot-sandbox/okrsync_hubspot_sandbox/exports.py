"""The CRM exports API: start an export of a view, follow its task, download the file.

As HubSpot documents it ("CRM API | Exports", developers.hubspot.com/docs/api/crm/exports,
and the ``crm.exports`` models of hubspot-api-client):

- ``POST /crm/v3/exports/export/async`` with ``exportType: VIEW``, ``format``
  (``CSV``, ``XLSX``, ``XLS``), ``exportName``, ``objectType``,
  ``objectProperties``, ``language``, ``exportInternalValuesOptions``
  (``NAMES``: internal property names as headers, ``VALUES``: internal values)
  and an optional ``publicCrmSearchRequest`` (``filters``, all of which must
  hold) answers ``202`` with the task ``{"id", "links": {"status": …}}``. It
  needs the ``crm.export`` scope.
- ``GET /crm/v3/exports/export/async/tasks/{taskId}/status`` answers the task:
  ``PENDING`` (queued: a portal runs one export at a time), ``PROCESSING``,
  ``COMPLETE`` with ``result``, the URL of the file, or ``CANCELED``.
- The ``result`` URL needs no token and is valid for five minutes; each status
  call of a complete task signs a new one. An expired link answers ``403`` as
  a pre-signed object-store link does (an XML ``AccessDenied``, "Request has
  expired").
- At most 30 exports per portal in a rolling 24 hours; the next is refused
  with ``429``.

What the file holds is this emulator's reading of HubSpot's export format,
not a copy of a real file (no real portal was available when it was built):
a ZIP archive of CSV files of at most 1 000 000 rows each, a header row, then
one row per record; with ``NAMES`` the headers are the internal names, the
record's id first (``hs_object_id``); with ``VALUES`` the values are the
internal ones (option values, ``true``/``false``) and dates and date-times
are epoch milliseconds ("timestamps instead of human-readable dates"). The
connector's reader accepts ISO dates as well, so a real file that writes them
is read the same. Archived records are not exported.
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import HubSpotError, validation_error
from okrsync_hubspot_sandbox.search import compile_filters
from okrsync_hubspot_sandbox.values import iso_millis, to_wire

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_hubspot_sandbox.records import Records
    from okrsync_hubspot_sandbox.schema import ObjectType, PropertyDef

__all__ = ["FILE_PATH", "ExportOptions", "Exports"]

FILE_PATH = "/exports-files"
"""Where the signed download links of this sandbox point (no token needed)."""
DAILY_EXPORTS = 30
ROWS_PER_FILE = 1_000_000
_FORMATS = ("CSV", "XLSX", "XLS")
_LANGUAGES = ("EN", "DE", "ES", "FR", "JA", "NL", "PT_BR", "IT", "PL", "SV", "FI", "ZH_TW")
_DAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """How the emulated exports behave (``SandboxOptions.extra`` names in brackets)."""

    base_seconds: float = 2.0
    """Least processing time of an export [``export_seconds``]."""
    rows_per_second: float = 200_000.0
    """Rows exported per second on top [``export_rows_per_second``]."""
    daily_exports: int = DAILY_EXPORTS
    """Exports allowed per rolling 24 hours [``export_daily_limit``]."""
    link_seconds: float = 300.0
    """How long a download link is valid [``export_link_seconds``]."""

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> ExportOptions:
        """Options from ``SandboxOptions.extra``."""
        default = cls()
        return cls(
            base_seconds=float(extra.get("export_seconds", default.base_seconds)),
            rows_per_second=float(extra.get("export_rows_per_second", default.rows_per_second)),
            daily_exports=int(extra.get("export_daily_limit", default.daily_exports)),
            link_seconds=float(extra.get("export_link_seconds", default.link_seconds)),
        )


@dataclass
class _Task:
    id: int
    kind: ObjectType
    name: str
    props: list[PropertyDef]
    where: Any
    values: bool
    requested: datetime
    started: datetime
    done: datetime
    canceled: bool = False
    file: bytes | None = None


@dataclass
class _Link:
    task: int
    expires: datetime


@dataclass
class Exports:
    """The portal's export tasks, their files and their signed links."""

    records: Records
    clock: Callable[[], datetime]
    options: ExportOptions = field(default_factory=ExportOptions)
    _tasks: dict[int, _Task] = field(default_factory=dict)
    _links: dict[str, _Link] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 80_000_000
    _expire_next: int = 0
    _cancel_next: int = 0

    # -- starting ---------------------------------------------------------------------

    def start(self, kind: ObjectType, body: dict[str, Any]) -> int:
        """Queue an export of ``kind`` as ``body`` asks; its task id.

        Raises:
            HubSpotError: 400 for a request HubSpot refuses, 429 past the daily limit.
        """
        props, where, values, name = self._parse(kind, body)
        rows = self.records.store.count(kind.table, where)
        now = self.clock()
        with self._lock:
            recent = [t for t in self._tasks.values() if t.requested > now - _DAY]
            if len(recent) >= self.options.daily_exports:
                raise HubSpotError(
                    429,
                    "RATE_LIMITS",
                    f"You have reached the limit of {self.options.daily_exports} exports in a "
                    "rolling 24-hour period. Try again later.",
                )
            busy = max((t.done for t in self._tasks.values() if not t.canceled), default=now)
            started = max(now, busy)  # one export at a time: the others wait their turn
            seconds = self.options.base_seconds + rows / self.options.rows_per_second
            self._next += 1
            task = _Task(
                self._next,
                kind,
                name,
                props,
                where,
                values,
                now,
                started,
                started + timedelta(seconds=seconds),
            )
            if self._cancel_next > 0:
                self._cancel_next -= 1
                task.canceled = True
            self._tasks[task.id] = task
        return task.id

    def _parse(
        self, kind: ObjectType, body: dict[str, Any]
    ) -> tuple[list[PropertyDef], Any, bool, str]:
        if body.get("exportType", "VIEW") != "VIEW":
            raise validation_error("exportType LIST needs a listId; this sandbox exports views.")
        if body.get("format") not in _FORMATS:
            raise validation_error(f"format must be one of {', '.join(_FORMATS)}.")
        if body.get("language", "EN") not in _LANGUAGES:
            raise validation_error(f"language must be one of {', '.join(_LANGUAGES)}.")
        name = body.get("exportName")
        if not isinstance(name, str) or not name.strip():
            raise validation_error("exportName is required.")
        options = body.get("exportInternalValuesOptions") or []
        if not isinstance(options, list) or not set(options) <= {"NAMES", "VALUES"}:
            raise validation_error("exportInternalValuesOptions must hold NAMES and/or VALUES.")
        names = body.get("objectProperties")
        if not isinstance(names, list) or not names:
            raise validation_error("objectProperties must list at least one property.")
        props = []
        for raw in names:
            prop = kind.property(str(raw))
            if prop is None:
                raise validation_error(f"Property {raw} does not exist on {kind.name}.")
            if prop.name != "hs_object_id" and prop not in props:
                props.append(prop)
        search = body.get("publicCrmSearchRequest") or {}
        filters = search.get("filters") if isinstance(search, dict) else None
        where = compile_filters(kind, [{"filters": filters}]) if filters else None
        return props, where, "VALUES" in options, name.strip()

    # -- the task ---------------------------------------------------------------------

    def status(self, task_id: str, base_url: str) -> dict[str, Any]:
        """The task as the status endpoint shows it (a fresh link when complete).

        Raises:
            HubSpotError: 404 for an unknown task.
        """
        task = self._task(task_id)
        now = self.clock()
        out: dict[str, Any] = {
            "status": "PENDING",
            "requestedAt": iso_millis(task.requested),
            "links": {},
        }
        if task.canceled:
            out["status"] = "CANCELED"
        elif now >= task.done:
            out |= {
                "status": "COMPLETE",
                "startedAt": iso_millis(task.started),
                "completedAt": iso_millis(task.done),
                "result": self._link(task, now, base_url),
            }
        elif now >= task.started:
            out |= {"status": "PROCESSING", "startedAt": iso_millis(task.started)}
        return out

    def cancel_next(self, count: int) -> None:
        """The next ``count`` exports started end ``CANCELED`` (a drill: an admin cancels them)."""
        with self._lock:
            self._cancel_next = count

    def expire_next(self, count: int) -> None:
        """The next ``count`` links handed out are expired before they can be used (a drill)."""
        with self._lock:
            self._expire_next = count

    def tasks(self) -> list[int]:
        """The ids of the tasks started so far, oldest first."""
        return sorted(self._tasks)

    def _task(self, task_id: str) -> _Task:
        try:
            return self._tasks[int(task_id)]
        except (KeyError, ValueError):
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", f"Export task {task_id} does not exist."
            ) from None

    def _link(self, task: _Task, now: datetime, base_url: str) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            valid = timedelta(seconds=self.options.link_seconds)
            if self._expire_next > 0:
                self._expire_next -= 1
                valid = timedelta(0)
            self._links[token] = _Link(task.id, now + valid)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        return f"{base_url.rstrip('/')}{FILE_PATH}/{token}?X-Amz-Date={stamp}&X-Amz-Expires=300"

    # -- the file ---------------------------------------------------------------------

    def download(self, token: str) -> tuple[int, bytes, str]:
        """``(status, body, content type)`` of a download link."""
        link = self._links.get(token)
        if link is None or self.clock() >= link.expires:
            reason = "Request has expired" if link is not None else "Access Denied"
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>{reason}</Message></Error>"
            )
            return 403, body.encode(), "application/xml"
        task = self._tasks[link.task]
        with self._lock:
            if task.file is None:
                task.file = self._file(task)
        return 200, task.file, "application/zip"

    def _file(self, task: _Task) -> bytes:
        """The export as HubSpot's file: a ZIP of CSV files of at most a million rows."""
        kind = task.kind
        fields = ["hs_object_id", *(p.name for p in task.props)]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            part, rows = 1, 0
            text, writer = _sheet(fields)
            rows_iter = self.records.store.select(kind.table, fields, task.where)
            for row in rows_iter:
                if rows == ROWS_PER_FILE:
                    archive.writestr(f"{task.name}-{part}.csv", text.getvalue())
                    part, rows = part + 1, 0
                    text, writer = _sheet(fields)
                writer.writerow(
                    [str(row["hs_object_id"])]
                    + [_cell(row.get(p.name), p, values=task.values) for p in task.props]
                )
                rows += 1
            suffix = f"-{part}" if part > 1 else ""
            archive.writestr(f"{task.name}{suffix}.csv", text.getvalue())
        return out.getvalue()


def _sheet(fields: list[str]) -> tuple[io.StringIO, Any]:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(fields)
    return text, writer


def _cell(value: Any, prop: PropertyDef, *, values: bool) -> str:
    """A stored value as the export writes it (dates as epoch milliseconds under VALUES)."""
    if value is None:
        return ""
    if values and isinstance(value, datetime):
        return str(int(value.astimezone(UTC).timestamp() * 1000))
    if values and isinstance(value, date):
        return str(int(datetime.combine(value, time(), UTC).timestamp() * 1000))
    return to_wire(value, prop.type) or ""
