"""Pulling one object: a first pull, incremental pulls by the stamp, deletions, whole reads.

Every read is a keyset page: a short query with a ``LIMIT`` that starts after
the last row of the page before, so no query holds more than a page, each is
retried on its own after a dropped connection, and the database's statement
timeout bounds each page rather than the whole pull.

- **First pull** (no cursor): the newest stamp is read first (it becomes the
  cursor, so whatever changes during the pull is read next time); then the
  rows matching the filters (pushed down as SQL) and not soft-deleted, by id.
- **Incremental pull**: every row stamped in the kit's cursor window
  (:class:`okrsync.kit.CursorWindow`), filters or not, by ``(stamp, id)``.
  The window starts ``lookback_seconds`` before the previous pull started, so
  a row stamped when its transaction began but committed after that pull is
  still read; a row the previous pull reported at the same stamp is not
  reported again. A soft-deleted row is reported deleted.
- **Hard deletes**: every ``deletion_check_seconds`` the ids are reconciled
  (:mod:`okrsync_sql._ids`): the ids the object has now, by id, compared with
  those the connector knew.
- **Whole reads** (an object without a stamp, such as most views): the rows
  are read and digested each pull; when the digest is that of the previous
  pull nothing is reported, else the object is read again and reported whole
  (``Page.reset``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog

from okrsync.connector import Cursor, Page, now_stamp
from okrsync.kit import CursorWindow, parse_stamp
from okrsync_sql._errors import CRM
from okrsync_sql._filters import bound, where
from okrsync_sql._ids import PREFIX, KnownIds
from okrsync_sql._values import stamp_of, to_python

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence

    from sqlalchemy.engine import Row
    from sqlalchemy.sql.elements import ColumnElement

    from okrsync.connector import RowFilter
    from okrsync_sql._db import Database
    from okrsync_sql._schema import Source

__all__ = ["PullSpec", "SqlPull"]

_DIGEST = f"{PREFIX}sha:"
_MILLISECOND = timedelta(milliseconds=1)
"""The precision of a cursor's stamps."""
_ID_PAGES = 10
"""An id reconciliation reads this many pages' worth of ids per query."""
_ROW_VALUES = frozenset({"postgresql", "sqlite", "mysql", "mariadb"})
"""Databases that compare row values, ``(stamp, id) > (:s, :i)``, and use an index for it."""


@dataclass(frozen=True, slots=True)
class PullSpec:
    """What one pull reads."""

    source: Source
    fields: tuple[str, ...]
    """The fields asked for, as the mappings write them."""
    filters: RowFilter
    cursor: Cursor
    page_size: int
    lookback: timedelta
    deletion_interval: timedelta
    clock: Callable[[], datetime]


def _raw(value: Any) -> ColumnElement[Any]:
    """A value as the driver returned it, bound as it is (no type conversion)."""
    return sa.bindparam(None, value, type_=sa.types.NullType())


