"""Pulling one object: a cold (first) pull, an incremental pull, and the deletions.

Cold pull: no query is spent on the newest modification stamp. Unfiltered,
the cursor is the newest stamp read; filtered, it is the portal's clock (its
answers' ``Date``, :class:`okrsync.kit.ServerClock`) when the pull began, less
the lookback, so every change made during or after the pull, and every
record the filter passed over that changes later, is picked up next time.
The records come from search, sorted by ``hs_object_id`` and keyset-paged
(each page is a fresh query ``hs_object_id > last``, so a query never nears
the 10 000-result cap and archiving during the pull cannot shift an offset),
with the row filter pushed down; a filter of more than 5 groups is widened to
5 (``_filters.widen``) and checked exactly client-side.

Incremental pull: everything modified at ``stamp >= start`` sorted by stamp
ascending, one page per query, the next query starting at the last page's
newest stamp (``>=``; the records already read at that stamp are skipped). A
page of records all sharing one stamp is followed by paging that stamp by
``hs_object_id``, then the search goes on ``> stamp``. Every query is a first
page, so the cap never drops a record, and records modified mid-pull move
ahead of the keyset instead of shifting offsets.

Lookback and de-duplication: search lags writes, so a change stamped shortly
before a pull may be invisible to it. The toolkit's cursor window
(:class:`okrsync.kit.CursorWindow`) starts each incremental pull ``lookback``
before the previous pull started (or just after the newest stamp when the
object was quiet) and recognises the records of the overlap already yielded:
a record is yielded again only when its stamp changed, once per change.

Deletions: the list endpoint with ``archived=true`` (every archived record, by
id), reporting those archived after ``deleted_since - lookback`` that the
window has not reported yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from okrsync.connector import Cursor, Page, now_stamp
from okrsync.errors import FatalConnectorError
from okrsync.kit import CursorWindow
from okrsync_hubspot._errors import CRM
from okrsync_hubspot._export import ExportRead, ExportUnavailable
from okrsync_hubspot._filters import matches, push_down
from okrsync_hubspot._values import epoch_millis, from_wire, parse_moment

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Mapping, Sequence

    from okrsync.connector import RowFilter
    from okrsync_hubspot._export import ExportBudget
    from okrsync_hubspot._filters import Pushdown
    from okrsync_hubspot._http import Transport
    from okrsync_hubspot._values import PropertyMeta

__all__ = [
    "LIST_LIMIT",
    "SEARCH_LIMIT",
    "HubSpotPull",
    "PullSpec",
    "stamp_property",
]

SEARCH_LIMIT = 200
LIST_LIMIT = 100
EXPORT_PAGE = 2000
"""Records per page of a pull read through an export."""
OBJECT_ID = "hs_object_id"
_SEARCH = "crm.objects.search_api"
_BASIC = "crm.objects.basic_api"


@dataclass(frozen=True, slots=True)
class PullSpec:
    """What one pull reads."""

    object_name: str
    """As the caller named it (for messages and the log)."""
    object_type: str
    """As the API addresses it (a name or an ``objectTypeId``)."""
    props: Mapping[str, PropertyMeta]
    """Every property of the object, by lower-case name (``id`` is ``hs_object_id``)."""
    fields: tuple[tuple[str, PropertyMeta], ...]
    """The requested fields: the caller's name and the property."""
    filters: RowFilter
    cursor: Cursor
    stamp: str
    """The modification stamp property (``hs_lastmodifieddate``; contacts: ``lastmodifieddate``)."""
    lookback: timedelta
    deletion_interval: timedelta
    clock: Callable[[], datetime]
    export_threshold: int = 0
    """Records from which a first pull goes through an export (0: never)."""
    export_budget: ExportBudget | None = None


@dataclass(slots=True)
class _Tally:
    pages: int = 0
    records: int = 0
    deleted: int = 0
    calls_before: int = 0
    started: float = field(default_factory=time.monotonic)


