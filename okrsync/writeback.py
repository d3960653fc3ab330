"""Write-back: okrsync's records for the CRM, sent only when changed, never lost.

The records wanted after a run are compared with what was last written (a
digest per record, :mod:`okrsync.diff`); only changed ones are sent. Before sending, each is put
in the outbox in the same transaction that decides it; a confirmed write
leaves the outbox and updates what was written. A crash between the two
leaves the write pending, and the next run sends it first. Every write is an
upsert by external id, so sending again never duplicates a record.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, exists, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from okrsync._parallel import run_each
from okrsync.connector import UpsertStatus
from okrsync.crm_objects import OKR_OBJECTS
from okrsync.diff import diff, digest
from okrsync.errors import ConnectorError, RetriableConnectorError
from okrsync.state.models import OutboxRow, WrittenRow

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from sqlalchemy.engine import Engine

    from okrsync.connector import Connector, LogicalObject

__all__ = ["WriteReport", "digest", "flush_outbox", "prune_outbox", "stage", "write_back"]


@dataclass
class WriteReport:
    """Outcome counts of one write-back, per connector."""

    upserted: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, bucket: dict[str, int], connector: str, n: int = 1) -> None:
        """Count ``n`` records of ``connector`` in ``bucket`` (connectors write at once)."""
        with self._lock:
            bucket[connector] = bucket.get(connector, 0) + n

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Per connector: upserted, unchanged, failed."""
        names = set(self.upserted) | set(self.unchanged) | set(self.failed)
        return {
            n: {
                "upserted": self.upserted.get(n, 0),
                "unchanged": self.unchanged.get(n, 0),
                "failed": self.failed.get(n, 0),
            }
            for n in sorted(names)
        }


def _encode(record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, datetime):
            out[key] = {"$datetime": value.astimezone(UTC).isoformat()}
        elif isinstance(value, date):
            out[key] = {"$date": value.isoformat()}
        else:
            out[key] = value
    return out


def _decode(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dict) and "$datetime" in value:
            out[key] = datetime.fromisoformat(value["$datetime"])
        elif isinstance(value, dict) and "$date" in value:
            out[key] = date.fromisoformat(value["$date"])
        else:
            out[key] = value
    return out


def stage(
    engine: Engine,
    run_id: str,
    wanted: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    now: datetime,
    report: WriteReport,
) -> int:
    """Put every changed record in the outbox; count the unchanged. Return how many are staged.

    ``wanted`` maps (connector, logical object) to the records it should hold.
    Pending writes of earlier runs for the same records are replaced by the
    new ones; pending writes for records no longer wanted stay and are sent.
    """
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    superseded: list[int] = []
    with Session(engine) as session:
        pending: dict[tuple[str, str], dict[str, int]] = {}
        for change in diff(session, wanted):
            connector, obj, key = change.connector, change.obj, change.key
            if (connector, obj) not in pending:
                pending[connector, obj] = {
                    str(found_key): int(row_id or 0)
                    for row_id, found_key in session.exec(
                        select(OutboxRow.id, OutboxRow.key).where(
                            OutboxRow.connector == connector,
                            OutboxRow.object == obj,
                            OutboxRow.state == "pending",
                        )
                    )
                }
            waiting = pending[connector, obj]
            if not change.changed:
                report.add(report.unchanged, connector)
                if key in waiting:
                    superseded.append(waiting[key])
                continue
            fields = {
                "payload": _encode(change.record),
                "digest": change.digest,
                "run_id": run_id,
                "updated_at": now,
            }
            if key in waiting:
                updates.append({"row_id": waiting[key], **fields})
            else:
                inserts.append(
                    {"connector": connector, "object": obj, "key": key, "created_at": now}
                    | fields
                    | {"state": "pending", "attempts": 0}
                )
        # one statement per kind of change (a multi-row insert, batched updates), one commit
        conn = session.connection()
        if superseded:
            for start in range(0, len(superseded), 500):
                conn.execute(
                    update(table)
                    .where(table.c.id.in_(superseded[start : start + 500]))
                    .values(state="superseded")
                )
        if updates:
            # the other keys of each row are what is set (executemany)
            conn.execute(update(table).where(table.c.id == bindparam("row_id")), updates)
        if inserts:
            conn.execute(insert(table), inserts)
        session.commit()
    return len(inserts) + len(updates)


def write_back(
    engine: Engine,
    connectors: Mapping[str, Connector],
    run_id: str,
    wanted: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    *,
    now: datetime,
    clock: Callable[[], datetime],
    report: WriteReport,
    unreachable: Collection[str] = (),
) -> None:
    """Stage the changed records (as of the run's ``now``), send every pending write, prune.

    Connectors in ``unreachable`` are not sent to (see :func:`flush_outbox`).
    """
    stage(engine, run_id, wanted, now, report)
    flush_outbox(engine, connectors, run_id, clock, report, unreachable=unreachable)
    prune_outbox(engine)


