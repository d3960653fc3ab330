"""Big first pulls through HubSpot's CRM exports API instead of search pages.

One export is a handful of calls whatever the object's size: start it
(``POST /crm/v3/exports/export/async``, hubspot-api-client's ``crm.exports``),
poll its task until ``COMPLETE`` (back-off from 1 s, doubling to 30 s), then
download the file its ``result`` links to. Search needs a call per 200
records, paced at a few a second: 50 calls and ten seconds for 10 000 records.

- **The file** is a ZIP of CSV files (or one CSV), with internal names and
  values (``exportInternalValuesOptions: [NAMES, VALUES]``); the record's id is
  ``hs_object_id`` (or ``Record ID``); dates and date-times come as epoch
  milliseconds or ISO text (both are read). It is streamed to a temporary
  file (kept in memory up to 16 MB), never held whole.
- **The link** opens the data without a token for five minutes: it is never
  logged (it joins the transport's redactor), and the download does not send
  the token. An expired link (``403``) is asked for again from the task's
  status, once; the rows already read come again and the cursor window
  recognises them.
- **Budget and refusals**: HubSpot allows 30 exports a portal in a rolling
  24 hours, shared with its users; okrsync starts at most ``exports_per_day``
  (counted in the schema cache, across processes). A refused or canceled
  export, a missing ``crm.export`` scope, a task that does not finish within
  ``timeout`` seconds, or a file that cannot be read raises
  :class:`ExportUnavailable`: the pull goes on through search, where it was.
- **Archived records** are not in an export; a first pull does not need them
  (deletions are for incremental pulls).
"""

from __future__ import annotations

import csv
import io
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

import urllib3
from hubspot.crm.exports import (  # type: ignore[import-untyped]
    Filter,
    PublicCrmSearchRequest,
    PublicExportViewRequest,
)

from okrsync.errors import ConnectorError, QuotaReserveReached

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from okrsync.connector import SchemaCache
    from okrsync_hubspot._http import Transport

__all__ = ["BUDGET_KEY", "ExportBudget", "ExportRead", "ExportUnavailable"]

_EXPORTS = "crm.exports.public_exports_api"
BUDGET_KEY = "exports/started"
"""Schema cache entry: when okrsync started exports (ISO), the last 24 hours' worth."""
REFUSED_KEY = "exports/refused"
"""Schema cache entry: why the portal refused an export (then search is used for a day)."""
_ID_COLUMNS = ("hs_object_id", "record id")
_IN_MEMORY = 16 * 2**20
_EXPIRED = 403
_OK = 200


class ExportUnavailable(Exception):  # noqa: N818  (a reason to read through search instead)
    """This export cannot serve the pull; the message says why (search takes over)."""


@dataclass
class ExportBudget:
    """Exports okrsync may still start today, kept in the schema cache across processes.

    One per connector: pulls running at once take from it under its lock.
    """

    cache: SchemaCache
    per_day: int
    clock: Callable[[], datetime]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _started(self) -> list[datetime]:
        stored = self.cache.get(BUDGET_KEY)
        since = self.clock() - timedelta(hours=24)
        found: list[datetime] = []
        for text in stored if isinstance(stored, list) else []:
            try:
                moment = datetime.fromisoformat(str(text))
            except ValueError:
                continue
            if moment > since:
                found.append(moment)
        return found

    def refused(self) -> str | None:
        """Why the portal refused exports in the last day (``None``: it did not)."""
        value = self.cache.get(REFUSED_KEY)
        return str(value) if value else None

    def allows(self) -> bool:
        """Whether one more export may start (budget left, and exports not refused)."""
        return self.per_day > 0 and not self.refused() and len(self._started()) < self.per_day

    def spend(self) -> None:
        """Count one export started now."""
        started = [*self._started(), self.clock()]
        self.cache.put(BUDGET_KEY, [m.astimezone(UTC).isoformat() for m in started])

    def take(self) -> bool:
        """Count one export started now if the budget :meth:`allows` it; whether it did."""
        with self._lock:
            if not self.allows():
                return False
            self.spend()
            return True

    def refuse(self, reason: str) -> None:
        """Remember for a day that the portal refuses exports (a missing scope, say)."""
        self.cache.put(REFUSED_KEY, reason)