class SqlPull:
    """One pull of one object (implements ``okrsync.connector.Pull``); iterate it once.

    Pages are read while iterating. ``cursor`` is the cursor to resume from:
    the one the pull started from until the last page is read, then the new
    one. ``skipped`` lists the rows that could not be read, as ``(id, reason)``.
    """

    def __init__(self, db: Database, spec: PullSpec, *, connector: str) -> None:
        self._db = db
        self._spec = spec
        self.cursor = spec.cursor
        self.skipped: list[tuple[str, str]] = []
        self._reported: Counter[str] = Counter()
        """Pages, records and deletions reported so far."""
        source = spec.source
        roles = (source.id_column, source.stamp_column, source.deleted_column)
        names = [n for n in roles if n is not None]
        names += [source.column(f).name for f in spec.fields]
        self._columns = list(dict.fromkeys(names))
        """Distinct columns read, selected as ``c0 … cN``."""
        self._at = {name: i for i, name in enumerate(self._columns)}
        self._reads = [
            (name, source.column(name).name, self._at[source.column(name).name], source.kind(name))
            for name in spec.fields
        ]
        """Each field asked for: its name, its column, where the row holds it, its type."""
        self._log = structlog.get_logger("okrsync.sql").bind(
            crm=CRM, connector=connector, object=source.object_name
        )
        self._unread: Iterator[Page] | None = self._pages()

    def __iter__(self) -> Iterator[Page]:
        pages, self._unread = self._unread, None
        if pages is None:
            raise RuntimeError("a pull is read once; start a new pull for more")
        return pages

    # -- the whole pull --------------------------------------------------------------

    def _pages(self) -> Iterator[Page]:
        spec, source = self._spec, self._spec.source
        began, queries = time.monotonic(), self._db.calls
        started = spec.clock().astimezone(UTC)
        own = tuple(e for e in spec.cursor.seen if e.startswith(PREFIX))
        kit = tuple(e for e in spec.cursor.seen if not e.startswith(PREFIX))
        if source.stamp_column is None:
            mode = "whole"
            yield from self._whole(own, started)
        else:
            window = CursorWindow(
                Cursor(spec.cursor.stamp, kit, spec.cursor.deleted_since),
                lookback=spec.lookback,
                started=started,
                log=self._log,
            )
            mode = "first" if window.first else "incremental"
            yield from self._stamped(window, own, started)
        self._log.info(
            "sql.pull.completed",
            mode=mode,
            table=source.where,
            **{kind: self._reported[kind] for kind in ("pages", "records", "deleted")},
            skipped=len(self.skipped),
            queries=self._db.calls - queries,
            seconds=round(time.monotonic() - began, 3),
            cursor=self.cursor.stamp,
        )

    def _stamped(
        self, window: CursorWindow, own: tuple[str, ...], started: datetime
    ) -> Iterator[Page]:
        spec, source = self._spec, self._spec.source
        integer = source.integer_ids
        known = KnownIds(integer=integer)
        checked: datetime | None
        if window.first:
            newest = self._newest()
            if newest is not None:
                window.saw(newest)
            self._log.info("sql.pull.started", mode="first", filters=len(spec.filters))
            yield from self._first(window, known)
            checked = started
        else:
            decoded = KnownIds.decode(own, integer=integer)
            known = known if decoded is None else decoded
            lower, inclusive = window.start()
            self._log.info("sql.pull.started", mode="incremental", since=now_stamp(lower))
            yield from self._changes(window, known, lower, inclusive=inclusive)
            checked = parse_stamp(spec.cursor.deleted_since) if spec.cursor.deleted_since else None
            due = checked is None or started - checked >= spec.deletion_interval
            if not source.hard_deletes:
                checked = started  # soft deletes are read with the changes
            elif due:
                known = yield from self._reconcile(window, known, started)
                checked = started
        new = window.cursor(deleted_since=checked)
        kept = known.encode() if source.hard_deletes and new.stamp is not None else ()
        self.cursor = Cursor(new.stamp, (*new.seen, *kept), new.deleted_since)

    # -- queries -----------------------------------------------------------------------

    def _select(self, *columns: str) -> sa.Select[Any]:
        """The columns (by default every one the pull reads) as the driver returns them."""
        table = self._spec.source.table
        names = columns or self._columns
        chosen: list[sa.ColumnElement[Any]] = [
            sa.type_coerce(table.c[n], sa.types.NullType()).label(f"c{i}")
            for i, n in enumerate(names)
        ]
        query: sa.Select[Any] = sa.select(*chosen)
        return query

    def _rows(self, query: sa.Select[Any], what: str) -> Sequence[Row[Any]]:
        source = self._spec.source
        return self._db.run(
            f"{what} {source.object_name} ({source.where})",
            lambda conn: conn.execute(query).all(),
            object_name=source.object_name,
        )

    def _alive(self) -> ColumnElement[bool]:
        """Rows not soft-deleted."""
        source = self._spec.source
        if source.deleted_column is None:
            return sa.true()
        column = source.table.c[source.deleted_column]
        if source.kind(source.deleted_column) == "boolean":
            return sa.or_(column.is_(None), column == sa.false())
        return column.is_(None)

    def _newest(self) -> datetime | None:
        source = self._spec.source
        assert source.stamp_column is not None  # noqa: S101  (stamped objects only)
        column = source.table.c[source.stamp_column]
        query = sa.select(sa.type_coerce(sa.func.max(column), sa.types.NullType()))
        rows = self._rows(query, "read the newest stamp of")
        value = rows[0][0] if rows else None
        return None if value is None else stamp_of(value, source.zone)

    def _by_id(
        self, condition: ColumnElement[bool], *columns: str, size: int = 0
    ) -> Iterator[Sequence[Row[Any]]]:
        """Pages of the rows matching ``condition``, in id order (keyset)."""
        source = self._spec.source
        size = size or self._spec.page_size
        id_column = source.table.c[source.id_column]
        last: Any = None
        while True:
            query = self._select(*columns).where(condition)
            if last is not None:
                query = query.where(id_column > _raw(last))
            rows = self._rows(query.order_by(id_column).limit(size), "read")
            if rows:
                yield rows
            if len(rows) < size:
                return
            last = rows[-1][0]

    # -- first pull -------------------------------------------------------------------

    def _first(self, window: CursorWindow, known: KnownIds) -> Iterator[Page]:
        spec, source = self._spec, self._spec.source
        condition = sa.and_(where(spec.filters, source), self._alive())
        stamp_at = self._at[source.stamp_column or ""]
        recent = window.horizon - _MILLISECOND  # older changes need no remembering
        without = 0
        for rows in self._by_id(condition):
            records = []
            for row in rows:
                ident = str(row[0])
                if row[stamp_at] is None:
                    without += 1
                else:
                    stamp = self._stamp(ident, row[stamp_at])
                    if stamp is not None and stamp >= recent:  # the next window recognises it
                        window.fresh(ident, stamp)
                known.add(ident)
                record = self._record(ident, row)
                if record is not None:
                    records.append(record)
            yield from self._page(records)
        if without:
            self._log.warning(
                "sql.pull.no_stamp",
                rows=without,
                hint="rows without a stamp are read by first pulls only: give them one",
            )

    # -- incremental pull ---------------------------------------------------------------

    def _changes(
        self, window: CursorWindow, known: KnownIds, lower: datetime, *, inclusive: bool
    ) -> Iterator[Page]:
        spec, source = self._spec, self._spec.source
        assert source.stamp_column is not None  # noqa: S101  (stamped objects only)
        table = source.table
        stamp_column, id_column = table.c[source.stamp_column], table.c[source.id_column]
        if not inclusive:
            # `> stamp` with the cursor's milliseconds: a database keeping microseconds has rows
            # later within that millisecond, all read by the last pull (the window is quiet)
            lower += _MILLISECOND
        first = stamp_column >= bound(stamp_column, lower, source.zone)
        deleted_at = self._at.get(source.deleted_column or "")
        after: tuple[Any, Any] | None = None
        while True:
            query = self._select().where(first if after is None else self._after(after))
            query = query.order_by(stamp_column, id_column).limit(spec.page_size)
            rows = self._rows(query, "read the changes of")
            records: list[dict[str, Any]] = []
            deleted: list[str] = []
            for row in rows:
                self._change(row, window, known, (records, deleted), deleted_at)
            if rows:
                stamp_at = self._at[source.stamp_column]
                last_stamp = self._stamp(str(rows[-1][0]), rows[-1][stamp_at])
                if last_stamp is not None:
                    window.reading_from(last_stamp)
            yield from self._page(records, deleted)
            if len(rows) < spec.page_size:
                return
            after = (rows[-1][self._at[source.stamp_column]], rows[-1][0])

    def _change(
        self,
        row: Row[Any],
        window: CursorWindow,
        known: KnownIds,
        out: tuple[list[dict[str, Any]], list[str]],
        deleted_at: int | None,
    ) -> None:
        """Sort one changed row into ``out``: a change or a deletion not reported yet."""
        records, deleted = out
        ident = str(row[0])
        stamp = self._stamp(ident, row[self._at[self._spec.source.stamp_column or ""]])
        if stamp is None:
            return
        if deleted_at is not None and _deleted(row[deleted_at]):
            if window.fresh(ident, stamp, live=False) and window.deletion_is_new(ident, stamp):
                deleted.append(ident)
                known.discard(ident)
        elif window.fresh(ident, stamp):
            known.add(ident)
            record = self._record(ident, row)
            if record is not None:
                records.append(record)

    def _after(self, position: tuple[Any, Any]) -> ColumnElement[bool]:
        """Rows after ``(stamp, id)`` in ``(stamp, id)`` order."""
        source = self._spec.source
        assert source.stamp_column is not None  # noqa: S101  (stamped objects only)
        stamp, ident = source.table.c[source.stamp_column], source.table.c[source.id_column]
        at_stamp, at_id = position
        if self._db.dialect in _ROW_VALUES:
            return sa.tuple_(stamp, ident) > sa.tuple_(_raw(at_stamp), _raw(at_id))
        return sa.or_(stamp > _raw(at_stamp), sa.and_(stamp == _raw(at_stamp), ident > _raw(at_id)))

    # -- hard deletes -------------------------------------------------------------------

    def _reconcile(
        self, window: CursorWindow, known: KnownIds, started: datetime
    ) -> Generator[Page, None, KnownIds]:
        """Pages of the ids deleted since the last reconciliation; the ids known now."""
        source = self._spec.source
        now = KnownIds(integer=source.integer_ids)
        if known.overflow:
            self._log.info(
                "sql.pull.reread",
                reason="more ids than a cursor keeps: the object is read whole to find deletions",
            )
            reset = True
            for page in self._whole_pages(now):
                yield from self._page(page.records, reset=reset)
                reset = False
            if reset:
                yield from self._page([], reset=True)
            return now

        def present() -> Iterator[str]:
            size = self._spec.page_size * _ID_PAGES
            for rows in self._by_id(self._alive(), source.id_column, size=size):
                for row in rows:
                    ident = str(row[0])
                    now.add(ident)
                    yield ident

        batch: list[str] = []
        for ident in known.gone(present()):
            if window.deletion_is_new(ident, started):
                batch.append(ident)
            if len(batch) >= self._spec.page_size:
                yield from self._page([], batch)
                batch = []
        yield from self._page([], batch)
        return now

    # -- whole reads --------------------------------------------------------------------

    def _whole_pages(self, known: KnownIds | None = None) -> Iterator[Page]:
        """Every row matching the filters and not soft-deleted, a page at a time."""
        spec, source = self._spec, self._spec.source
        for rows in self._by_id(sa.and_(where(spec.filters, source), self._alive())):
            records = []
            for row in rows:
                ident = str(row[0])
                if known is not None:
                    known.add(ident)
                record = self._record(ident, row)
                if record is not None:
                    records.append(record)
            yield Page(records)

    def _whole(self, own: tuple[str, ...], started: datetime) -> Iterator[Page]:
        """Read the object whole; report it (anew) only when its digest changed."""
        previous = next((e.removeprefix(_DIGEST) for e in own if e.startswith(_DIGEST)), None)
        moment = now_stamp(started)
        self._log.info("sql.pull.started", mode="whole", reason="no stamp column")
        if previous is not None:
            skipped = len(self.skipped)
            probe = hashlib.sha256()
            for page in self._whole_pages():
                _feed(probe, page.records)
            del self.skipped[skipped:]  # reported by the read that follows, if any
            if probe.hexdigest() == previous:
                self.cursor = Cursor(moment, (f"{_DIGEST}{previous}",), moment)
                return
        digest = hashlib.sha256()
        reset = self._spec.cursor.stamp is not None  # what the replica holds is stale
        for page in self._whole_pages():
            _feed(digest, page.records)
            yield from self._page(page.records, reset=reset)
            reset = False
        if reset:  # no row at all now
            yield from self._page([], reset=True)
        self.cursor = Cursor(moment, (f"{_DIGEST}{digest.hexdigest()}",), moment)

    # -- rows -----------------------------------------------------------------------------

    def _stamp(self, ident: str, value: Any) -> datetime | None:
        try:
            return stamp_of(value, self._spec.source.zone)
        except (TypeError, ValueError) as exc:
            self._skip(ident, f"{self._spec.source.stamp_column}: {exc} (expected a timestamp)")
            return None

    def _record(self, ident: str, row: Row[Any]) -> dict[str, Any] | None:
        zone = self._spec.source.zone
        record: dict[str, Any] = {"Id": ident}
        for name, column, at, kind in self._reads:
            try:
                record[name] = to_python(row[at], kind, zone)
            except ValueError as exc:
                self._skip(ident, f"{column}: {exc} (expected {kind})")
                return None
        return record

    def _skip(self, ident: str, reason: str) -> None:
        self.skipped.append((ident, reason))
        self._log.warning("sql.pull.skipped", record=ident, reason=reason)

    def _page(
        self,
        records: list[dict[str, Any]],
        deleted: list[str] | None = None,
        *,
        reset: bool = False,
    ) -> Iterator[Page]:
        """The page of ``records`` and ``deleted``, if there is anything to say."""
        if not records and not deleted and not reset:
            return
        self._reported.update(pages=1, records=len(records), deleted=len(deleted or []))
        yield Page(records, list(deleted or []), reset=reset)


def _feed(digest: Any, records: list[dict[str, Any]]) -> None:
    """Add records to a digest of an object's content."""
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, default=str).encode())
        digest.update(b"\n")


def _deleted(value: Any) -> bool:
    """Whether a soft-delete column's value marks its row deleted (true, or a date)."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "f", "false", "n", "no", "off"}
    return bool(value) if isinstance(value, (bool, int)) else True
