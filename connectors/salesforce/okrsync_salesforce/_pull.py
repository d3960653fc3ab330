"""Pulls: the records of one object changed since a cursor, page by page, with deletions.

**First pull** (``cursor.stamp is None``): ``query`` with the row filter pushed
down, ``ORDER BY SystemModstamp, Id`` so progress follows the stamp. With a
filter, the cursor is taken from the org's own clock (the ``Date`` of its
answers, :class:`okrsync.kit.ServerClock`) when the pull began, less the
lookback: the rows the filter passed over changed before then, or the next
pull reads them. No query is spent on the object's newest stamp.

**Incremental pull**: the deletions since ``cursor.deleted_since`` first
(``GET sobjects/{type}/deleted/``, which lists hard and soft deletes of the
last 15 days; at most every ``deletion_check_seconds``, since soft deletes
show in the query anyway and a warm pull should cost one call; never for a
window of a minute or less, which Salesforce refuses), then
``queryAll`` over the toolkit's cursor window (:class:`okrsync.kit.CursorWindow`:
``SystemModstamp`` from ``lookback`` before the previous pull started, or just
after the newest stamp when the object was quiet) in stamp order, unfiltered
(a record may have stopped matching; the replica re-applies the filter). Rows
with ``IsDeleted = true`` are reported as deleted. The window overlaps the
previous pull, for changes committed late with an older stamp; the rows of
the overlap already reported are recognised by the window's seen-set and not
reported again, and so are deletions for as long as the deletion listing
(truncated to the minute) may repeat them.

**Recovery when deletions may have been missed.** Salesforce lists deletions
for 15 days at most, less when the delete log was purged
(``earliestDateAvailable``). When ``deleted_since`` is older than that (a
daemon stopped for weeks, a purge), records hard-deleted meanwhile can no
longer be named. The pull then re-pulls the object whole: its first page
says ``reset`` (the replica forgets the object's rows) and the rest is a
first pull (filter pushed down). A full re-pull was chosen over a
reconciliation by ids because it costs no more calls (the filtered pages,
where listing every id of the object would page through all of its rows),
needs nothing from the replica (the connector does not know which ids it
holds), and also repairs anything else the gap may have hidden. The log
says ``salesforce.pull.full_repull`` with the reason.

Pages are fetched lazily through ``nextRecordsUrl``; nothing holds more than
a page of records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import structlog

from okrsync.connector import Cursor, Page, now_stamp
from okrsync.errors import FatalConnectorError
from okrsync.kit import CursorWindow
from okrsync_salesforce._bulk import BulkOptions, BulkRead
from okrsync_salesforce._errors import CRM
from okrsync_salesforce._soql import format_datetime, parse_datetime, select
from okrsync_salesforce._values import dig, to_python

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from okrsync_salesforce._http import Transport
    from okrsync_salesforce._schema import Resolved

__all__ = ["REPLICATION_WINDOW", "PullSpec", "SalesforcePull"]

REPLICATION_WINDOW = timedelta(days=15)
"""How far back Salesforce lists deletions: "Results are returned for no more than 15 days
previous to the day the call is executed (or earlier if an administrator has purged the
Recycle Bin)" (REST API Developer Guide, sObject Get Deleted; the design notes' 30 days
are the older figure, and ``getUpdated()``'s)."""
_MIN_WINDOW = timedelta(minutes=1)
"""The listing's ``start`` must precede ``end`` by more than this (getDeleted() rules)."""
_MARGIN = timedelta(minutes=10)
"""Cursors this close to the 15 days are re-pulled rather than risked (clocks differ)."""

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class PullSpec:
    """What one pull reads: the object, its fields (requested name → resolved), the filter."""

    object_name: str
    fields: tuple[tuple[str, Resolved], ...]
    where: str | None
    stamp_field: str
    soft_deletes: bool
    """The object has ``IsDeleted`` (so ``queryAll`` shows soft deletes)."""
    hard_deletes: bool
    """The object is replicateable (so ``…/deleted/`` lists deletions)."""
    archives: bool = False
    """The object archives records (``IsArchived``: Task, Event), which ``query`` leaves
    out and ``queryAll`` returns: every pull of it uses ``queryAll``."""

    def select(self, *, with_deleted: bool) -> list[str]:
        """The SELECT list: Id, the stamp, IsDeleted when asked, then the fields."""
        names = ["Id", self.stamp_field]
        if with_deleted:
            names.append("IsDeleted")
        names.extend(resolved.path for _, resolved in self.fields)
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(name.lower(), name)
        return list(unique.values())


