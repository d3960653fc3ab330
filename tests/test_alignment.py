"""Alignment across CRMs: parents go where their children go, and are written first."""

from __future__ import annotations

from datetime import date

from okrsync.alignment import parents_first, with_ancestors
from okrsync.model import Cycle, Objective

YEAR = Cycle("2026", date(2026, 1, 1), date(2026, 12, 31))
Q3 = Cycle("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))


def objective(cycle: Cycle, key: str, parent: str | None = None) -> Objective:
    return Objective(key=key, cycle=cycle, title=key, key_results=(), aligns_to=parent)


SQUAD = objective(Q3, "squad", "2026-Q3/team")
TEAM = objective(Q3, "team", "2026/company")
COMPANY = objective(YEAR, "company")
LONE = objective(Q3, "lone")


def test_a_parent_goes_wherever_a_descendant_goes() -> None:
    """Ancestors gain the connectors of every objective below them; others keep theirs."""
    found = with_ancestors(
        [SQUAD, TEAM, COMPANY, LONE],
        {"2026-Q3/squad": {"hubspot"}, "2026-Q3/team": {"salesforce"}, "2026-Q3/lone": {"x"}},
    )
    assert found == {
        "2026-Q3/squad": {"hubspot"},
        "2026-Q3/team": {"salesforce", "hubspot"},
        "2026/company": {"salesforce", "hubspot"},
        "2026-Q3/lone": {"x"},
    }


def test_parents_come_before_their_children() -> None:
    """Each objective follows its parent; unrelated ones keep their order."""
    ordered = [o.full_key for o in parents_first([SQUAD, LONE, TEAM, COMPANY])]
    assert ordered == ["2026/company", "2026-Q3/team", "2026-Q3/squad", "2026-Q3/lone"]
    assert ordered.index("2026/company") < ordered.index("2026-Q3/team")


def test_a_parent_outside_the_set_is_no_obstacle() -> None:
    """An objective whose parent is not loaded is placed as a root."""
    assert parents_first([TEAM]) == [TEAM]
    assert with_ancestors([TEAM], {"2026-Q3/team": {"s"}}) == {
        "2026-Q3/team": {"s"},
        "2026/company": {"s"},
    }
