"""The pull step: every planned object from its CRM into the replica, incrementally.

One cursor per (connector, object) says where the previous pull stopped; a
first pull starts afresh. When a mapping edit changes an object's fields or
row filter, the replica and its cursor stay: only what the edit adds is
pulled (the rows of added filter groups; every row of the filter again when a
field is added, whose value no row holds yet), then the object is pulled
incrementally as before. The
CRMs are pulled at once (one thread per connector, objects in turn); a
connector that fails ends its own pulls only, and its key results carry the
error. A stop request leaves the cursor where it was, so nothing is lost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import structlog
from sqlmodel import Session

from okrsync._parallel import run_each
from okrsync.connector import Cursor
from okrsync.errors import (
    ConnectorError,
    FatalConnectorError,
    MappingError,
    QuotaReserveReached,
    RetriableConnectorError,
)
from okrsync.plan import added_since, build_plan, check_fields, pulled_form, window_fields
from okrsync.state.models import CursorRow, SkippedRow

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from sqlalchemy.engine import Engine

    from okrsync.connector import Connector, FieldInfo, RowFilter
    from okrsync.model import MappingSet
    from okrsync.plan import ObjectPlan
    from okrsync.state.replica import Replica, ReplicaTable

__all__ = ["PullStep", "Pulled"]

log = structlog.get_logger("okrsync.engine")  # one logger for the events of a cycle


@dataclass
class Pulled:
    """What the pull step did (connectors pull at once, so counts go through :meth:`count`)."""

    run_id: str
    records: int = 0
    """Records pulled (created or changed)."""
    by_object: dict[str, int] = field(default_factory=dict)
    """Records and deletions pulled, by ``connector:object``."""
    skipped: int = 0
    """Records the connectors skipped (unreadable), each also stored with its reason."""
    failed: dict[str, str] = field(default_factory=dict)
    """Connectors whose pull failed, with the error (their key results carry it)."""
    unreachable: set[str] = field(default_factory=set)
    """Connectors that could not be reached (still failing after their retries)."""
    owner_fields: dict[tuple[str, str], str] = field(default_factory=dict)
    """The field holding records' owners, by (connector, object), where a metric needs it."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, connector: str, obj: str, pulled: int, deleted: int, skipped: int) -> None:
        """Add one object's pull."""
        with self._lock:
            self.records += pulled
            self.by_object[f"{connector}:{obj}"] = pulled + deleted
            self.skipped += skipped


