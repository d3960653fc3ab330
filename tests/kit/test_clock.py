"""The CRM's clock as its answers' Date headers show it (okrsync.kit.ServerClock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from okrsync.kit import ServerClock

LOCAL = datetime(2026, 9, 14, 12, 0, 0, 400_000, tzinfo=UTC)


def test_without_an_answer_the_local_clock_is_taken() -> None:
    """Before any Date header, the CRM's time is the local time."""
    clock = ServerClock(lambda: LOCAL)
    assert clock.offset is None
    assert clock.now() == LOCAL


def test_an_answers_date_moves_the_clock_never_past_the_crms_time() -> None:
    """A Date an hour behind the local clock moves every moment back by that much, rounded to the safe side."""
    clock = ServerClock(lambda: LOCAL)
    clock.observe("Mon, 14 Sep 2026 11:00:00 GMT", received=LOCAL)  # the CRM read 11:00:00.x
    assert clock.offset == timedelta(hours=-1, microseconds=-400_000)
    assert clock.at(LOCAL + timedelta(minutes=5)) == datetime(2026, 9, 14, 11, 5, tzinfo=UTC)
    truth = LOCAL - timedelta(hours=1)  # where the CRM's clock really was
    assert clock.at(LOCAL) <= truth
    assert truth - clock.at(LOCAL) < timedelta(seconds=1)


def test_an_unreadable_or_missing_date_changes_nothing() -> None:
    """A missing or garbled header leaves the last offset as it was."""
    clock = ServerClock(lambda: LOCAL)
    clock.observe("Mon, 14 Sep 2026 12:00:05 GMT", received=LOCAL)
    before = clock.offset
    for header in (None, "", "yesterday", "Mon, 99 Foo 2026 25:61:00 GMT"):
        clock.observe(header, received=LOCAL)
    assert clock.offset == before == timedelta(seconds=4, microseconds=600_000)
