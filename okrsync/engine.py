"""One sync cycle: plan, pull, compute, score, diff, write back, check in.

The engine is built from its parts (mappings, connectors, the state store, a
clock) by the caller; it holds no global state. ``run("plan")`` pulls and
computes but writes nothing to the CRM; ``run("sync")`` writes changed
records; ``run("check_in")`` also records a check-in of every key result.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlmodel import Session, col, select

from okrsync._parallel import run_each
from okrsync.compute import MetricValue, evaluate
from okrsync.connector import Cursor
from okrsync.crm_objects import CHECK_IN, KEY_RESULT, OBJECTIVE
from okrsync.errors import (
    ConnectorError,
    FatalConnectorError,
    MappingError,
    QuotaReserveReached,
    RetriableConnectorError,
)
from okrsync.model import KeyResultKind, OwnerKind
from okrsync.plan import build_plan, check_fields
from okrsync.scoring import (
    CheckInPoint,
    KeyResultScore,
    ObjectiveScore,
    Status,
    WeightedScore,
    score_key_result,
    score_objective,
)
from okrsync.state.models import (
    CheckInRow,
    CursorRow,
    EvaluationRow,
    RunRow,
    SkippedRow,
)
from okrsync.state.replica import Replica
from okrsync.writeback import WriteReport, digest, flush_outbox, prune_outbox, stage

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import Engine

    from okrsync.connector import Connector, FieldInfo
    from okrsync.model import KeyResult, MappingSet, Objective
    from okrsync.plan import ObjectPlan

__all__ = ["CycleReport", "KeyResultResult", "RunKind", "SyncEngine"]

RunKind = Literal["plan", "sync", "check_in"]
log = structlog.get_logger("okrsync.engine")


@dataclass
class KeyResultResult:
    """A key result after a run: its value, its score, or its error."""

    kr: KeyResult
    value: MetricValue
    score: KeyResultScore

    @property
    def status(self) -> str:
        """Scoring status, or ``error`` when the metric failed."""
        return "error" if self.value.error else self.score.status.value

    def as_json(self) -> dict[str, Any]:
        """The ``key_results`` entry of the JSON report."""
        return {
            "key": self.kr.full_key,
            "objective": f"{self.kr.cycle.name}/{self.kr.objective_key}",
            "source": self.kr.source,
            "metric": self.kr.metric.label,
            "value": self.value.value,
            "start": self.kr.start,
            "target": self.kr.target,
            "progress": self.score.progress,
            "score": self.score.score,
            "expected": self.score.expected,
            "forecast_score": self.score.forecast_score,
            "status": self.status,
            "error": self.value.error,
        }


@dataclass
class CycleReport:
    """What one run did."""

    run_id: str
    kind: RunKind
    as_of: date
    key_results: list[KeyResultResult] = field(default_factory=list)
    objectives: dict[str, ObjectiveScore] = field(default_factory=dict)
    writes: WriteReport = field(default_factory=WriteReport)
    api_calls: dict[str, int] = field(default_factory=dict)
    quota: dict[str, dict[str, int | None]] = field(default_factory=dict)
    pulled: int = 0
    pulled_by_object: dict[str, int] = field(default_factory=dict)
    """Records and deletions pulled, by ``connector:object``."""
    skipped: int = 0
    unreachable: set[str] = field(default_factory=set)
    """Connectors that could not be reached (still failing after their retries): not written."""
    outcome: str = "running"
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The report as ``okrsync plan/sync --json`` prints it."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "as_of": self.as_of.isoformat(),
            "outcome": self.outcome,
            "key_results": [r.as_json() for r in self.key_results],
            "objectives": [
                {
                    "key": key,
                    "score": score.score,
                    "forecast_score": score.forecast_score,
                    "status": score.status.value,
                }
                for key, score in self.objectives.items()
            ],
            "writes": self.writes.as_dict(),
            "api_calls": dict(sorted(self.api_calls.items())),
            "quota": dict(sorted(self.quota.items())),
            "pulled": self.pulled,
            "skipped": self.skipped,
            "unreachable": sorted(self.unreachable),
            "error": self.error,
        }


def new_run_id(now: datetime) -> str:
    """A run id that sorts by time: ``20261121T123000-1a2b3c``."""
    return now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


class SyncEngine:
    """Runs cycles for one workspace."""

    def __init__(
        self,
        *,
        workspace: str,
        mappings: MappingSet,
        connectors: Mapping[str, Connector],
        db: Engine,
        clock: Callable[[], datetime] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.workspace = workspace
        self.mappings = mappings
        self.connectors = dict(connectors)
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))
        self.stop = stop or threading.Event()
        self.replica = Replica(db)
        self._lock = threading.Lock()

    # -- the cycle ---------------------------------------------------------------

    def run(self, kind: RunKind = "sync", as_of: date | None = None) -> CycleReport:
        """Run one cycle; the report says what happened (it is also stored)."""
        now = self.clock()
        day = as_of or now.date()
        report = CycleReport(new_run_id(now), kind, day)
        bound = log.bind(workspace=self.workspace, run_id=report.run_id, kind=kind)
        failed_sources: dict[str, str] = {}
        self._start_run(report, now)
        before = {name: c.usage().calls for name, c in self.connectors.items()}
        try:
            if not self._pull_all(report, failed_sources):
                report.outcome = "abandoned"
                return report
            self._compute(report, day, failed_sources)
            if kind != "plan":
                self._write(report, now, day, checking_in=kind == "check_in")
            else:
                self._preview(report, now)
            failed = any(r.value.error for r in report.key_results) or report.writes.failed
            report.outcome = "partial" if failed or failed_sources else "succeeded"
        except QuotaReserveReached as exc:
            report.outcome, report.error = "stopped_quota", str(exc)
            bound.warning("sync.stopped_quota", error=str(exc))
        except MappingError as exc:
            report.outcome, report.error = "failed", str(exc)
            raise
        except Exception as exc:
            report.outcome, report.error = "failed", f"{type(exc).__name__}: {exc}"
            bound.exception("sync.failed")
            raise
        finally:
            usage = {name: c.usage() for name, c in self.connectors.items()}
            report.api_calls = {n: u.calls - before.get(n, 0) for n, u in usage.items()}
            report.quota = {
                n: {"remaining": u.remaining, "limit": u.limit} for n, u in usage.items()
            }
            self._finish_run(report)
            bound.info(
                "sync.completed",
                outcome=report.outcome,
                pulled=report.pulled,
                skipped=report.skipped,
                writes=report.writes.as_dict(),
                api_calls=report.api_calls,
            )
        return report

    # -- pull --------------------------------------------------------------------

    def _pull_all(self, report: CycleReport, failed_sources: dict[str, str]) -> bool:
        """Pull every planned object, the CRMs at once; ``False`` when asked to stop half-way."""
        plan = build_plan(self.mappings)
        types, problems = check_fields(plan, self.connectors, failed_sources, report.unreachable)
        if problems:
            raise MappingError(problems)
        queues: dict[str, list[ObjectPlan]] = {}
        for obj_plan in sorted(plan.objects.values(), key=lambda p: (p.connector, p.obj)):
            if obj_plan.connector not in failed_sources:
                queues.setdefault(obj_plan.connector, []).append(obj_plan)
        run_each(
            [
                partial(self._pull_from, report, plans, types, failed_sources)
                for plans in queues.values()
            ],
            name="okrsync-pull",
        )
        return not self.stop.is_set()

    def _pull_from(
        self,
        report: CycleReport,
        plans: list[ObjectPlan],
        types: dict[tuple[str, str], dict[str, FieldInfo]],
        failed_sources: dict[str, str],
    ) -> None:
        """Pull one connector's objects in turn; a failure ends that connector's pulls."""
        for obj_plan in plans:
            if self.stop.is_set():
                return
            try:
                self._pull(report, obj_plan, types[obj_plan.connector, obj_plan.obj])
            except QuotaReserveReached:
                raise
            except ConnectorError as exc:
                failed_sources[obj_plan.connector] = str(exc)
                if isinstance(exc, RetriableConnectorError):
                    report.unreachable.add(obj_plan.connector)
                log.warning(
                    "sync.pull.failed",
                    run_id=report.run_id,
                    connector=obj_plan.connector,
                    error=str(exc),
                )
                if isinstance(exc, FatalConnectorError):
                    self._describe_again(obj_plan)
                return

    def _describe_again(self, obj_plan: ObjectPlan) -> None:
        """After a fatal pull error, replace the cached describe (a field may have gone)."""
        try:
            self.connectors[obj_plan.connector].describe(obj_plan.obj, refresh=True)
        except (LookupError, ConnectorError) as exc:
            log.info("sync.describe.failed", connector=obj_plan.connector, error=str(exc))

    def _pull(
        self, report: CycleReport, obj_plan: ObjectPlan, fields: dict[str, FieldInfo]
    ) -> None:
        connector = self.connectors[obj_plan.connector]
        table = self.replica.ensure(obj_plan.connector, obj_plan.obj, fields)
        key = (obj_plan.connector, obj_plan.obj)
        with Session(self.db) as session:
            row = session.get(CursorRow, key)
        cursor = Cursor.from_dict(row.cursor) if row else Cursor()
        changed_run = row.changed_run if row else None
        if row is None or row.signature != obj_plan.signature:
            self._mark_changed(obj_plan, row, report.run_id)
            changed_run = report.run_id
            self.replica.clear(obj_plan.connector, obj_plan.obj)
            cursor = Cursor()
        pull = connector.pull(obj_plan.obj, sorted(fields), obj_plan.filters, cursor)
        pulled = deleted = 0
        for page in pull:
            if (page.records or page.deleted) and changed_run != report.run_id:
                self._mark_changed(obj_plan, row, report.run_id)
                changed_run = report.run_id
            with self.db.begin() as conn:
                pulled += table.upsert(conn, page.records)
                table.delete(conn, page.deleted)
            deleted += len(page.deleted)
            if self.stop.is_set():
                return  # the cursor is not advanced: the next run pulls these again
        with self._lock:
            report.pulled += pulled
            report.pulled_by_object[f"{obj_plan.connector}:{obj_plan.obj}"] = pulled + deleted
            report.skipped += len(pull.skipped)
        with Session(self.db) as session:
            for record_id, reason in pull.skipped:
                session.add(
                    SkippedRow(
                        run_id=report.run_id,
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
                )
            )
            session.commit()
        log.info(
            "sync.pull.completed",
            connector=obj_plan.connector,
            object=obj_plan.obj,
            pulled=pulled,
            skipped=len(pull.skipped),
        )

    def _mark_changed(self, obj_plan: ObjectPlan, row: CursorRow | None, run_id: str) -> None:
        """Record, before the replica rows change, that this run changes them.

        Evaluations depending on the object are not reused after this, even if
        the run dies before it saves the new cursor. Without a cursor yet, the
        row carries no signature, so the next run starts the object afresh.
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
                )
            )
            session.commit()

    # -- compute and score ------------------------------------------------------

    def _compute(self, report: CycleReport, day: date, failed_sources: dict[str, str]) -> None:
        krs = list(self.mappings.key_results())
        bases = self._bases(krs, day)
        values = self._reusable(bases)
        fresh = [kr for kr in krs if kr.full_key not in values]
        if fresh:
            values.update(evaluate(self.db, self.replica, fresh, day))
        log.info("sync.evaluated", computed=len(fresh), reused=len(krs) - len(fresh))
        history = self._check_ins(krs)
        by_objective: dict[str, list[WeightedScore]] = {}
        for kr in krs:
            value = values[kr.full_key]
            if kr.source in failed_sources:
                value = MetricValue(
                    None, f"pull from {kr.source} failed: {failed_sources[kr.source]}"
                )
            score = score_key_result(
                kr.cycle.dates,
                start=kr.start,
                target=kr.target,
                value=value.value,
                as_of=day,
                check_ins=history.get(kr.full_key, []),
                milestone=kr.kind is KeyResultKind.MILESTONE,
            )
            result = KeyResultResult(kr, value, score)
            report.key_results.append(result)
            if value.error is None:
                objective_key = f"{kr.cycle.name}/{kr.objective_key}"
                by_objective.setdefault(objective_key, []).append(WeightedScore(score, kr.weight))
        for objective in self.mappings.objectives:
            report.objectives[objective.full_key] = score_objective(
                objective.cycle.dates, by_objective.get(objective.full_key, []), day
            )
        with Session(self.db) as session:
            for result in report.key_results:
                session.add(
                    EvaluationRow(
                        run_id=report.run_id,
                        kr_key=result.kr.full_key,
                        as_of=day,
                        value=result.value.value,
                        progress=result.score.progress,
                        score=result.score.score,
                        expected=result.score.expected,
                        forecast_score=result.score.forecast_score,
                        status=result.status,
                        error=result.value.error,
                        # an error may be passing (a failed query, a failed pull): not reused
                        basis=None if result.value.error else bases[result.kr.full_key],
                    )
                )
            session.commit()

    def _bases(self, krs: list[KeyResult], day: date) -> dict[str, str]:
        """Per key result, a digest of everything its value depends on.

        The metric, the cycle, the as-of date, and which run last changed the
        replica of each object of the key result's connector (set before rows
        change, see :meth:`_mark_changed`).
        """
        changes: dict[str, list[tuple[str, str | None]]] = {}
        with Session(self.db) as session:
            for row in session.exec(select(CursorRow)):
                changes.setdefault(row.connector, []).append((row.object, row.changed_run))
        out: dict[str, str] = {}
        for kr in krs:
            parts = [
                day.isoformat(),
                kr.source,
                repr(kr.metric.expr),
                kr.cycle.name,
                kr.cycle.start.isoformat(),
                kr.cycle.end.isoformat(),
                sorted(changes.get(kr.source, []), key=lambda c: c[0]),
            ]
            text = json.dumps(parts, default=str, sort_keys=True)
            out[kr.full_key] = hashlib.sha256(text.encode()).hexdigest()
        return out

    def _reusable(self, bases: dict[str, str]) -> dict[str, MetricValue]:
        """Values computed before on the same basis (nothing they depend on changed since)."""
        wanted = sorted(set(bases.values()))
        found: dict[str, MetricValue] = {}
        with Session(self.db) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                statement = select(EvaluationRow.basis, EvaluationRow.value).where(
                    col(EvaluationRow.basis).in_(chunk)
                )
                for basis, value in session.exec(statement):
                    found[str(basis)] = MetricValue(value)
        return {key: found[basis] for key, basis in bases.items() if basis in found}

    def _check_ins(self, krs: list[KeyResult]) -> dict[str, list[CheckInPoint]]:
        keys = [kr.full_key for kr in krs]
        out: dict[str, list[CheckInPoint]] = {}
        with Session(self.db) as session:
            for row in session.exec(select(CheckInRow).where(col(CheckInRow.kr_key).in_(keys))):
                out.setdefault(row.kr_key, []).append(CheckInPoint(row.on, row.value))
        return out

    # -- records for the CRM ------------------------------------------------------

    def _wanted(
        self, report: CycleReport, now: datetime
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        wanted: dict[tuple[str, str], list[dict[str, Any]]] = {}
        destinations: dict[str, set[str]] = {}
        for result in report.key_results:
            kr = result.kr
            objective_key = f"{kr.cycle.name}/{kr.objective_key}"
            for connector in kr.destinations:
                if connector not in self.connectors:
                    continue
                destinations.setdefault(objective_key, set()).add(connector)
                wanted.setdefault((connector, KEY_RESULT.name), []).append(
                    _kr_record(result, objective_key, now)
                )
        for objective in self.mappings.objectives:
            score = report.objectives[objective.full_key]
            for connector in sorted(destinations.get(objective.full_key, ())):
                wanted.setdefault((connector, OBJECTIVE.name), []).append(
                    _objective_record(objective, score, now)
                )
        return wanted

    def _preview(self, report: CycleReport, now: datetime) -> None:
        """Count what a sync would write, without writing or staging anything."""
        from okrsync.state.models import WrittenRow  # noqa: PLC0415

        with Session(self.db) as session:
            written = {
                (row.connector, row.object, row.key): row.digest
                for row in session.exec(select(WrittenRow))
            }
        for (connector, obj), records in self._wanted(report, now).items():
            for record in records:
                if written.get((connector, obj, str(record["key"]))) == digest(record):
                    report.writes.add(report.writes.unchanged, connector)
                else:
                    report.writes.add(report.writes.upserted, connector)

    def _write(self, report: CycleReport, now: datetime, day: date, *, checking_in: bool) -> None:
        wanted = self._wanted(report, now)
        if checking_in:
            for key, records in self._check_in(report, day, now).items():
                wanted.setdefault(key, []).extend(records)
        stage(self.db, report.run_id, wanted, now, report.writes)
        flush_outbox(
            self.db,
            self.connectors,
            report.run_id,
            self.clock,
            report.writes,
            unreachable=report.unreachable,
        )
        prune_outbox(self.db)

    def _check_in(
        self, report: CycleReport, day: date, now: datetime
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Record today's check-in of every key result; return the CRM check-in records."""
        rep_fields = self._rep_fields(report)
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        with Session(self.db) as session:
            for result in report.key_results:
                kr = result.kr
                if not kr.cycle.start <= day <= kr.cycle.end:
                    continue
                confidence, comment = rep_fields.get(kr.full_key, (None, None))
                session.merge(
                    CheckInRow(
                        kr_key=kr.full_key,
                        on=day,
                        value=result.value.value,
                        progress=result.score.progress,
                        score=result.score.score,
                        forecast_score=result.score.forecast_score,
                        status=result.status,
                        confidence=confidence,
                        comment=comment,
                        recorded_at=now,
                    )
                )
                record = {
                    "key": f"{kr.full_key}/{day.isoformat()}",
                    "key_result": kr.full_key,
                    "check_in_date": day,
                    "current_value": result.value.value,
                    "progress": result.score.progress,
                    "score": result.score.score,
                    "forecast_score": result.score.forecast_score,
                    "status": result.status,
                    "confidence": confidence,
                    "comment": comment,
                }
                for connector in kr.destinations:
                    if connector in self.connectors:
                        out.setdefault((connector, CHECK_IN.name), []).append(record)
            session.commit()
        return out

    def _rep_fields(self, report: CycleReport) -> dict[str, tuple[float | None, str | None]]:
        """Confidence and comment reps entered on each key result, from its source CRM."""
        by_source: dict[str, list[str]] = {}
        for result in report.key_results:
            by_source.setdefault(result.kr.source, []).append(result.kr.full_key)
        found: dict[str, tuple[float | None, str | None]] = {}
        for source, keys in by_source.items():
            connector = self.connectors.get(source)
            if connector is None:
                continue
            try:
                records = connector.read_back(KEY_RESULT, keys)
            except ConnectorError as exc:
                log.warning("sync.check_in.read_back_failed", connector=source, error=str(exc))
                continue
            for key, record in records.items():
                confidence = record.get("confidence")
                found[key] = (
                    float(confidence) if isinstance(confidence, (int, float)) else None,
                    record.get("comment") or None,
                )
        return found

    # -- the run's record -----------------------------------------------------------

    def _start_run(self, report: CycleReport, now: datetime) -> None:
        with Session(self.db) as session:
            session.add(
                RunRow(
                    id=report.run_id,
                    workspace=self.workspace,
                    kind=report.kind,
                    as_of=report.as_of,
                    started_at=now,
                )
            )
            session.commit()

    def _finish_run(self, report: CycleReport) -> None:
        writes = report.writes
        with Session(self.db) as session:
            row = session.get(RunRow, report.run_id)
            if row is None:  # pragma: no cover
                return
            row.finished_at = self.clock()
            row.outcome = report.outcome
            row.pulled = report.pulled
            row.skipped = report.skipped
            row.written = sum(writes.upserted.values())
            row.unchanged = sum(writes.unchanged.values())
            row.failed = sum(writes.failed.values())
            row.api_calls = report.api_calls
            row.quota = report.quota
            row.error = report.error
            session.add(row)
            session.commit()


def _owner(owner: Any) -> tuple[str | None, str | None]:
    if owner is None:
        return None, None
    if owner.kind is OwnerKind.USER:
        return owner.name, owner.name
    return None, owner.name


def _kr_record(result: KeyResultResult, objective_key: str, now: datetime) -> dict[str, Any]:
    kr, score = result.kr, result.score
    email, owner_name = _owner(kr.owner)
    return {
        "key": kr.full_key,
        "title": kr.title,
        "objective": objective_key,
        "kind": kr.kind.value,
        "source": kr.source,
        "metric": kr.metric.label,
        "unit": kr.unit.value,
        "start_value": kr.start,
        "target_value": kr.target,
        "current_value": result.value.value,
        "progress": score.progress,
        "score": score.score,
        "expected": score.expected,
        "forecast_score": score.forecast_score,
        "status": result.status,
        "weight": kr.weight,
        "owner": email,
        "owner_name": owner_name,
        "last_synced_at": now,
        "sync_error": result.value.error,
    }


def _objective_record(objective: Objective, score: ObjectiveScore, now: datetime) -> dict[str, Any]:
    email, owner_name = _owner(objective.owner)
    status = score.status.value if score.status is not Status.NO_DATA else "no_data"
    return {
        "key": objective.full_key,
        "title": objective.title,
        "description": objective.description,
        "cycle": objective.cycle.name,
        "cycle_start": objective.cycle.start,
        "cycle_end": objective.cycle.end,
        "owner": email,
        "owner_name": owner_name,
        "aligns_to": objective.aligns_to,
        "score": score.score,
        "forecast_score": score.forecast_score,
        "status": status,
        "last_synced_at": now,
    }