class SalesforcePull:
    """One pull of one object (the protocol's ``Pull``): iterate it once, then read the cursor.

    Args:
        transport: How calls reach Salesforce.
        spec: What to read.
        cursor: Where the previous pull stopped.
        lookback: The overlap of incremental windows.
        deletion_check: Least time between two listings of deletions.
        page_size: Rows per query page.
        clock: The connector's "now" (for the deletion listing).
        connector: The connector instance's name, for the logs.
    """

    def __init__(
        self,
        transport: Transport,
        spec: PullSpec,
        cursor: Cursor,
        *,
        lookback: timedelta,
        deletion_check: timedelta,
        page_size: int,
        clock: Callable[[], datetime],
        connector: str,
        bulk_threshold: int = 0,
        bulk_options: BulkOptions | None = None,
    ) -> None:
        self.transport = transport
        self.spec = spec
        self.old = cursor
        self.lookback = lookback
        self.deletion_check = deletion_check
        self.page_size = page_size
        self.clock = clock
        self.bulk_threshold = bulk_threshold
        self.bulk_options = bulk_options or BulkOptions(page_size=page_size)
        self.path: Literal["rest", "bulk"] = "rest"
        """How the pull read its rows (``bulk`` when a first pull went through a job)."""
        self.connector = connector
        self._final: Cursor | None = None
        self._skipped: list[tuple[str, str]] = []
        self._started = False
        self._local = clock()
        """When this pull began, on the connector's clock."""
        self._aligned = False
        """Whether the window's start is on the org's clock yet."""
        self.counts = {
            "records": 0,
            "deleted": 0,
            "skipped": 0,
            "duplicates": 0,
            "pages": 0,
            "bulk_calls": 0,
        }
        self.log = log.bind(connector=connector, crm=CRM, object=spec.object_name)
        self.window = CursorWindow(cursor, lookback=lookback, started=clock(), log=self.log)

    @property
    def cursor(self) -> Cursor:
        """The cursor to resume from (the old one until the last page was read)."""
        return self._final or self.old

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Records that could not be read: ``(id, reason)``."""
        return self._skipped

    def __iter__(self) -> Iterator[Page]:
        if self._started:
            raise RuntimeError("a pull is iterated once")
        self._started = True
        return self._run()

    # -- the run ----------------------------------------------------------------------

    def _run(self) -> Iterator[Page]:
        spec = self.spec
        server = self.transport.server_clock
        self._local = self.clock()
        self._aligned = server.offset is not None
        window = self.window = CursorWindow(
            self.old, lookback=self.lookback, started=server.at(self._local), log=self.log
        )
        first = window.first
        mode = "first" if first else "incremental"
        deleted_since: datetime | None = None
        if not first and spec.hard_deletes:
            listed = self._check_deletions(window.started)
            self._align()
            if listed is None:
                mode = "full"
            else:
                ids, deleted_since = listed
                if ids:
                    self.counts["deleted"] += len(ids)
                    yield Page([], ids)
        self.log.info("salesforce.pull.started", mode=mode, fields=len(spec.fields))
        if mode == "full":
            # Start over as a first pull: nothing of the old cursor may hide a record.
            window = self.window = CursorWindow(
                Cursor(), lookback=self.lookback, started=window.started, log=self.log
            )
            deleted_since = None
            yield Page(reset=True)
        if mode in {"first", "full"}:
            yield from self._first()
        else:
            lower, inclusive = window.start()
            if inclusive:  # whole seconds, as SOQL takes them: the overlap only grows
                where = f"{spec.stamp_field} >= {format_datetime(lower.replace(microsecond=0))}"
            else:
                where = f"{spec.stamp_field} > {format_datetime(lower)}"
            yield from self._query(where, all_rows=spec.soft_deletes)
        window = self.window
        self.counts["duplicates"] = window.repeats
        if deleted_since is None:
            deleted_since = window.started - self.lookback
        self._final = window.cursor(deleted_since=deleted_since)
        self.log.info(
            "salesforce.pull.completed", mode=mode, cursor=self._final.stamp, **self.counts
        )

    def _first(self) -> Iterator[Page]:
        """Every row the filter keeps (a first pull, or one starting over)."""
        spec = self.spec
        if spec.archives and spec.soft_deletes:
            # Archived activities count like the others (an `all_time` count must not
            # drop when a task turns a year old); queryAll returns them, with the
            # recycle bin left out here.
            live = "IsDeleted = false"
            where = live if spec.where is None else f"({spec.where}) AND {live}"
            yield from self._query(where, all_rows=True, first=True)
        else:
            yield from self._query(spec.where, all_rows=False, first=True)
        if spec.where is not None:
            # No newest-stamp probe: the rows the filter passed over changed before this
            # pull began (on the org's clock), less the lookback, or the next pull reads them.
            self.window.saw(self.window.horizon)

    def _align(self) -> None:
        """Once an answer of this pull came, put its start on the org's clock (``Date``)."""
        if not self._aligned and self.transport.server_clock.offset is not None:
            self.window.align(self.transport.server_clock.at(self._local))
            self._aligned = True

    def _check_deletions(self, started: datetime) -> tuple[list[str], datetime] | None:
        """Deletions not reported yet, and the new ``deleted_since``; ``None``: pull everything.

        Deletions are listed at most every ``deletion_check``, and only over a window
        longer than a minute; in between, the old ``deleted_since`` stays (soft deletes
        still arrive through ``queryAll``).
        """
        since = self._deleted_since()
        start = since.replace(second=0, microsecond=0)
        # `started` is on the org's clock up to the second its `Date` drops, so the listing
        # asks two seconds on; the org covers up to its own now (`latestDateCovered`).
        end = (started + timedelta(seconds=2)).replace(microsecond=0)
        # More than a minute apart even if Salesforce read both in whole minutes.
        too_short = end.replace(second=0) - start <= _MIN_WINDOW
        if started - since < self.deletion_check or too_short:
            return [], since
        if since < started - REPLICATION_WINDOW + _MARGIN:
            self._missed(since, "deletions are listed for 15 days only")
            return None
        return self._deletions(since, start, end)

    def _missed(self, since: datetime, reason: str) -> None:
        self.log.warning(
            "salesforce.pull.full_repull",
            reason=reason,
            deleted_since=now_stamp(since),
            hint="records hard-deleted meanwhile cannot be listed: the object is pulled again",
        )

    def _deleted_since(self) -> datetime:
        if self.old.deleted_since:
            return parse_datetime(self.old.deleted_since)
        assert self.old.stamp is not None  # noqa: S101  (an incremental pull has a stamp)
        return parse_datetime(self.old.stamp) - self.lookback

    # -- queries ----------------------------------------------------------------------

    def _query(self, where: str | None, *, all_rows: bool, first: bool = False) -> Iterator[Page]:
        """The pages of a query; a ``first`` one as big as the bulk threshold goes through a job."""
        spec = self.spec
        soql = select(
            spec.select(with_deleted=all_rows and not first),
            spec.object_name,
            where=where,
            order_by=f"{spec.stamp_field}, Id",
        )
        what = f"query {spec.object_name}"
        headers = {"Sforce-Query-Options": f"batchSize={self.page_size}"}
        answer = self.transport.query(
            what, soql, object_name=spec.object_name, all_rows=all_rows, headers=headers
        )
        self._align()
        total = int(answer.get("totalSize") or 0)
        if first and 0 < self.bulk_threshold <= total and not answer.get("done", True):
            yield from self._bulk(total, archived=all_rows)
            return
        while True:
            records = list(answer.get("records") or [])
            page = self._page(records)
            self.counts["pages"] += 1
            self.log.debug(
                "salesforce.pull.page",
                page=self.counts["pages"],
                rows=len(records),
                records=len(page.records),
                deleted=len(page.deleted),
            )
            yield page
            url = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not url:
                return
            answer = self.transport.query_more(
                f"{what} (next page)", str(url), object_name=spec.object_name, headers=headers
            )
            self._align()

    def _bulk(self, total: int, *, archived: bool) -> Iterator[Page]:
        """A first pull of ``total`` rows through a Bulk API 2.0 job (the REST page is dropped).

        One job instead of ⌈total / page⌉ query pages; the rows go through the
        cursor window as a REST pull's do. A job Bulk cannot serve falls back
        to REST inside the reader (:mod:`okrsync_salesforce._bulk`).
        """
        self.path = "bulk"
        self.log.info("salesforce.pull.bulk", rows=total, threshold=self.bulk_threshold)
        read = BulkRead(
            self.transport.bulk_endpoint(),
            self.spec,
            options=self.bulk_options,
            connector=self.connector,
            window=self.window,
            archived=archived,
        )
        try:
            for page in read:
                self.counts["pages"] += 1
                self.counts["records"] += len(page.records)
                yield page
        finally:
            self.counts["bulk_calls"] = read.calls
            self._skipped.extend(read.skipped)
            self.counts["skipped"] += len(read.skipped)
        if read.path == "rest":
            self.path = "rest"

    def _deletions(
        self, since: datetime, start: datetime, end: datetime
    ) -> tuple[list[str], datetime] | None:
        """New deleted ids from ``start`` to ``end`` and the moment covered.

        ``None`` when the listing cannot be complete: Salesforce refuses the start
        (``INVALID_REPLICATION_DATE``), or its ``earliestDateAvailable`` is later than
        ``since`` (the delete log was purged after it).
        """
        name = self.spec.object_name
        params = {"start": _wire(start), "end": _wire(end)}
        try:
            answer = self.transport.rest(
                f"list deletions of {name}",
                f"sobjects/{name}/deleted/",
                params=params,
                object_name=name,
            )
        except FatalConnectorError as exc:
            if exc.code == "INVALID_REPLICATION_DATE":
                self._missed(since, f"Salesforce refused the listing: {exc}")
                return None
            raise
        answer = answer or {}
        earliest = answer.get("earliestDateAvailable")
        try:
            purged = earliest is not None and parse_datetime(str(earliest)) > since
        except ValueError:
            purged = False
        if purged:
            self._missed(since, f"deletions are listed from {earliest} only")
            return None
        ids: list[str] = []
        for item in answer.get("deletedRecords") or []:
            record_id = str(item.get("id") or "")
            try:
                when = parse_datetime(str(item.get("deletedDate")))
            except ValueError:
                when = end
            if record_id and self.window.deletion_is_new(record_id, when):
                ids.append(record_id)
        try:
            covered = parse_datetime(str(answer.get("latestDateCovered")))
        except ValueError:
            covered = end
        return ids, max(min(covered, end), start)

    # -- rows -------------------------------------------------------------------------

    def _page(self, rows: list[dict[str, Any]]) -> Page:
        spec = self.spec
        records: list[dict[str, Any]] = []
        deleted: list[str] = []
        for raw in rows:
            record_id = str(raw.get("Id") or "")
            try:
                stamp = parse_datetime(str(raw.get(spec.stamp_field)))
            except ValueError:
                self._skip(
                    record_id, f"{spec.stamp_field}: unreadable {raw.get(spec.stamp_field)!r}"
                )
                continue
            gone = raw.get("IsDeleted") is True
            if not self.window.fresh(record_id, stamp, live=not gone):
                continue
            if gone:
                if self.window.deletion_is_new(record_id, stamp):
                    deleted.append(record_id)
                continue
            try:
                records.append(self._convert(record_id, raw))
            except ValueError as exc:
                self._skip(record_id, str(exc))
        self.counts["records"] += len(records)
        self.counts["deleted"] += len(deleted)
        return Page(records, deleted)

    def _convert(self, record_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Id": record_id}
        for name, resolved in self.spec.fields:
            value = dig(raw, resolved.parts)
            try:
                out[name] = to_python(resolved.type, value)
            except (TypeError, ValueError) as exc:
                shown = repr(value)[:80]
                raise ValueError(f"{resolved.path}: {exc} (value {shown})") from None
        return out

    def _skip(self, record_id: str, reason: str) -> None:
        self._skipped.append((record_id, reason))
        self.counts["skipped"] += 1
        self.log.warning("salesforce.pull.skipped", record=record_id, reason=reason)


def _wire(moment: datetime) -> str:
    """A datetime for the deletion listing's query string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
