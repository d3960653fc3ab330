"""The cursor window: where an incremental pull starts, and which changes it already reported.

A CRM shows a change late — a Salesforce transaction commits after its
``SystemModstamp``, HubSpot's search indexes seconds after a write — so an
incremental pull cannot start exactly at the newest stamp the previous pull
saw. It starts ``lookback`` before the moment the previous pull *started*
(everything stamped earlier was visible to it), and recognises the records of
that overlap which it already reported, so each change is reported once:

- when the newest stamp is older than ``previous start − lookback`` (a quiet
  object), the window starts just after the newest stamp (``> stamp``): nothing
  can still be hidden and nothing needs recognising;
- otherwise it starts at ``min(stamp, previous start − lookback)``, inclusive.

``Cursor.seen`` holds what the next pull needs for that, one encoding for
every connector (stamps are :func:`~okrsync.connector.now_stamp` text):

========================= ===============================================================
``@<stamp>``              when the pull that wrote the cursor started
``<id>@<stamp>``          the record's change at that modification stamp was reported
``-<id>@<stamp>``         the record's deletion (at that moment) was reported
========================= ===============================================================

A change is remembered while it lies inside the next window (stamped at or
after ``start − lookback``); a deletion while the deletion listing may show it
again. A record reported changed after its deletion is alive again, so a later
deletion of it is reported anew.

The seen-set is bounded by :data:`SEEN_LIMIT` entries, newest kept. Beyond it
are the oldest changes of a burst inside the lookback; forgetting them can
only make the next pull report those records once more (an idempotent upsert
into the replica), never lose one. The cursor is stored after every pull of
every object, so the bound also keeps it small (about 100 KB at most).
Cursors written before this encoding (a ``~<stamp>`` floor, bare ids) are read:
a floor is ignored (at worst a record is reported once more), a bare id is at
the cursor's stamp.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from okrsync.connector import Cursor, now_stamp

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["DELETION_SLACK", "SEEN_LIMIT", "TRUNCATED_EVENT", "CursorWindow", "parse_stamp"]

SEEN_LIMIT = 2_000
"""Most entries a cursor's seen-set keeps (the newest)."""
DELETION_SLACK = timedelta(minutes=2)
"""Deletion listings work in whole minutes: deletions are remembered this much longer."""
TRUNCATED_EVENT = "connector.pull.seen_truncated"
"""Logged when a cursor keeps fewer entries than the window held."""
_PRUNE_AT = 4 * SEEN_LIMIT
"""Records read in one pull kept before the ones below the read floor are dropped."""


