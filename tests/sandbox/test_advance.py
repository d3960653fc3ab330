"""Advancing the sandboxes in time: data changes, ids stay, okrsync's records survive."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okrsync_sandbox.runner import start_sandboxes
from okrsync_sandbox.server import SandboxOptions
from okrsync_sandbox.store import Cmp

START = datetime(2026, 8, 3, 12, tzinfo=UTC)
LATER = datetime(2026, 9, 28, 12, tzinfo=UTC)
CLOSED = Cmp("IsClosed", "=", True)


@pytest.fixture(scope="module")
def group():
    """Both sandboxes, small, as of early August."""
    g = start_sandboxes(SandboxOptions(size=2000, seed=5, as_of=START))
    yield g
    g.stop()


def test_both_crms_move_forward_in_time(group) -> None:
    """After advancing eight weeks, more deals are closed, none disappear, stamps move on."""
    sf = group.sandboxes["salesforce"].org.store
    hs = group.sandboxes["hubspot"].store
    sf_closed = sf.count("Opportunity", CLOSED)
    sf_total = sf.count("Opportunity")
    hs_total = hs.count("deals")
    changed = group.advance(LATER)
    assert changed["salesforce"]["Opportunity"] >= sf_total
    assert sf.count("Opportunity") >= sf_total
    assert sf.count("Opportunity", CLOSED) > sf_closed
    assert hs.count("deals") >= hs_total
    assert group.sandboxes["salesforce"].clock().date() == LATER.date()
    assert group.sandboxes["hubspot"].clock().date() == LATER.date()
    # no duplicated standard associations: one company per deal at most
    db = hs.connection()
    dupes = db.execute(
        "SELECT COUNT(*) FROM (SELECT from_id, to_type, type_id, COUNT(*) c FROM hs_associations"
        " WHERE from_type = '0-3' AND to_type = '0-2' GROUP BY from_id, to_type, type_id HAVING c > 1)"
    ).fetchone()[0]
    assert dupes == 0
