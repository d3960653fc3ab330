"""A connector that takes concurrent pulls has its objects pulled at once; one that does not, in turn."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.connector import FieldInfo
from okrsync.engine import SyncEngine
from okrsync.errors import FatalConnectorError, RetriableConnectorError
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

AS_OF = date(2026, 8, 15)
MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: crm, metric: {count: deals}, target: 10}
      - {key: calls, title: Calls, source: crm, metric: {count: calls}, target: 10}
      - {key: notes, title: Notes, source: crm, metric: {count: notes}, target: 10}
"""
KIND = {"kind": FieldInfo("kind", "picklist")}


def _crm(width: int) -> InMemoryConnector:
    crm = InMemoryConnector("crm", objects={"deals": KIND, "calls": KIND, "notes": KIND})
    for obj in ("deals", "calls", "notes"):
        for _ in range(3):
            crm.put(obj, {"kind": "x"})
    crm.concurrent_pulls = width  # type: ignore[attr-defined]
    return crm


def _engine(tmp_path: Path, crm: InMemoryConnector) -> SyncEngine:
    (tmp_path / "m.yaml").write_text(MAPPING)
    mappings = load_mappings(tmp_path, sources={"crm": "memory"}, catalogs={})
    return SyncEngine(
        workspace="w",
        mappings=mappings,
        connectors={"crm": crm},
        db=open_store(f"sqlite:///{tmp_path / 'state.db'}"),
        clock=lambda: datetime(2026, 8, 15, 8, tzinfo=UTC),
    )


def _meeting(crm: InMemoryConnector, parties: int, wait: float = 5) -> threading.Barrier:
    """Make each pull of ``crm`` wait (``wait`` seconds at most) for ``parties`` pulls in flight."""
    barrier = threading.Barrier(parties, timeout=wait)
    real = crm.pull

    def pull(obj, fields, filters, cursor):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            raise RetriableConnectorError("no other pull came", crm="crm") from None
        return real(obj, fields, filters, cursor)

    crm.pull = pull  # type: ignore[method-assign]
    return barrier


def test_objects_of_a_connector_taking_three_pulls_are_pulled_at_once(tmp_path: Path) -> None:
    """Three objects, three pulls at once: each waits for the others in flight, and all arrive."""
    crm = _crm(3)
    _meeting(crm, 3)
    report = _engine(tmp_path, crm).run("plan", AS_OF)
    assert report.pulled == 9
    assert {r.kr.key: r.value.value for r in report.key_results} == {
        "deals": 3.0,
        "calls": 3.0,
        "notes": 3.0,
    }


def test_a_connector_without_concurrent_pulls_is_pulled_in_turn(tmp_path: Path) -> None:
    """Without the attribute's say-so the objects go one after the other (a waiting pull is never joined)."""
    crm = _crm(1)
    barrier = _meeting(crm, 2, wait=0.5)
    report = _engine(tmp_path, crm).run("plan", AS_OF)
    assert barrier.broken  # the first pull waited alone
    assert report.pulled == 0
    assert "crm" in {r.kr.source for r in report.key_results if r.value.error}


@pytest.mark.parametrize("width", [1, 3])
def test_a_failed_object_ends_the_connectors_pulls(tmp_path: Path, width: int) -> None:
    """An object refused for good fails the connector's key results, at once or in turn alike."""
    crm = _crm(width)
    crm.fail_next = [FatalConnectorError("no access to calls", crm="crm"), None, None]
    report = _engine(tmp_path, crm).run("plan", AS_OF)
    assert report.outcome == "partial"
    errors = {r.kr.key: r.value.error for r in report.key_results}
    assert all(error and "no access to calls" in error for error in errors.values())
