"""The toolkit's cursor window: where incremental pulls start, and each change reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from okrsync.connector import Cursor, now_stamp
from okrsync.kit import SEEN_LIMIT, TRUNCATED_EVENT, CursorWindow
from okrsync.logging import get_logger

T0 = datetime(2026, 8, 17, 12, tzinfo=UTC)
LOOKBACK = timedelta(minutes=5)


def window(cursor: Cursor, started: datetime, **kw: object) -> CursorWindow:
    return CursorWindow(cursor, lookback=LOOKBACK, started=started, **kw)  # type: ignore[arg-type]


def test_a_first_pull_has_no_window_and_remembers_what_the_next_one_needs() -> None:
    """Changes stamped within the lookback before the pull started go to the seen-set; older ones do not."""
    first = window(Cursor(), T0)
    assert first.first
    with pytest.raises(ValueError, match="first pull"):
        first.start()
    assert first.fresh("old", T0 - timedelta(hours=1))
    assert first.fresh("new", T0 - timedelta(minutes=1))
    cursor = first.cursor(deleted_since=T0)
    assert cursor.stamp == now_stamp(T0 - timedelta(minutes=1))
    assert cursor.seen == (f"@{now_stamp(T0)}", f"new@{now_stamp(T0 - timedelta(minutes=1))}")
    assert cursor.deleted_since == now_stamp(T0)


def test_a_busy_object_overlaps_and_recognises_what_was_reported() -> None:
    """The next window starts `lookback` before the previous start; repeats are skipped, changes are not."""
    first = window(Cursor(), T0)
    first.fresh("a", T0 - timedelta(minutes=1))
    nxt = window(first.cursor(deleted_since=T0), T0 + timedelta(minutes=1))
    assert nxt.start() == (T0 - LOOKBACK, True)
    assert not nxt.fresh("a", T0 - timedelta(minutes=1))  # the same change: already reported
    assert nxt.fresh("late", T0 - timedelta(minutes=3))  # committed late, stamped earlier
    assert nxt.fresh("a", T0 + timedelta(seconds=30))  # a new change of the same record
    assert not nxt.fresh("a", T0 + timedelta(seconds=30))  # read twice in one pull
    assert nxt.repeats == 2


def test_a_quiet_object_starts_just_after_its_newest_stamp() -> None:
    """When nothing changed within the lookback, the window starts after the newest stamp, exclusive."""
    quiet = window(Cursor(), T0)
    quiet.saw(T0 - timedelta(days=3))
    cursor = quiet.cursor(deleted_since=T0)
    assert cursor.seen == (f"@{now_stamp(T0)}",)  # nothing to recognise
    assert window(cursor, T0 + timedelta(hours=1)).start() == (T0 - timedelta(days=3), False)


def test_cursors_without_a_start_marker_overlap_from_their_stamp() -> None:
    """A cursor from an older release starts `lookback` before its stamp; bare ids and floors are read."""
    stamp = now_stamp(T0)
    old = window(Cursor(stamp, ("17", f"~{stamp}", f"18@{stamp}")), T0 + timedelta(hours=1))
    assert old.start() == (T0 - LOOKBACK, True)
    assert not old.fresh("17", T0)
    assert not old.fresh("18", T0)


def test_deletions_are_reported_once_until_the_record_comes_back() -> None:
    """A deletion seen again (listing, queryAll) is not news; after the record was restored, it is."""
    w = window(Cursor(), T0)
    w.saw(T0 - timedelta(minutes=2))
    assert w.deletion_is_new("d", T0 - timedelta(minutes=1))
    assert not w.deletion_is_new("d", T0 - timedelta(seconds=59))
    again = window(w.cursor(deleted_since=T0), T0 + timedelta(minutes=1))
    assert not again.deletion_is_new("d", T0)
    again.fresh("d", T0 - timedelta(seconds=50), live=False)  # its deleted row: not a restore
    assert not again.deletion_is_new("d", T0)
    assert again.fresh("d", T0 + timedelta(seconds=10))  # restored
    assert again.deletion_is_new("d", T0 + timedelta(seconds=20))


def test_old_deletions_are_forgotten_once_no_listing_can_repeat_them() -> None:
    """A deletion is kept while a listing since `deleted_since − lookback − 2 min` may show it."""
    w = window(Cursor(), T0)
    w.saw(T0)
    w.deletion_is_new("recent", T0 - timedelta(minutes=6))
    w.deletion_is_new("ancient", T0 - timedelta(hours=1))
    seen = w.cursor(deleted_since=T0).seen
    assert f"-recent@{now_stamp(T0 - timedelta(minutes=6))}" in seen
    assert not any(e.startswith("-ancient") for e in seen)


def test_the_seen_set_is_bounded_newest_first_and_says_so() -> None:
    """Past SEEN_LIMIT the oldest entries go (they may be reported again, never lost), and it is logged."""
    w = window(Cursor(), T0, log=get_logger("test"))
    extra = 7
    for n in range(SEEN_LIMIT + extra):
        w.fresh(f"r{n}", T0 - timedelta(milliseconds=n))
    with capture_logs() as logs:
        cursor = w.cursor(deleted_since=T0)
    assert len(cursor.seen) == SEEN_LIMIT + 1
    kept = {e.split("@")[0] for e in cursor.seen[1:]}
    assert kept == {f"r{n}" for n in range(SEEN_LIMIT)}
    assert [e["event"] for e in logs] == [TRUNCATED_EVENT]
    nxt = window(cursor, T0 + timedelta(seconds=1))
    assert nxt.fresh(f"r{SEEN_LIMIT}", T0 - timedelta(milliseconds=SEEN_LIMIT))  # forgotten: again
    assert not nxt.fresh("r0", T0)


def test_stamps_compare_to_the_millisecond() -> None:
    """A stamp with microseconds matches its cursor form (milliseconds), so it is not reported twice."""
    w = window(Cursor(), T0)
    moment = T0 - timedelta(seconds=1, microseconds=123_456)
    w.fresh("x", moment)
    assert not window(w.cursor(deleted_since=T0), T0).fresh("x", moment)
