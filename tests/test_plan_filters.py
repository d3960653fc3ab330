"""Pull filters: groups another group covers are left out.

That the rows matched stay the same is checked, with HubSpot's client-side
matching as the judge, in ``connectors/hubspot/tests/test_filters.py``.
"""

from __future__ import annotations

from datetime import date

from okrsync.connector import Predicate
from okrsync.plan import without_covered


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
