"""Row filters: covered groups left out (same rows), more groups than search takes widened (no row lost)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from okrsync.connector import Predicate
from okrsync.plan import without_covered
from okrsync_hubspot._filters import MAX_GROUPS, matches, push_down, widen
from okrsync_hubspot._values import PropertyMeta

PROPS = {
    "amount": PropertyMeta("amount", "number"),
    "closedate": PropertyMeta("closedate", "date"),
    "dealstage": PropertyMeta("dealstage", "enumeration"),
    "won": PropertyMeta("won", "bool"),
}
STAGES = ("appointment", "qualified", "closedwon", "closedlost")
DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


def test_windows_of_one_condition_merge_into_spanning_ranges() -> None:
    """Won deals closed in six different quarters: one group, won, from the first start to the last end."""
    quarters = [(date(2025, m, 1), date(2025, m + 2, 28)) for m in (1, 4, 7, 10)] + [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
    ]
    filters = tuple(
        (
            Predicate("won", "eq", True),
            Predicate("closedate", "gte", start),
            Predicate("closedate", "lte", end),
        )
        for start, end in quarters
    )
    widened = widen(filters, 1)
    assert widened == (
        (
            Predicate("won", "eq", True),
            Predicate("closedate", "gte", date(2025, 1, 1)),
            Predicate("closedate", "lte", date(2026, 6, 30)),
        ),
    )
    pushed = push_down(filters, PROPS, reserve=1)
    assert not pushed.exact
    assert len(pushed.groups) <= MAX_GROUPS


def test_equal_values_merge_into_a_list() -> None:
    """``dealstage = a`` or ``= b`` becomes ``dealstage in (a, b)``."""
    filters = tuple((Predicate("dealstage", "eq", s),) for s in STAGES)
    assert widen(filters, 1) == ((Predicate("dealstage", "in", STAGES),),)


def test_groups_sharing_nothing_widen_to_every_row() -> None:
    """When no merge keeps a condition, the widened filter is every row."""
    filters = ((Predicate("won", "eq", True),), (Predicate("amount", "gt", 5.0),))
    assert widen(filters, 1) == ()


predicates = st.one_of(
    st.builds(
        Predicate,
        st.just("amount"),
        st.sampled_from(["eq", "gt", "gte", "lt", "lte"]),
        st.integers(0, 20).map(float),
    ),
    st.builds(
        Predicate, st.just("closedate"), st.sampled_from(["eq", "gt", "gte", "lt", "lte"]), DAYS
    ),
    st.builds(
        Predicate, st.just("dealstage"), st.sampled_from(["eq", "ne"]), st.sampled_from(STAGES)
    ),
    st.builds(
        Predicate,
        st.just("dealstage"),
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(STAGES), min_size=1, max_size=3).map(tuple),
    ),
    st.builds(Predicate, st.just("won"), st.just("eq"), st.booleans()),
)
records = st.fixed_dictionaries(
    {
        "amount": st.one_of(st.none(), st.integers(0, 20).map(float)),
        "closedate": st.one_of(st.none(), DAYS),
        "dealstage": st.one_of(st.none(), st.sampled_from(STAGES)),
        "won": st.one_of(st.none(), st.booleans()),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    filters=st.lists(
        st.lists(predicates, min_size=1, max_size=3).map(tuple), min_size=1, max_size=12
    ).map(tuple),
    rows=st.lists(records, min_size=1, max_size=20),
    limit=st.integers(1, MAX_GROUPS),
)
def test_a_widened_filter_keeps_every_row_the_filter_matches(
    filters: tuple[tuple[Predicate, ...], ...], rows: list[dict[str, Any]], limit: int
) -> None:
    """Whatever the groups, widening to ``limit`` loses no matching row."""
    widened = widen(filters, limit)
    assert len(widened) <= limit
    for row in rows:
        if matches(row, filters, PROPS):
            assert matches(row, widened, PROPS), (row, widened)


@settings(max_examples=400, deadline=None)
@given(
    groups=st.lists(
        st.lists(predicates, min_size=1, max_size=3).map(tuple), min_size=1, max_size=8
    ),
    rows=st.lists(records, min_size=1, max_size=25),
)
def test_leaving_covered_groups_out_matches_the_same_rows(
    groups: list[tuple[Predicate, ...]], rows: list[dict[str, Any]]
) -> None:
    """Each row matches the simplified filter exactly when it matches the original one."""
    simplified = without_covered(groups)
    assert len(simplified) <= len(groups)
    for row in rows:
        assert matches(row, simplified, PROPS) == matches(row, tuple(groups), PROPS), row
