"""Pull filters: groups another group covers are left out, and the rows matched stay the same."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from okrsync.connector import Predicate
from okrsync.plan import without_covered
from okrsync_hubspot._filters import matches
from okrsync_hubspot._values import PropertyMeta

PROPS = {
    "amount": PropertyMeta("amount", "number"),
    "closedate": PropertyMeta("closedate", "date"),
    "dealstage": PropertyMeta("dealstage", "enumeration"),
    "won": PropertyMeta("won", "bool"),
}
STAGES = ("appointment", "qualified", "closedwon", "closedlost")
DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


def window(start: date, end: date) -> tuple[Predicate, Predicate]:
    return Predicate("closedate", "gte", start), Predicate("closedate", "lte", end)


def test_a_quarter_inside_the_year_is_left_out() -> None:
    """Won deals closed in Q3 are won deals closed in 2026; the closed-deals group stays."""
    won = Predicate("won", "eq", True)
    q3 = (won, *window(date(2026, 7, 1), date(2026, 9, 30)))
    year = (won, *window(date(2026, 1, 1), date(2026, 12, 31)))
    closed = (
        Predicate("dealstage", "in", ("closedwon", "closedlost")),
        *window(date(2026, 7, 1), date(2026, 9, 30)),
    )
    won_stage = (
        Predicate("dealstage", "eq", "closedwon"),
        *window(date(2026, 8, 1), date(2026, 8, 31)),
    )
    assert without_covered([q3, year, closed, won_stage]) == (year, closed)
    assert without_covered([year, year]) == (year,)


def test_what_cannot_be_compared_is_kept() -> None:
    """Text order (the CRM's collation) and other operators prove nothing: both groups stay."""
    text = [(Predicate("dealstage", "gte", "a"),), (Predicate("dealstage", "gte", "b"),)]
    assert without_covered(text) == tuple(text)
    ne = [(Predicate("dealstage", "ne", "a"),), (Predicate("dealstage", "ne", "b"),)]
    assert without_covered(ne) == tuple(ne)


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
