"""One sync cycle: the data-flow steps in order, and the run's record.

plan → pull (:mod:`okrsync.pull`) into the replica → compute
(:mod:`okrsync.compute`; per owner and personal key results:
:mod:`okrsync.contribution`) → score (:mod:`okrsync.score`) → diff
(:mod:`okrsync.diff`) → write back (:mod:`okrsync.writeback`) → check-in
(:mod:`okrsync.checkin`). The engine is built from its parts (mappings,
connectors, the state store, a clock) by the caller; it holds no global
state. ``run("plan")`` pulls and computes but writes nothing to the CRM;
``run("sync")`` writes changed records; ``run("check_in")`` also records a
check-in of every key result.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlmodel import Session, col, select

from okrsync.checkin import check_in, history
from okrsync.compute import compute_values
from okrsync.contribution import (
    by_owner,
    contribution_records,
    record_contributions,
    written_contributions,
)
from okrsync.diff import preview, wanted_records
from okrsync.errors import MappingError, QuotaReserveReached
from okrsync.pull import Pulled, PullStep
from okrsync.score import KeyResultResult, record_evaluations, score_all
from okrsync.state.models import RunRow
from okrsync.state.replica import Replica
from okrsync.writeback import WriteReport, write_back

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import Engine

    from okrsync.connector import Connector
    from okrsync.contribution import Breakdown
    from okrsync.diff import Wanted
    from okrsync.model import MappingSet
    from okrsync.scoring import ObjectiveScore

__all__ = ["CycleReport", "KeyResultResult", "RunKind", "SyncEngine"]

RunKind = Literal["plan", "sync", "check_in"]
log = structlog.get_logger("okrsync.engine")


@dataclass
class CycleReport:
    """What one run did."""

    run_id: str
    kind: RunKind
    as_of: date
    key_results: list[KeyResultResult] = field(default_factory=list)
    objectives: dict[str, ObjectiveScore] = field(default_factory=dict)
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    """Contributions of each key result broken down by owner, by full key."""
    writes: WriteReport = field(default_factory=WriteReport)
    api_calls: dict[str, int] = field(default_factory=dict)
    quota: dict[str, dict[str, int | None]] = field(default_factory=dict)
    pulled: int = 0
    pulled_by_object: dict[str, int] = field(default_factory=dict)
    """Records and deletions pulled, by ``connector:object``."""
    skipped: int = 0
    unreachable: set[str] = field(default_factory=set)
    """Connectors that could not be reached (still failing after their retries): not written."""
    checked_in: int = 0
    """Check-ins recorded (each replacing any earlier one of the same key result and day)."""
    backfill: bool = False
    """A check-in for a day before one already synced: only check-in records were written."""
    outcome: str = "running"
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    """Time spent per step: ``pull``, ``compute`` (evaluate and score), ``write``."""

    @property
    def synced_nothing(self) -> bool:
        """Whether the run brought nothing through from or to the CRMs.

        It failed or stopped before scoring, no key result got a value from its
        CRM, or every write it tried failed. Readiness and exit codes use this.
        """
        if self.outcome == "failed" or not (self.key_results or self.outcome == "succeeded"):
            return True
        if self.key_results and all(r.value.error for r in self.key_results):
            return True
        writes = self.writes
        return bool(writes.failed) and not (
            sum(writes.upserted.values()) or sum(writes.unchanged.values())
        )

    def as_json(self) -> dict[str, Any]:
        """The report as ``okrsync plan/sync --json`` prints it."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "as_of": self.as_of.isoformat(),
            "outcome": self.outcome,
            "key_results": [self._key_result_json(r) for r in self.key_results],
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
            "check_ins": self.checked_in,
            "backfill": self.backfill,
            "error": self.error,
        }

    def _key_result_json(self, result: KeyResultResult) -> dict[str, Any]:
        data = result.as_json()
        found = self.breakdowns.get(result.kr.full_key)
        data["breakdown"] = None if found is None else [c.as_json() for c in found.contributions]
        data["breakdown_error"] = None if found is None else found.error
        return data


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

    # -- the cycle ---------------------------------------------------------------

    def run(self, kind: RunKind = "sync", as_of: date | None = None) -> CycleReport:
        """Run one cycle; the report says what happened (it is also stored)."""
        now = self.clock()
        day = as_of or now.date()
        report = CycleReport(new_run_id(now), kind, day)
        bound = log.bind(workspace=self.workspace, run_id=report.run_id, kind=kind)
        pulled = Pulled(report.run_id)
        self._start_run(report, now)
        before = {name: c.usage().calls for name, c in self.connectors.items()}
        began = time.perf_counter()
        try:
            if not self._pull().run(pulled):
                report.outcome = "abandoned"
                return report
            pulled_at = time.perf_counter()
            report.seconds["pull"] = pulled_at - began
            report.unreachable = pulled.unreachable
            self._compute_and_score(report, day, pulled)
            computed_at = time.perf_counter()
            report.seconds["compute"] = computed_at - pulled_at
            if kind != "plan":
                self._write(report, now, day, checking_in=kind == "check_in")
            else:
                self._preview(report, now)
            report.seconds["write"] = time.perf_counter() - computed_at
            failed = any(r.value.error for r in report.key_results) or report.writes.failed
            report.outcome = "partial" if failed or pulled.failed else "succeeded"
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
            report.pulled, report.skipped = pulled.records, pulled.skipped
            report.pulled_by_object = dict(pulled.by_object)
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
                seconds={step: round(took, 3) for step, took in report.seconds.items()},
            )
        return report

    # -- the steps -----------------------------------------------------------------

    def _pull(self) -> PullStep:
        return PullStep(
            mappings=self.mappings,
            connectors=self.connectors,
            db=self.db,
            replica=self.replica,
            clock=self.clock,
            stop=self.stop,
        )

    def _compute_and_score(self, report: CycleReport, day: date, pulled: Pulled) -> None:
        krs = list(self.mappings.key_results())
        computed = compute_values(self.db, self.replica, krs, day)
        people = by_owner(
            self.db,
            self.replica,
            self.connectors,
            krs,
            computed=computed,
            day=day,
            owner_fields=pulled.owner_fields,
            failed=pulled.failed,
        )
        scored = score_all(
            people.key_results,
            self.mappings.objectives,
            people.values,
            failed_sources=pulled.failed,
            history=history(self.db, people.key_results, day),
            day=day,
        )
        report.key_results.extend(scored.key_results)
        report.objectives.update(scored.objectives)
        report.breakdowns = people.breakdowns(scored.key_results)
        bases = people.evaluation_bases(computed.bases)
        record_evaluations(self.db, report.run_id, day, report.key_results, bases)
        record_contributions(
            self.db, report.run_id, people.owners, report.breakdowns, computed.bases
        )

    def _wanted(self, report: CycleReport, now: datetime) -> Wanted:
        wanted = wanted_records(
            report.key_results, self.mappings.objectives, report.objectives, self.connectors, now
        )
        if report.breakdowns:
            written = written_contributions(self.db, self.connectors)
            for key, records in contribution_records(
                report.key_results, report.breakdowns, self.connectors, now, written
            ).items():
                wanted.setdefault(key, []).extend(records)
        return wanted

    def _preview(self, report: CycleReport, now: datetime) -> None:
        """Count what a sync would write, without writing or staging anything."""
        preview(self.db, self._wanted(report, now), report.writes)

    def _write(self, report: CycleReport, now: datetime, day: date, *, checking_in: bool) -> None:
        report.backfill = checking_in and self._synced_after(day)
        # a check-in for a day before one already synced (a backfill) adds its check-in
        # records only: the key results and objectives in the CRM keep the newer state
        wanted = {} if report.backfill else self._wanted(report, now)
        if checking_in:
            checked, report.checked_in = check_in(
                self.db, self.connectors, report.key_results, day, now
            )
            for key, records in checked.items():
                wanted.setdefault(key, []).extend(records)
        write_back(
            self.db,
            self.connectors,
            report.run_id,
            wanted,
            now=now,
            clock=self.clock,
            report=report.writes,
            unreachable=report.unreachable,
        )

    def _synced_after(self, day: date) -> bool:
        """Whether a sync or check-in run for a later as-of date has completed."""
        statement = select(RunRow.id).where(
            RunRow.workspace == self.workspace,
            col(RunRow.kind).in_(("sync", "check_in")),
            col(RunRow.as_of) > day,
            col(RunRow.outcome).in_(("succeeded", "partial")),
        )
        with Session(self.db) as session:
            return session.exec(statement.limit(1)).first() is not None

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