def parse_stamp(text: str) -> datetime:
    """An ISO 8601 stamp as an aware UTC datetime (a naive one is taken as UTC)."""
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _millis(moment: datetime) -> datetime:
    """``moment`` in UTC, to the millisecond (the precision a cursor keeps)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _stamp_or_none(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return _millis(parse_stamp(text))
    except ValueError:
        return None


class CursorWindow:
    """The overlap bookkeeping of one pull of one object, from its old cursor to the new one.

    Args:
        cursor: Where the previous pull stopped (``Cursor()`` for a first pull).
        lookback: How late a change may become visible after its stamp.
        started: When this pull started (the connector's clock).
        limit: Most seen-set entries the new cursor keeps.
        log: A structlog logger bound to the connector and object (for truncation).
    """

    def __init__(
        self,
        cursor: Cursor,
        *,
        lookback: timedelta,
        started: datetime,
        limit: int = SEEN_LIMIT,
        log: Any = None,
    ) -> None:
        self.old = cursor
        self.lookback = lookback
        self.started = _millis(started)
        self.limit = limit
        self.log = log
        self.repeats = 0
        """Changes read again in the overlap and recognised (not reported)."""
        self._stamp = _stamp_or_none(cursor.stamp)
        self._newest = self._stamp
        self._before: datetime | None = None
        self._previous: dict[str, datetime] = {}
        self._deleted: dict[str, datetime] = {}
        self._recent: dict[str, datetime] = {}
        self._floor: datetime | None = None
        self._decode(cursor.seen)

    def _decode(self, entries: Iterable[str]) -> None:
        for entry in entries:
            ident, at, stamp = entry.rpartition("@")
            if not at:  # a bare id (older cursors): seen at the cursor's stamp
                ident, moment = entry, self._stamp
            else:
                moment = _stamp_or_none(stamp)
            if moment is None or ident.startswith("~"):
                continue
            if not ident:
                self._before = moment
            elif ident.startswith("-"):
                self._deleted[ident[1:]] = moment
            else:
                self._previous[ident] = moment

    def align(self, started: datetime) -> None:
        """When this pull started on the CRM's clock, once an answer told it (before any row)."""
        self.started = _millis(started)

    # -- the window -------------------------------------------------------------------

    @property
    def first(self) -> bool:
        """Whether this is a first (full) pull: the old cursor has no stamp."""
        return self._stamp is None

    @property
    def stamp(self) -> datetime | None:
        """The old cursor's stamp (``None`` for a first pull)."""
        return self._stamp

    @property
    def newest(self) -> datetime | None:
        """The newest modification stamp seen so far (the new cursor's stamp)."""
        return self._newest

    @property
    def horizon(self) -> datetime:
        """Changes stamped before this were visible to this pull: the next window starts here."""
        return self.started - self.lookback

    def start(self) -> tuple[datetime, bool]:
        """Where this incremental pull's window starts, and whether that moment is included.

        Raises:
            ValueError: On a first pull (there is no window; read everything).
        """
        stamp = self._stamp
        if stamp is None:
            raise ValueError("a first pull has no window")
        before = self._before
        if before is None:  # a cursor from before the start marker: the plain overlap
            return stamp - self.lookback, True
        if before - self.lookback > stamp:
            return stamp, False
        return min(stamp, before - self.lookback), True

    def reading_from(self, floor: datetime) -> None:
        """Nothing stamped before ``floor`` is read again in this pull (frees memory)."""
        self._floor = _millis(floor)
        if len(self._recent) > _PRUNE_AT:
            keep = min(self._floor, self.horizon)
            self._recent = {i: t for i, t in self._recent.items() if t >= keep}

    # -- what was read ----------------------------------------------------------------

    def saw(self, stamp: datetime) -> None:
        """A modification stamp seen without a record to report (the object's newest)."""
        moment = _millis(stamp)
        if self._newest is None or moment > self._newest:
            self._newest = moment

    def fresh(self, record_id: str, stamp: datetime, *, live: bool = True) -> bool:
        """Whether the change of ``record_id`` at ``stamp`` is not reported yet; remembers it.

        ``live`` is false for a row that says the record was deleted (``IsDeleted``):
        it does not bring the record back.
        """
        moment = _millis(stamp)
        self.saw(moment)
        if self._recent.get(record_id) == moment or self._previous.get(record_id) == moment:
            self.repeats += 1
            return False
        keep = self.horizon if self._floor is None else min(self.horizon, self._floor)
        if moment >= keep:
            self._recent[record_id] = moment
        if live:
            deleted = self._deleted.get(record_id)
            if deleted is not None and moment > deleted:
                del self._deleted[record_id]  # alive again: its next deletion is news
        return True

    def deletion_is_new(self, record_id: str, when: datetime) -> bool:
        """Whether the deletion of ``record_id`` is not reported yet; remembers it."""
        if record_id in self._deleted:
            return False
        self._deleted[record_id] = _millis(when)
        return True

    # -- the new cursor ---------------------------------------------------------------

    def cursor(self, *, deleted_since: datetime | None) -> Cursor:
        """The cursor to resume from, once every page was read.

        Args:
            deleted_since: When deletions were last listed up to (``None``: never).
        """
        since = now_stamp(deleted_since) if deleted_since is not None else None
        newest = self._newest
        if newest is None:
            return Cursor(None, (), since)
        horizon = self.horizon
        entries: list[tuple[datetime, str]] = []
        if horizon <= newest:
            merged = {**self._previous, **self._recent}
            entries += [(t, f"{i}@{now_stamp(t)}") for i, t in merged.items() if t >= horizon]
        if deleted_since is not None:
            kept_from = deleted_since - self.lookback - DELETION_SLACK
            entries += [
                (t, f"-{i}@{now_stamp(t)}") for i, t in self._deleted.items() if t >= kept_from
            ]
        entries.sort(reverse=True)
        if len(entries) > self.limit:
            if self.log is not None:
                self.log.warning(
                    TRUNCATED_EVENT,
                    entries=len(entries),
                    kept=self.limit,
                    hint="more changes in the lookback than the cursor keeps: the oldest may "
                    "be reported once more next time (none is lost)",
                )
            entries = entries[: self.limit]
        seen = (f"@{now_stamp(self.started)}", *(entry for _, entry in entries))
        return Cursor(now_stamp(newest), seen, since)