class PullStep:
    """Pulls the objects the mappings need into the replica."""

    def __init__(
        self,
        *,
        mappings: MappingSet,
        connectors: Mapping[str, Connector],
        db: Engine,
        replica: Replica,
        clock: Callable[[], datetime],
        stop: threading.Event,
    ) -> None:
        self.mappings = mappings
        self.connectors = connectors
        self.db = db
        self.replica = replica
        self.clock = clock
        self.stop = stop

    def run(self, pulled: Pulled) -> bool:
        """Pull every planned object, the CRMs at once; ``False`` when asked to stop half-way.

        Raises:
            MappingError: a mapping names a field or object the CRM does not have.
            QuotaReserveReached: a connector reached its quota reserve.
        """
        failed_sources = pulled.failed
        plan = build_plan(self.mappings)
        types, problems = check_fields(plan, self.connectors, failed_sources, pulled.unreachable)
        if problems:
            raise MappingError(problems)
        pulled.owner_fields = {
            key: obj_plan.owner_field
            for key, obj_plan in plan.objects.items()
            if obj_plan.owner_field is not None
        }
        queues: dict[str, list[ObjectPlan]] = {}
        for obj_plan in sorted(plan.objects.values(), key=lambda p: (p.connector, p.obj)):
            if obj_plan.connector not in failed_sources:
                queues.setdefault(obj_plan.connector, []).append(obj_plan)
        run_each(
            [partial(self._pull_from, pulled, plans, types) for plans in queues.values()],
            name="okrsync-pull",
        )
        return not self.stop.is_set()

    def _pull_from(
        self,
        pulled: Pulled,
        plans: list[ObjectPlan],
        types: dict[tuple[str, str], dict[str, FieldInfo]],
    ) -> None:
        """Pull one connector's objects; a failure ends that connector's pulls.

        A connector whose ``concurrent_pulls`` is above one (its transport is
        shared safely between threads) has that many objects pulled at once, so
        their round trips overlap; no object starts after one failed.
        """
        connector = self.connectors[plans[0].connector]
        width = max(1, int(getattr(connector, "concurrent_pulls", 1) or 1))
        failed = threading.Event()

        def one(obj_plan: ObjectPlan) -> None:
            if self.stop.is_set() or failed.is_set():
                return
            try:
                self._pull(pulled, obj_plan, types[obj_plan.connector, obj_plan.obj])
            except QuotaReserveReached:
                failed.set()
                raise
            except ConnectorError as exc:
                failed.set()
                self._failed(pulled, obj_plan, exc)

        if width == 1:
            for obj_plan in plans:
                one(obj_plan)
            return
        run_each([partial(one, p) for p in plans], name="okrsync-pull-object", width=width)

    def _failed(self, pulled: Pulled, obj_plan: ObjectPlan, exc: ConnectorError) -> None:
        """Record a connector's failure (its key results carry it)."""
        pulled.failed[obj_plan.connector] = str(exc)
        if isinstance(exc, RetriableConnectorError):
            pulled.unreachable.add(obj_plan.connector)
        log.warning(
            "sync.pull.failed",
            run_id=pulled.run_id,
            connector=obj_plan.connector,
            object=obj_plan.obj,
            error=str(exc),
        )
        if isinstance(exc, FatalConnectorError):
            self._describe_again(obj_plan)

    def _describe_again(self, obj_plan: ObjectPlan) -> None:
        """After a fatal pull error, replace the cached describe (a field may have gone)."""
        try:
            self.connectors[obj_plan.connector].describe(obj_plan.obj, refresh=True)
        except (LookupError, ConnectorError) as exc:
            log.info("sync.describe.failed", connector=obj_plan.connector, error=str(exc))

    def _pull(self, pulled: Pulled, obj_plan: ObjectPlan, fields: dict[str, FieldInfo]) -> None:
        run_id = pulled.run_id
        connector = self.connectors[obj_plan.connector]
        dated = {name.lower() for name in window_fields(obj_plan)}
        indexed = [name for name in fields if name.lower() in dated]
        table = self.replica.ensure(obj_plan.connector, obj_plan.obj, fields, indexed)
        key = (obj_plan.connector, obj_plan.obj)
        with Session(self.db) as session:
            row = session.get(CursorRow, key)
        cursor = Cursor.from_dict(row.cursor) if row else Cursor()
        changed_run = row.changed_run if row else None
        records = deleted = 0
        skipped: list[tuple[str, str]] = []
        if row is not None and row.signature != obj_plan.signature and row.cursor and row.pulled:
            # a mapping edit: pull what it adds, keep the replica and its cursor
            added = self._added(pulled, obj_plan, table, sorted(fields), row)
            if added is None:
                return  # stopped half-way: the next run pulls the addition again
            records, skipped = added
            changed_run = run_id if records else changed_run
        elif row is None or row.signature != obj_plan.signature:
            self._mark_changed(obj_plan, row, run_id)
            changed_run = run_id
            self.replica.clear(obj_plan.connector, obj_plan.obj)
            cursor = Cursor()
        pull = connector.pull(obj_plan.obj, sorted(fields), obj_plan.filters, cursor)
        for page in pull:
            if (page.records or page.deleted or page.reset) and changed_run != run_id:
                self._mark_changed(obj_plan, row, run_id)
                changed_run = run_id
            with self.db.begin() as conn:
                if page.reset:  # the connector starts over (e.g. deletions it can no longer list)
                    table.clear(conn)
                records += table.upsert(conn, page.records)
                table.delete(conn, page.deleted)
            deleted += len(page.deleted)
            if self.stop.is_set():
                return  # the cursor is not advanced: the next run pulls these again
        skipped += pull.skipped
        pulled.count(obj_plan.connector, obj_plan.obj, records, deleted, len(skipped))
        with Session(self.db) as session:
            for record_id, reason in skipped:
                session.add(
                    SkippedRow(
                        run_id=run_id,
                        connector=obj_plan.connector,
                        object=obj_plan.obj,
                        record_id=record_id,
                        reason=reason,
                    )
                )
            session.merge(
                CursorRow(
                    connector=obj_plan.connector,
                    object=obj_plan.obj,
                    signature=obj_plan.signature,
                    cursor=pull.cursor.to_dict(),
                    updated_at=self.clock(),
                    changed_run=changed_run,
                    pulled=pulled_form(obj_plan.fields, obj_plan.filters),
                )
            )
            session.commit()
        log.info(
            "sync.pull.completed",
            connector=obj_plan.connector,
            object=obj_plan.obj,
            pulled=records,
            skipped=len(pull.skipped),
        )

    def _added(
        self,
        pulled: Pulled,
        obj_plan: ObjectPlan,
        table: ReplicaTable,
        fields: list[str],
        row: CursorRow,
    ) -> tuple[int, list[tuple[str, str]]] | None:
        """After a mapping edit, pull only the rows and fields the new plan adds.

        Returns the records pulled and skipped; ``None`` when asked to stop.
        """
        assert row.pulled is not None  # noqa: S101  (the caller checked)
        new_fields, rows = added_since(obj_plan, row.pulled)
        log.info(
            "sync.pull.plan_changed",
            run_id=pulled.run_id,
            connector=obj_plan.connector,
            object=obj_plan.obj,
            added_fields=new_fields,
            pulls=_what(new_fields, rows),
        )
        if rows is None:
            return 0, []
        self._mark_changed(obj_plan, row, pulled.run_id)
        pull = self.connectors[obj_plan.connector].pull(obj_plan.obj, fields, rows, Cursor())
        records = 0
        for page in pull:
            with self.db.begin() as conn:
                records += table.upsert(conn, page.records)
            if self.stop.is_set():
                return None
        return records, list(pull.skipped)

    def _mark_changed(self, obj_plan: ObjectPlan, row: CursorRow | None, run_id: str) -> None:
        """Record, before the replica rows change, that this run changes them.

        Evaluations depending on the object are not reused after this, even if
        the run dies before it saves the new cursor (see :func:`okrsync.compute.bases`).
        Without a cursor yet, the row carries no signature, so the next run
        starts the object afresh.
        """
        with Session(self.db) as session:
            session.merge(
                CursorRow(
                    connector=obj_plan.connector,
                    object=obj_plan.obj,
                    signature=row.signature if row else "",
                    cursor=row.cursor if row else {},
                    updated_at=self.clock(),
                    changed_run=run_id,
                    pulled=row.pulled if row else None,
                )
            )
            session.commit()


def _what(fields: list[str], rows: RowFilter | None) -> str:
    """What a pull after a mapping edit reads, for the log."""
    if rows is None:
        return "nothing"
    if fields:
        return "every row of the filter again (a field was added)"
    if not rows:
        return "every row (the filter now takes them all)"
    return f"the rows of {len(rows)} added filter group(s)"
