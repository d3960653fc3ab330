"""After a mapping edit, the pull plan says what a replica pulled before lacks (okrsync.plan.added_since)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from okrsync.connector import Predicate
from okrsync.plan import ObjectPlan, added_since, pulled_form

Q3 = (
    Predicate("CloseDate", "gte", date(2026, 7, 1)),
    Predicate("CloseDate", "lte", date(2026, 9, 30)),
)
AUGUST = (
    Predicate("CloseDate", "gte", date(2026, 8, 1)),
    Predicate("CloseDate", "lte", date(2026, 9, 30)),
)
WON = (Predicate("IsWon", "eq", value=True),)


def plan(fields: set[str], groups: list[tuple[Predicate, ...]] | None) -> ObjectPlan:
    return ObjectPlan("salesforce", "Opportunity", set(fields), groups)


def stored(p: ObjectPlan) -> dict:
    """What the cursor row keeps, through JSON as the store keeps it."""
    return json.loads(json.dumps(pulled_form(p.fields, p.filters)))


def test_a_covered_group_or_a_removed_field_needs_nothing() -> None:
    """A group an old group covers (August inside Q3) and a field dropped: no rows, no fields to pull."""
    old = stored(plan({"Amount", "IsWon", "CloseDate"}, [WON + Q3]))
    assert added_since(plan({"IsWon", "CloseDate"}, [WON + Q3, WON + AUGUST]), old) == ([], None)


def test_an_added_group_is_pulled_alone() -> None:
    """Open deals of Q3 next to the won ones: only that group's rows are pulled."""
    old = stored(plan({"Amount", "IsWon", "CloseDate"}, [WON + Q3]))
    lost = (Predicate("IsWon", "eq", value=False), *Q3)
    assert added_since(plan({"Amount", "IsWon", "CloseDate"}, [WON + Q3, lost]), old) == (
        [],
        (lost,),
    )


def test_an_added_field_reads_the_whole_new_filter() -> None:
    """A field no row holds yet: every row of the new filter is read again."""
    old = stored(plan({"Amount", "CloseDate"}, [Q3]))
    new = plan({"Amount", "CloseDate", "StageName"}, [Q3])
    assert added_since(new, old) == (["StageName"], (Q3,))


def test_every_row_before_or_after() -> None:
    """Unfiltered before: nothing to add; unfiltered now (filtered before): every row."""
    every = stored(plan({"Amount"}, None))
    assert added_since(plan({"Amount"}, [Q3]), every) == ([], None)
    assert added_since(plan({"Amount"}, None), stored(plan({"Amount"}, [Q3]))) == ([], ())


def test_values_keep_their_types_through_the_store() -> None:
    """Dates, date-times and lists come back as they were, so coverage is decided on real values."""
    group = (
        Predicate("CreatedDate", "gte", datetime(2026, 7, 1, 8, tzinfo=UTC)),
        Predicate("StageName", "in", ("Won", "Lost")),
        Predicate("CloseDate", "lte", date(2026, 9, 30)),
    )
    old = stored(plan({"CreatedDate", "StageName", "CloseDate"}, [group]))
    assert added_since(plan({"CreatedDate", "StageName", "CloseDate"}, [group]), old) == ([], None)
    text = (
        Predicate("CloseDate", "lte", "2026-09-30"),
    )  # text that looks like a date: not the same
    assert added_since(plan({"CloseDate"}, [text]), stored(plan({"CloseDate"}, [Q3[1:]]))) == (
        [],
        (text,),
    )
