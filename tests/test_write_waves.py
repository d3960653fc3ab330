"""The write-back sends what can go at once at once, and what points at something new after it.

A key result points at its objective, a check-in and a contribution at their
key result. When everything pointed at is in the CRM already (an update of a
record written before), the objects' writes go at once, up to the connector's
``concurrent_writes``; an object with a record the CRM does not have yet is
sent before the objects after it. Nothing is lost when the CRM goes away
while several writes are in flight.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select

from okrsync.crm_objects import OKR_OBJECTS
from okrsync.errors import RetriableConnectorError
from okrsync.state.db import open_store
from okrsync.state.models import OutboxRow, WrittenRow
from okrsync.testing import InMemoryConnector
from okrsync.writeback import WriteReport, flush_outbox, stage, waves

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from okrsync.connector import LogicalObject, UpsertOutcome

NOW = datetime(2026, 9, 14, 12, tzinfo=UTC)
ORDER = [obj.name for obj in OKR_OBJECTS]


class _Timed(InMemoryConnector):
    """Records when each write starts and ends; each takes a little while."""

    def __init__(self, *args: Any, width: int = 4, down: set[str] = frozenset(), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.concurrent_writes = width
        self.down = down
        self.spans: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        began = time.perf_counter()
        time.sleep(0.2)
        try:
            if obj.name in self.down:
                raise RetriableConnectorError("the CRM is unavailable", crm=self.name)
            with self._lock:
                return super().write(obj, records)
        finally:
            self.spans[obj.name] = (began, time.perf_counter())

    def overlap(self, first: str, second: str) -> bool:
        a, b = self.spans[first], self.spans[second]
        return a[0] < b[1] and b[0] < a[1]


def _wanted(version: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """An objective, its key result, a check-in and a contribution (``version`` changes them)."""
    return {
        ("crm", "objective"): [{"key": "Q3/grow", "title": f"Grow {version}"}],
        ("crm", "key_result"): [{"key": "Q3/grow/won", "objective": "Q3/grow", "score": version}],
        ("crm", "check_in"): [{"key": f"Q3/grow/won/{version}", "key_result": "Q3/grow/won"}],
        ("crm", "contribution"): [
            {"key": "Q3/grow/won/ann@example.com", "key_result": "Q3/grow/won", "value": version}
        ],
    }


def _store(tmp_path: Path) -> Engine:
    return open_store(f"sqlite:///{tmp_path / 'state.db'}")


def _send(db: Engine, crm: _Timed, version: int) -> WriteReport:
    report = WriteReport()
    stage(db, f"run-{version}", _wanted(version), NOW, report)
    flush_outbox(db, {"crm": crm}, f"run-{version}", lambda: NOW, report)
    return report


def test_the_first_write_sends_every_object_after_the_one_it_points_at(tmp_path: Path) -> None:
    """Everything is new: objectives, then key results, then what points at key results."""
    db, crm = _store(tmp_path), _Timed("crm")
    stage(db, "run-1", _wanted(1), NOW, WriteReport())
    assert waves(db, "crm", ORDER) == [[name] for name in ORDER]
    report = WriteReport()
    flush_outbox(db, {"crm": crm}, "run-1", lambda: NOW, report)
    assert report.upserted == {"crm": 4}
    starts = sorted(crm.spans, key=lambda name: crm.spans[name][0])
    assert starts == ORDER
    assert not crm.overlap("objective", "key_result")
    assert not crm.overlap("key_result", "check_in")


def test_updates_of_records_the_crm_has_go_at_once(tmp_path: Path) -> None:
    """The next day: objective, key result and contribution change, a check-in is new."""
    db, crm = _store(tmp_path), _Timed("crm")
    _send(db, crm, 1)
    crm.spans.clear()
    stage(db, "run-2", _wanted(2), NOW, WriteReport())
    # only the check-in is a creation: the objects after it wait for it
    assert waves(db, "crm", ORDER) == [
        ["objective", "key_result", "check_in"],
        ["contribution"],
    ]
    report = WriteReport()
    flush_outbox(db, {"crm": crm}, "run-2", lambda: NOW, report)
    assert report.upserted == {"crm": 4}
    assert crm.overlap("objective", "key_result")
    assert crm.overlap("key_result", "check_in")
    assert not crm.overlap("check_in", "contribution")
    assert crm.okr["key_result"]["Q3/grow/won"]["score"] == 2
    with Session(db) as session:
        assert not session.exec(select(OutboxRow).where(OutboxRow.state == "pending")).all()
        written = session.exec(select(WrittenRow)).all()
    assert {(row.object, row.key) for row in written} >= {
        ("check_in", "Q3/grow/won/1"),
        ("check_in", "Q3/grow/won/2"),
    }


def test_one_at_a_time_when_the_connector_says_so(tmp_path: Path) -> None:
    """``concurrent_writes: 1`` keeps every object in turn, updates too."""
    db, crm = _store(tmp_path), _Timed("crm", width=1)
    _send(db, crm, 1)
    crm.spans.clear()
    _send(db, crm, 2)
    assert not crm.overlap("objective", "key_result")
    assert not crm.overlap("key_result", "check_in")


@pytest.mark.parametrize("down", ["objective", "key_result"])
def test_a_crm_gone_while_writes_are_in_flight_loses_nothing(tmp_path: Path, down: str) -> None:
    """One object finds the CRM unavailable: what is not confirmed stays pending, counted once."""
    db, crm = _store(tmp_path), _Timed("crm")
    _send(db, crm, 1)
    crm.down = {down}
    report = _send(db, crm, 2)
    failed = report.failed.get("crm", 0)
    upserted = report.upserted.get("crm", 0)
    assert failed + upserted == 4  # every write counted, none twice
    assert "contribution" not in crm.spans or crm.spans["contribution"][0] < crm.spans[down][1]
    with Session(db) as session:
        pending = session.exec(select(OutboxRow).where(OutboxRow.state == "pending")).all()
    assert len(pending) == failed
    assert down in {row.object for row in pending}
    assert "contribution" in {row.object for row in pending}  # its wave never started
    crm.down = set()
    again = WriteReport()
    flush_outbox(db, {"crm": crm}, "run-3", lambda: NOW, again)
    assert again.upserted == {"crm": failed}
    assert crm.okr[down][next(iter(crm.okr[down]))] is not None
    assert crm.okr["contribution"]["Q3/grow/won/ann@example.com"]["value"] == 2