def _moment(text: Any) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        return parse_moment(text).astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class HubSpotPull:
    """One pull of one object (implements ``okrsync.connector.Pull``).

    Pages are fetched while iterating; :attr:`cursor` is the new cursor once
    the iteration is complete (before that, the cursor the pull started from).
    """

    def __init__(self, transport: Transport, spec: PullSpec, *, connector: str) -> None:
        self._http = transport
        self._spec = spec
        self._connector = connector
        self._cursor = spec.cursor
        self._skipped: list[tuple[str, str]] = []
        self._iterated = False
        self._local = spec.clock()
        """When this pull began, on the connector's clock."""
        self._aligned = False
        """Whether the window's start is on the portal's clock yet."""
        self._first_page: set[str] = set()
        """Ids of a first pull's first search page (an export that follows skips them)."""
        self._window = CursorWindow(spec.cursor, lookback=spec.lookback, started=spec.clock())
        self._tally = _Tally(calls_before=transport.meter.calls)
        self._reads = self._read_properties()
        self._names = [p.name for p in self._reads]

    @property
    def cursor(self) -> Cursor:
        """The cursor to resume from (final once the pages are exhausted)."""
        return self._cursor

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Records that could not be read, as ``(id, reason)``."""
        return self._skipped

    def __iter__(self) -> Iterator[Page]:
        if self._iterated:
            raise RuntimeError("a pull is iterated once; start a new pull")
        self._iterated = True
        return self._pages()

    def _log(self) -> Any:
        return structlog.get_logger("okrsync.hubspot").bind(
            crm=CRM, connector=self._connector, object=self._spec.object_name
        )

    # -- the whole pull --------------------------------------------------------

    def _pages(self) -> Iterator[Page]:
        spec = self._spec
        server = self._http.server_clock
        self._local = spec.clock().astimezone(UTC)
        self._aligned = server.offset is not None
        window = self._window = CursorWindow(
            spec.cursor, lookback=spec.lookback, started=server.at(self._local), log=self._log()
        )
        deleted_since: datetime | None
        if window.first:
            mode = "cold"
            yield from self._cold()
            if spec.filters:
                # No newest-stamp probe: the records the filter passed over changed before
                # this pull began (on the portal's clock), less the lookback, or the next
                # pull reads them.
                window.saw(window.horizon)
            deleted_since = window.horizon
        else:
            mode = "incremental"
            lower, inclusive = window.start()
            yield from self._incremental(lower, "GTE" if inclusive else "GT")
            deleted_since = yield from self._deletions(window.started, window.horizon)
        self._cursor = window.cursor(deleted_since=deleted_since)
        tally = self._tally
        self._log().info(
            "hubspot.pull.completed",
            mode=mode,
            pages=tally.pages,
            records=tally.records,
            repeats_skipped=window.repeats,
            skipped=len(self._skipped),
            deleted=tally.deleted,
            calls=self._http.meter.calls - tally.calls_before,
            seconds=round(time.monotonic() - tally.started, 3),
            cursor=self._cursor.stamp,
        )

    # -- reading results -------------------------------------------------------

    def _read_properties(self) -> list[PropertyMeta]:
        """The properties to request: the fields, the filters' fields, the stamp."""
        spec = self._spec
        found = {p.name: p for _, p in spec.fields}
        for conjunction in spec.filters:
            for pred in conjunction:
                prop = spec.props.get(pred.field.lower())
                if prop is not None:
                    found.setdefault(prop.name, prop)
        stamp = spec.props.get(spec.stamp.lower())
        if stamp is not None:
            found.setdefault(stamp.name, stamp)
        return list(found.values())

    def _fetched(self) -> list[str]:
        """Property names to request."""
        return list(self._names)

    def _stamp_of(self, result: dict[str, Any]) -> datetime | None:
        properties = result.get("properties") or {}
        return _moment(properties.get(self._spec.stamp)) or _moment(result.get("updatedAt"))

    def _convert(self, result: dict[str, Any], *, check: bool) -> tuple[str, dict[str, Any] | None]:
        """The record (``None`` when skipped or filtered out) of one API result."""
        spec = self._spec
        ident = str(result.get("id"))
        properties = result.get("properties") or {}
        values: dict[str, Any] = {}
        for prop in self._reads:
            try:
                values[prop.name] = from_wire(properties.get(prop.name), prop.type)
            except (TypeError, ValueError, OverflowError) as exc:
                reason = f"{prop.name}: {exc} (expected {prop.type})"
                self._skipped.append((ident, reason))
                self._log().warning("hubspot.pull.skipped", record=ident, reason=reason)
                return ident, None
        if check and not matches(values, spec.filters, spec.props):
            return ident, None
        record: dict[str, Any] = {"Id": ident}
        for asked, prop in spec.fields:
            record[asked] = values.get(prop.name)
        return ident, record

    def _page(self, records: list[dict[str, Any]], kind: str, **extra: Any) -> Page:
        self._tally.pages += 1
        self._tally.records += len(records)
        self._log().debug("hubspot.pull.page", kind=kind, records=len(records), **extra)
        return Page(records=records)

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = self._http.call(
            f"search {self._spec.object_name}",
            _SEARCH,
            "do_search",
            self._spec.object_type,
            body,
            object_name=self._spec.object_name,
        )
        self._align()
        return reply.body if isinstance(reply.body, dict) else {}

    def _align(self) -> None:
        """Once an answer of this pull came, put its start on the portal's clock (``Date``)."""
        if not self._aligned and self._http.server_clock.offset is not None:
            self._window.align(self._http.server_clock.at(self._local))
            self._aligned = True

    # -- cold ------------------------------------------------------------------

    def _cold(self) -> Iterator[Page]:
        spec = self._spec
        pushdown = push_down(spec.filters, spec.props, reserve=1)
        self._log().info(
            "hubspot.pull.started",
            mode="cold",
            groups=len(spec.filters),
            pushed_groups=len(pushdown.groups),
            exact=pushdown.exact,
        )
        return self._keyset(pushdown)

    def _keyset(self, pushdown: Pushdown) -> Iterator[Page]:
        fetched = self._fetched()
        last: str | None = None
        first = True
        while True:
            keyset = [{"propertyName": OBJECT_ID, "operator": "GT", "value": last}] if last else []
            groups = [list(g) + keyset for g in pushdown.groups] or ([keyset] if keyset else [])
            body: dict[str, Any] = {
                "sorts": [{"propertyName": OBJECT_ID, "direction": "ASCENDING"}],
                "properties": fetched,
                "limit": SEARCH_LIMIT,
            }
            if groups:
                body["filterGroups"] = [{"filters": g} for g in groups]
            found = self._search(body)
            results = found.get("results") or []
            records = self._first_read(results, check=not pushdown.exact)
            if first:
                self._first_page = {str(r.get("id")) for r in results}
            if records:
                yield self._page(records, "search", after=last)
            total = int(found.get("total") or 0)
            if not results or len(results) >= total:
                return
            if first and self._exporting(total):
                done = yield from self._export(pushdown)
                if done:
                    return
            first = False
            last = str(results[-1].get("id"))

    def _first_read(
        self, results: Sequence[dict[str, Any]], *, check: bool
    ) -> list[dict[str, Any]]:
        """The records of a first pull's page (each remembered, so the next window knows it)."""
        records = []
        for result in results:
            ident, record = self._convert(result, check=check)
            stamp = self._stamp_of(result)
            if stamp is not None and not self._window.fresh(ident, stamp):
                continue
            if record is not None:
                records.append(record)
        return records

    def _exporting(self, total: int) -> bool:
        """Whether the rest of a first pull of ``total`` records goes through an export."""
        spec = self._spec
        budget = spec.export_budget
        if not spec.export_threshold or total < spec.export_threshold or budget is None:
            return False
        if not budget.take():
            self._log().info(
                "hubspot.export.skipped",
                records=total,
                reason=budget.refused() or "okrsync's exports of the day are spent",
            )
            return False
        return True

    def _export(self, pushdown: Pushdown) -> Generator[Page, None, bool]:
        """The records through one export (the first search page's come again, recognised).

        Returns whether the export served the pull; when it could not (refused,
        canceled, timed out), the pull goes on through search and says why (the
        records an export gave before it broke may come again: the replica
        upserts them by id).
        """
        spec = self._spec
        assert spec.export_budget is not None  # noqa: S101  (checked by _exporting)
        single = len(pushdown.groups) == 1
        read = ExportRead(
            self._http,
            spec.object_name,
            spec.object_type,
            self._fetched(),
            [dict(f) for f in pushdown.groups[0]] if single else None,
            spec.export_budget,
        )
        check = not (single and pushdown.exact)
        records: list[dict[str, Any]] = []
        try:
            for result in read:
                ident = str(result.get("id"))
                if ident in self._first_page:
                    continue  # the first search page had it
                ident, record = self._convert(result, check=check)
                stamp = self._stamp_of(result)
                if stamp is None or not self._window.fresh(ident, stamp):
                    continue
                if record is not None:
                    records.append(record)
                if len(records) >= EXPORT_PAGE:
                    yield self._page(records, "export", task=read.task)
                    records = []
        except ExportUnavailable as why:
            self._log().warning("hubspot.export.fallback", reason=str(why), task=read.task)
            if records:
                yield self._page(records, "export", task=read.task)
            return False
        if records:
            yield self._page(records, "export", task=read.task)
        self._log().info("hubspot.export.completed", task=read.task, **read.counts)
        return True

    # -- incremental -------------------------------------------------------------

    def _incremental(self, lower: datetime, operator: str) -> Iterator[Page]:
        spec = self._spec
        self._log().info(
            "hubspot.pull.started", mode="incremental", since=now_stamp(lower), operator=operator
        )
        while True:
            self._window.reading_from(lower)
            found = self._search(
                {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": spec.stamp,
                                    "operator": operator,
                                    "value": epoch_millis(lower),
                                }
                            ]
                        }
                    ],
                    "sorts": [{"propertyName": spec.stamp, "direction": "ASCENDING"}],
                    "properties": self._fetched(),
                    "limit": SEARCH_LIMIT,
                }
            )
            results = found.get("results") or []
            page = self._fresh(results)
            if page:
                yield self._page(page, "changes", since=now_stamp(lower))
            if not results or len(results) >= int(found.get("total") or 0):
                return
            first, last = self._stamp_of(results[0]), self._stamp_of(results[-1])
            if last is None:
                raise FatalConnectorError(
                    f"search returned a record without `{spec.stamp}`",
                    crm=CRM,
                    object_name=spec.object_name,
                    record=str(results[-1].get("id")),
                )
            if first == last:
                yield from self._one_stamp(last)
                lower, operator = last, "GT"
            else:
                lower, operator = last, "GTE"

    def _one_stamp(self, stamp: datetime) -> Iterator[Page]:
        """Every record modified at exactly ``stamp``, keyset-paged by object id."""
        spec = self._spec
        self._log().info("hubspot.pull.one_stamp", stamp=now_stamp(stamp))
        last = "0"
        self._window.reading_from(stamp)
        while True:
            found = self._search(
                {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": spec.stamp,
                                    "operator": "EQ",
                                    "value": epoch_millis(stamp),
                                },
                                {"propertyName": OBJECT_ID, "operator": "GT", "value": last},
                            ]
                        }
                    ],
                    "sorts": [{"propertyName": OBJECT_ID, "direction": "ASCENDING"}],
                    "properties": self._fetched(),
                    "limit": SEARCH_LIMIT,
                }
            )
            results = found.get("results") or []
            page = self._fresh(results)
            if page:
                yield self._page(page, "one_stamp", stamp=now_stamp(stamp), after=last)
            if not results or len(results) >= int(found.get("total") or 0):
                return
            last = str(results[-1].get("id"))

    def _fresh(self, results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records of ``results`` not yet read at their current stamp."""
        records = []
        for result in results:
            ident = str(result.get("id"))
            stamp = self._stamp_of(result)
            if stamp is None or not self._window.fresh(ident, stamp):
                continue
            _, record = self._convert(result, check=False)
            if record is not None:
                records.append(record)
        return records

    # -- deletions ---------------------------------------------------------------

    def _deletions(
        self, checked: datetime, covered: datetime
    ) -> Generator[Page, None, datetime | None]:
        """Pages of ids archived since the last check; returns the moment now covered.

        Every archive before ``covered`` (this pull's start less the lookback: search
        and the archive lag) is in the listing; the next check is due a deletion
        interval after it, as for Salesforce's listing.
        """
        spec = self._spec
        since = _moment(spec.cursor.deleted_since)
        if since is not None and checked - since < spec.deletion_interval:
            return since
        threshold = since - spec.lookback if since is not None else None
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_LIMIT, "properties": [OBJECT_ID]}
            if after:
                kwargs["after"] = after
            reply = self._http.call(
                f"list archived {spec.object_name}",
                _BASIC,
                "get_page",
                spec.object_type,
                archived=True,
                object_name=spec.object_name,
                **kwargs,
            )
            body = reply.body if isinstance(reply.body, dict) else {}
            deleted = []
            for result in body.get("results") or []:
                ident = str(result.get("id"))
                at = _moment(result.get("archivedAt")) or _moment(result.get("updatedAt"))
                if at is not None and threshold is not None and at <= threshold:
                    continue  # archived before the last check: reported then
                if self._window.deletion_is_new(ident, at or checked):
                    deleted.append(ident)
            if deleted:
                self._tally.deleted += len(deleted)
                self._log().debug("hubspot.pull.deleted", ids=len(deleted))
                yield Page(deleted=deleted)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        return covered


def stamp_property(object_type: str) -> str:
    """The modification stamp search can filter on (contacts have their own)."""
    if object_type.lower() in {"contacts", "contact", "0-1"}:
        return "lastmodifieddate"
    return "hs_lastmodifieddate"
