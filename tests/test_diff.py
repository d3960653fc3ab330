"""The diff step: one comparison with what was last written serves plan's preview and sync's staging."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from okrsync.connector import FieldInfo
from okrsync.diff import diff, preview
from okrsync.engine import SyncEngine
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.models import WrittenRow
from okrsync.testing import InMemoryConnector
from okrsync.writeback import WriteReport, digest

if TYPE_CHECKING:
    from pathlib import Path

AS_OF = date(2026, 8, 15)
NOW = datetime(2026, 8, 15, 8, tzinfo=UTC)
MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: won, title: Won, source: crm, metric: {sum: deals.amount, where: {won: true}}, target: 1000}
      - {key: all, title: All, source: crm, metric: {count: deals}, target: 10}
"""


def test_diff_ignores_volatile_fields_and_finds_changes(tmp_path: Path) -> None:
    """A record differing from the last write only in ``last_synced_at`` is unchanged; any other field changes it."""
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    written = {"key": "a", "current_value": 1.0, "last_synced_at": NOW}
    with Session(db) as session:
        session.add(
            WrittenRow(
                connector="crm",
                object="key_result",
                key="a",
                digest=digest(written),
                crm_id="1",
                written_at=NOW,
                run_id="r0",
            )
        )
        session.commit()
    later = written | {"last_synced_at": datetime(2026, 8, 16, tzinfo=UTC)}
    moved = written | {"current_value": 2.0}
    wanted = {("crm", "key_result"): [later, moved | {"key": "b"}, moved]}
    with Session(db) as session:
        found = [(d.key, d.changed) for d in diff(session, wanted)]
    assert found == [("a", False), ("b", True), ("a", True)]
    report = WriteReport()
    preview(db, {("crm", "key_result"): [later, moved | {"key": "b"}]}, report)
    assert report.as_dict() == {"crm": {"upserted": 1, "unchanged": 1, "failed": 0}}


def test_plan_counts_exactly_what_the_next_sync_stages(tmp_path: Path) -> None:
    """After a change in the CRM, plan's upserted/unchanged equal what sync then stages and keeps."""
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING)
    mappings = load_mappings(tmp_path / "maps", sources={"crm": "memory"}, catalogs={})
    crm = InMemoryConnector(
        "crm",
        objects={
            "deals": {"amount": FieldInfo("amount", "currency"), "won": FieldInfo("won", "boolean")}
        },
    )
    crm.put("deals", {"amount": 100.0, "won": True})
    crm.put("deals", {"amount": 50.0, "won": False})
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")

    def run(kind: str) -> dict[str, dict[str, int]]:
        engine = SyncEngine(
            workspace="t", mappings=mappings, connectors={"crm": crm}, db=db, clock=lambda: NOW
        )
        return engine.run(kind, AS_OF).writes.as_dict()  # type: ignore[arg-type]

    assert run("plan") == run("sync") == {"crm": {"upserted": 3, "unchanged": 0, "failed": 0}}
    crm.put("deals", {"amount": 20.0, "won": False})  # the count changes, the won sum does not
    planned = run("plan")
    assert planned == {
        "crm": {"upserted": 2, "unchanged": 1, "failed": 0}
    }  # the KR and its objective
    assert run("sync") == planned
    assert run("plan") == {"crm": {"upserted": 0, "unchanged": 3, "failed": 0}}