@dataclass
class ExportRead:
    """One export of one object, read as search-like results (``{"id", "properties"}``).

    Iterate it once; :class:`ExportUnavailable` when the export cannot serve.
    """

    transport: Transport
    object_name: str
    object_type: str
    properties: Sequence[str]
    filters: list[dict[str, Any]] | None
    """One group of search filters pushed into the export (``None``: every record)."""
    budget: ExportBudget
    """Taken from before the read starts (a refused start counts: HubSpot may have counted it)."""
    timeout: float = 1800.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    counts: dict[str, int] = field(
        default_factory=lambda: {"polls": 0, "downloads": 0, "rows": 0, "expired_links": 0}
    )
    task: str | None = None

    def _log(self) -> Any:
        return self.transport.log.bind(object=self.object_name)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._rows()

    def _rows(self) -> Iterator[dict[str, Any]]:
        self.task = self._start()
        link = self._wait()
        for attempt in (1, 2):
            spool = self._download(link)
            if spool is None:  # the link expired before it was used: a fresh one, once
                self.counts["expired_links"] += 1
                if attempt == 2:  # noqa: PLR2004
                    raise ExportUnavailable("the export's download links keep expiring")
                link = self._wait()
                continue
            with spool:
                yield from self._parse(spool)
            return

    # -- the task -------------------------------------------------------------------

    def _call(self, action: str, method: str, *args: Any, once: bool = False) -> Any:
        try:
            reply = self.transport.call(
                action, _EXPORTS, method, *args, object_name=self.object_name, once=once
            )
        except QuotaReserveReached:
            raise
        except ConnectorError as exc:
            if exc.code in {"MISSING_SCOPES", "FORBIDDEN"}:
                self.budget.refuse(str(exc))
            raise ExportUnavailable(str(exc)) from None
        return reply.body if isinstance(reply.body, dict) else {}

    def _start(self) -> str:
        search = None
        if self.filters:
            search = PublicCrmSearchRequest(filters=[Filter(**_snake(f)) for f in self.filters])
        request = PublicExportViewRequest(
            export_type="VIEW",
            format="CSV",
            export_name=f"okrsync {self.object_name} {datetime.now(UTC):%Y-%m-%d %H%M%S}",
            object_type=self.object_type,
            object_properties=list(self.properties),
            language="EN",
            export_internal_values_options=["NAMES", "VALUES"],
            public_crm_search_request=search,
        )
        # not retried: a refusal (the portal's daily exports spent) is no passing glitch
        body = self._call(f"start an export of {self.object_name}", "start", request, once=True)
        task = str(body.get("id") or "")
        if not task:
            raise ExportUnavailable("the export started without a task id")
        self._log().info("hubspot.export.started", task=task, properties=len(self.properties))
        return task

    def _wait(self) -> str:
        """Poll the task until it is complete; its (fresh) download link."""
        began = self.monotonic()
        delay = 1.0
        while True:
            self.counts["polls"] += 1
            body = self._call(
                f"read the export task of {self.object_name}", "get_status", int(self.task or 0)
            )
            status = str(body.get("status") or "")
            if status == "COMPLETE":
                link = str(body.get("result") or "")
                if not link:
                    raise ExportUnavailable("the export completed without a file link")
                self.transport.redactor.add(link)
                return link
            if status == "CANCELED":
                raise ExportUnavailable(f"export task {self.task} was canceled")
            if self.monotonic() - began >= self.timeout:
                waited = f"{self.timeout:g} s"
                raise ExportUnavailable(f"export task {self.task} not done after {waited}")
            self.sleep(delay)
            delay = min(30.0, delay * 2)

    def _download(self, link: str) -> IO[bytes] | None:
        """The file behind ``link`` in a temporary file; ``None`` when the link expired."""
        self.counts["downloads"] += 1
        self.transport.meter.called()
        pool = urllib3.PoolManager(retries=False)
        try:
            response = pool.request(
                "GET", link, preload_content=False, timeout=self.transport.timeout
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ExportUnavailable(f"the export's download failed: {type(exc).__name__}") from None
        spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115  (returned open)
        try:
            if response.status == _EXPIRED:
                self._log().info("hubspot.export.link_expired", task=self.task)
                spool.close()
                return None
            if response.status != _OK:
                raise ExportUnavailable(f"the export's download answered {response.status}")
            for chunk in response.stream(2**16):
                spool.write(chunk)
        except urllib3.exceptions.HTTPError as exc:
            spool.close()
            broke = type(exc).__name__
            raise ExportUnavailable(f"the export's download broke off: {broke}") from None
        finally:
            response.release_conn()
            pool.clear()
        spool.seek(0)
        return spool

    # -- the file -------------------------------------------------------------------

    def _parse(self, spool: IO[bytes]) -> Iterator[dict[str, Any]]:
        head = spool.read(4)
        spool.seek(0)
        if head.startswith(b"PK"):
            try:
                archive = zipfile.ZipFile(spool)
            except zipfile.BadZipFile as exc:
                raise ExportUnavailable(f"the export file is not a readable ZIP: {exc}") from None
            with archive:
                for name in sorted(n for n in archive.namelist() if n.lower().endswith(".csv")):
                    with archive.open(name) as member:
                        yield from self._csv(member)
        else:
            yield from self._csv(spool)

    def _csv(self, raw: IO[bytes]) -> Iterator[dict[str, Any]]:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = csv.reader(text)
        header = next(rows, None)
        if not header:
            return
        names = [h.strip() for h in header]
        ident = next((i for i, n in enumerate(names) if n.lower() in _ID_COLUMNS), None)
        if ident is None:
            raise ExportUnavailable("the export file has no record id column")
        for row in rows:
            if not row:
                continue
            self.counts["rows"] += 1
            properties = {n: (row[i] if i < len(row) else "") for i, n in enumerate(names)}
            yield {"id": row[ident], "properties": properties}


def _snake(search_filter: dict[str, Any]) -> dict[str, Any]:
    """A search filter (``propertyName``…) as the exports client's ``Filter`` arguments."""
    names = {
        "propertyName": "property_name",
        "operator": "operator",
        "value": "value",
        "values": "values",
        "highValue": "high_value",
    }
    return {names[k]: v for k, v in search_filter.items() if k in names}