OUTBOX_BATCH = 1000
"""Writes handed to a connector at once: a multiple of both CRMs' batch sizes (Salesforce
200, HubSpot 100), so they split into full CRM batches (500 made 200 + 200 + 100 in
Salesforce: one call more per 500 records than the floor)."""


def flush_outbox(
    engine: Engine,
    connectors: Mapping[str, Connector],
    run_id: str,
    clock: Callable[[], datetime],
    report: WriteReport,
    *,
    batch: int = OUTBOX_BATCH,
    unreachable: Collection[str] = (),
) -> None:
    """Send every pending write, each record after any new record it points at (see :func:`waves`).

    Each confirmed record leaves the outbox and is recorded as written, batch by
    batch, so a crash loses at most the confirmation of one batch (which the
    next run sends again, harmlessly). Nothing is sent to the connectors in
    ``unreachable`` (this run could not reach them), nor to a connector after
    one of its writes failed for the CRM being unavailable: their writes are
    counted as failed and stay pending for the next run, instead of each
    waiting out the connector's retries again.
    """
    order: dict[str, int] = {obj.name: i for i, obj in enumerate(OKR_OBJECTS)}
    with Session(engine) as session:
        groups = session.exec(
            select(OutboxRow.connector, OutboxRow.object)
            .where(OutboxRow.state == "pending")
            .distinct()
        ).all()
    queues: dict[str, list[str]] = {}
    for connector_name, obj_name in sorted(groups, key=lambda g: (g[0], order.get(g[1], 9))):
        if connector_name in connectors:  # else no longer configured: leave its writes pending
            queues.setdefault(connector_name, []).append(obj_name)
    for name in sorted(set(queues) & set(unreachable)):
        _keep_pending(engine, name, queues.pop(name), report, f"{name} could not be reached")
    run_each(
        [
            partial(
                _flush_connector, engine, connectors[name], name, objs, run_id, clock, report, batch
            )
            for name, objs in queues.items()
        ],
        name="okrsync-write",
    )


def _flush_connector(  # noqa: PLR0917  (one connector's share of flush_outbox)
    engine: Engine,
    connector: Connector,
    connector_name: str,
    obj_names: list[str],
    run_id: str,
    clock: Callable[[], datetime],
    report: WriteReport,
    batch: int,
) -> None:
    """Send one connector's pending writes, object by object or, where nothing waits, at once.

    An object's records may point at records of the objects before it (a key
    result at its objective, a check-in at its key result). Only a record the
    CRM does not have yet must be sent before what points at it, so the
    objects after one with such creations wait for it (see :func:`waves`); the
    rest go at once, up to the connector's ``concurrent_writes``.
    """
    width = max(1, int(getattr(connector, "concurrent_writes", 1) or 1))
    steps = waves(engine, connector_name, obj_names)  # one at a time still, when width is 1
    for number, wave in enumerate(steps):
        stopped: list[str] = []
        run_each(
            [
                partial(
                    _flush_object,
                    engine,
                    connector,
                    (connector_name, obj_name),
                    run_id,
                    clock,
                    report,
                    batch,
                    stopped,
                )
                for obj_name in wave
            ],
            name="okrsync-write-object",
            width=width,
        )
        if stopped:
            # still unavailable after the connector's retries: send no more
            later = [obj_name for step in steps[number + 1 :] for obj_name in step]
            if later:
                _keep_pending(
                    engine, connector_name, later, report, f"{connector_name} is unavailable"
                )
            return


def waves(engine: Engine, connector_name: str, obj_names: Sequence[str]) -> list[list[str]]:
    """``obj_names`` (in sending order) in groups that may be sent at once.

    A group ends after an object with a pending write of a record never
    written before (a creation): what comes after may point at it. Updates
    of records the CRM has already point at nothing new.
    """
    outbox = OutboxRow.__table__  # type: ignore[attr-defined]
    written = WrittenRow.__table__  # type: ignore[attr-defined]
    statement = (
        select(outbox.c.object)
        .where(
            outbox.c.connector == connector_name,
            outbox.c.state == "pending",
            ~exists().where(
                written.c.connector == outbox.c.connector,
                written.c.object == outbox.c.object,
                written.c.key == outbox.c.key,
            ),
        )
        .distinct()
    )
    with Session(engine) as session:
        creating = {str(name) for (name,) in session.connection().execute(statement)}
    out: list[list[str]] = [[]]
    for obj_name in obj_names:
        out[-1].append(obj_name)
        if obj_name in creating:
            out.append([])
    return [wave for wave in out if wave]


