"""The known ids of the id reconciliation: compact runs, exact differences, a bounded cursor."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from okrsync_sql._ids import LIMIT, KnownIds


def known(*ids: int) -> KnownIds:
    made = KnownIds(integer=True)
    for i in ids:
        made.add(str(i))
    return made


def test_consecutive_ids_are_one_run_and_a_gap_splits_it() -> None:
    """A serial key is one run however long; removing one id makes two."""
    ids = known(*range(1, 100_001))
    assert ids.encode() == ("#i:1..100000",)
    ids.discard("500")
    assert ids.encode() == ("#i:1..499,501..100000",)
    ids.add("500")
    assert ids.encode() == ("#i:1..100000",)


@given(st.sets(st.integers(-50, 400)), st.sets(st.integers(-50, 400)))
def test_gone_is_exactly_the_known_ids_not_present(before, now) -> None:
    """Whatever the ids, `gone` lists exactly those known and no longer present, and the cursor round-trips."""
    ids = known(*before)
    assert len(ids) == len(before)
    entries = ids.encode()
    assert len(entries) == (1 if before else 0)  # no id, no entry
    again = KnownIds.decode(entries, integer=True) if entries else KnownIds(integer=True)
    assert again is not None
    gone = list(again.gone(str(n) for n in sorted(now)))
    assert gone == [str(n) for n in sorted(before - now)]


def test_removing_and_adding_in_any_order_keeps_the_set() -> None:
    """Adds and discards in random order leave exactly the ids added last."""
    rng = random.Random(5)  # noqa: S311  (a repeatable sequence, not a secret)
    truth: set[int] = set()
    ids = KnownIds(integer=True)
    for _ in range(5000):
        n = rng.randrange(300)
        if rng.random() < 0.6:
            truth.add(n)
            ids.add(str(n))
        else:
            truth.discard(n)
            ids.discard(str(n))
    assert list(ids.gone([])) == [str(n) for n in sorted(truth)]


def test_text_ids_round_trip_and_compare() -> None:
    """Ids that are not numbers are kept one entry each and compared as text."""
    ids = KnownIds(integer=False)
    for ident in ("b-2", "a,1", "c"):
        ids.add(ident)
    again = KnownIds.decode(ids.encode(), integer=False)
    assert again is not None
    assert list(again.gone(["c", "zzz"])) == ["a,1", "b-2"]


def test_too_many_ids_overflow_to_a_marker() -> None:
    """Past the limit the set is dropped for a marker that asks for a whole re-read."""
    ids = KnownIds(integer=True)
    for n in range(0, LIMIT, 2):  # every other id: one run each
        ids.add(str(n))
    assert ids.overflow
    assert ids.encode() == ("#i!",)
    again = KnownIds.decode(("#i!",), integer=True)
    assert again is not None
    assert again.overflow


def test_entries_of_the_other_kind_or_broken_ones_are_not_trusted() -> None:
    """No entries of this kind: no set; a broken entry: an overflowed set (re-read rather than guess)."""
    assert KnownIds.decode(("#t:abc", "@2026-07-01T00:00:00.000Z"), integer=True) is None
    broken = KnownIds.decode(("#i:5..3",), integer=True)
    assert broken is not None
    assert broken.overflow