def _flush_object(  # noqa: PLR0917  (one object's share of _flush_connector)
    engine: Engine,
    connector: Connector,
    where: tuple[str, str],
    run_id: str,
    clock: Callable[[], datetime],
    report: WriteReport,
    batch: int,
    stopped: list[str],
) -> None:
    """Send one object's pending writes a batch at a time; ``stopped`` notes an unavailable CRM."""
    connector_name, obj_name = where
    objects: dict[str, LogicalObject] = {obj.name: obj for obj in OKR_OBJECTS}
    while True:
        if stopped:  # another object found the CRM unavailable: leave these pending too
            _keep_pending(
                engine, connector_name, [obj_name], report, f"{connector_name} is unavailable"
            )
            return
        with Session(engine) as session:
            rows = session.exec(
                select(OutboxRow)
                .where(
                    OutboxRow.connector == connector_name,
                    OutboxRow.object == obj_name,
                    OutboxRow.state == "pending",
                )
                .order_by(col(OutboxRow.id))
                .limit(batch)
            ).all()
            if not rows:
                return
            records = [_decode(row.payload) for row in rows]
            try:
                outcomes = connector.write(objects[obj_name], records)
            except ConnectorError as exc:
                # the CRM is unavailable: keep the writes pending for the next run
                now = clock()
                for row in rows:
                    row.attempts += 1
                    row.updated_at = now
                    row.last_error = str(exc)[:2000]
                    session.add(row)
                session.commit()
                report.add(report.failed, connector_name, len(rows))
                report.errors.append(f"{connector_name} {obj_name}: {exc}")
                if isinstance(exc, RetriableConnectorError):
                    # still unavailable after the connector's retries: try no more
                    stopped.append(obj_name)
                    _keep_pending(
                        engine,
                        connector_name,
                        [obj_name],
                        report,
                        f"{connector_name} is unavailable",
                        counted=[row.id for row in rows],
                    )
                return
            now = clock()
            written: list[dict[str, Any]] = []
            for row, outcome in zip(rows, outcomes, strict=True):
                row.attempts += 1
                row.updated_at = now
                if outcome.status is UpsertStatus.FAILED:
                    row.state = "failed"
                    row.last_error = f"{outcome.code}: {outcome.message}"[:2000]
                    report.add(report.failed, connector_name)
                    report.errors.append(f"{connector_name} {obj_name} {row.key}: {row.last_error}")
                else:
                    row.state = "done"
                    report.add(report.upserted, connector_name)
                    written.append(
                        {
                            "connector": connector_name,
                            "object": obj_name,
                            "key": row.key,
                            "digest": row.digest,
                            "crm_id": outcome.id,
                            "written_at": now,
                            "run_id": run_id,
                        }
                    )
                session.add(row)
            _remember_written(session, written)
            session.commit()


def _remember_written(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert what was written, in one statement (a batch, not a query per record)."""
    if not rows:
        return
    conn = session.connection()
    table = WrittenRow.__table__  # type: ignore[attr-defined]
    upsert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    kept = ("digest", "crm_id", "written_at", "run_id")
    statement = upsert.on_conflict_do_update(
        index_elements=["connector", "object", "key"],
        set_={name: upsert.excluded[name] for name in kept},
    )
    conn.execute(statement, rows)


def _keep_pending(
    engine: Engine,
    connector_name: str,
    obj_names: Sequence[str],
    report: WriteReport,
    why: str,
    *,
    counted: Collection[int | None] = (),
) -> None:
    """Count the pending writes of ``obj_names`` as failed, leaving them for the next run.

    Rows whose ids are in ``counted`` were counted already.
    """
    with Session(engine) as session:
        ids = session.exec(
            select(OutboxRow.id).where(
                OutboxRow.connector == connector_name,
                col(OutboxRow.object).in_(obj_names),
                OutboxRow.state == "pending",
            )
        ).all()
    left = len(set(ids) - set(counted))
    if left:
        report.add(report.failed, connector_name, left)
        report.errors.append(
            f"{connector_name}: {left} writes not sent ({why}); they stay pending for the next run"
        )


def prune_outbox(engine: Engine, keep_runs: int = 50) -> None:
    """Delete finished outbox rows of old runs (the history lives in runs and written)."""
    with Session(engine) as session:
        runs = session.exec(
            select(OutboxRow.run_id).distinct().order_by(col(OutboxRow.run_id).desc())
        ).all()
        old = list(runs[keep_runs:])
        if old:
            table = OutboxRow.__table__  # type: ignore[attr-defined]
            for start in range(0, len(old), 500):
                session.connection().execute(
                    delete(table).where(
                        table.c.run_id.in_(old[start : start + 500]), table.c.state != "pending"
                    )
                )
            session.commit()
