"""``okrsync run``: the daemon.

- Sync and check-in jobs on APScheduler 3.x (cron or interval from the
  configuration; coalesced, one instance at a time, misfire grace).
- One cycle at a time per workspace: a lock in the process and, on
  PostgreSQL, an advisory lock per workspace, so several replicas can serve
  the same configuration and another takes over when one dies.
- Mapping files hot-reloaded: a broken edit is logged with its location and
  the last good mappings stay in force.
- SIGTERM/SIGINT: the running cycle finishes its current step or stops
  safely (the outbox and cursors keep it consistent), then the process exits 0.
- HTTP: ``/healthz``, ``/readyz`` and Prometheus ``/metrics`` on waitress, a
  production WSGI server (:mod:`okrsync.http`: a bounded worker pool, idle
  connections closed), in threads named ``okrsync-http``. Ready means
  syncing: ``/readyz`` answers 503 after ``readiness.unready_after_cycles``
  consecutive cycles that synced nothing (failed, every key result in error,
  or every write refused), and 200 again after the next one that syncs.
- The read-only status page at ``/`` (:mod:`okrsync.report.web`, optionally behind auth).
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from okrsync.app import App, connect, load_mappings_for
from okrsync.errors import OkrsyncError
from okrsync.http import Response, Served, json_response, serve
from okrsync.mapping.loader import mapping_files
from okrsync.report.web import status_page

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from okrsync.config import Schedule
    from okrsync.engine import CycleReport, RunKind

__all__ = ["Daemon", "Metrics"]

log = structlog.get_logger("okrsync.daemon")


class Metrics:
    """The daemon's Prometheus metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter("okrsync_cycles", "Cycles run", ["kind", "outcome"], registry=r)
        self.duration = Histogram(
            "okrsync_cycle_duration_seconds",
            "Cycle wall time",
            ["kind"],
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.api_calls = Counter("okrsync_api_calls", "CRM API calls", ["connector"], registry=r)
        self.pulled = Counter("okrsync_records_pulled", "Records pulled", registry=r)
        self.skipped = Counter("okrsync_records_skipped", "Records skipped", registry=r)
        self.written = Counter(
            "okrsync_records_written", "Records written", ["connector"], registry=r
        )
        self.failed = Counter(
            "okrsync_records_failed", "Record writes failed", ["connector"], registry=r
        )
        self.key_results = Gauge(
            "okrsync_key_results", "Key results by status", ["status"], registry=r
        )
        self.quota = Gauge(
            "okrsync_crm_quota_remaining", "CRM API quota left", ["connector"], registry=r
        )
        self.last_cycle = Gauge(
            "okrsync_last_cycle_timestamp_seconds", "End of the last cycle", registry=r
        )
        self.reload_failures = Counter(
            "okrsync_mappings_reload_failures", "Rejected mapping edits", registry=r
        )
        self.skipped_locked = Counter(
            "okrsync_cycles_skipped_locked",
            "Ticks skipped: another replica held the workspace",
            registry=r,
        )
        self.synced_nothing = Gauge(
            "okrsync_cycles_synced_nothing",
            "Consecutive cycles that synced nothing (readiness counts these)",
            registry=r,
        )

    def observe(self, report: CycleReport, seconds: float) -> None:
        """Count one cycle's report."""
        self.cycles.labels(report.kind, report.outcome).inc()
        self.duration.labels(report.kind).observe(seconds)
        for name, calls in report.api_calls.items():
            self.api_calls.labels(name).inc(calls)
        self.pulled.inc(report.pulled)
        self.skipped.inc(report.skipped)
        for name, n in report.writes.upserted.items():
            self.written.labels(name).inc(n)
        for name, n in report.writes.failed.items():
            self.failed.labels(name).inc(n)
        counts: dict[str, int] = {}
        for result in report.key_results:
            counts[result.status] = counts.get(result.status, 0) + 1
        for status in (
            "done",
            "on_track",
            "at_risk",
            "off_track",
            "no_data",
            "not_started",
            "error",
        ):
            self.key_results.labels(status).set(counts.get(status, 0))
        for name, quota in report.quota.items():
            if quota.get("remaining") is not None:
                self.quota.labels(name).set(quota["remaining"] or 0)
        self.last_cycle.set(time.time())


class _WorkspaceLock:
    """One cycle per workspace: in this process, and across processes on PostgreSQL."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.local = threading.Lock()
        digest = hashlib.sha256(f"okrsync:{app.settings.workspace}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)

    def run(self, work: Any) -> bool:
        """Run ``work()`` holding the lock; ``False`` when someone else holds it."""
        if not self.local.acquire(blocking=False):
            return False
        try:
            if self.app.db.dialect.name != "postgresql":
                work()
                return True
            with self.app.db.connect() as conn:
                got = conn.execute(
                    sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
                ).scalar()
                if not got:
                    return False
                try:
                    work()
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                    conn.commit()
            return True
        finally:
            self.local.release()


def _trigger(schedule: Schedule) -> Any:
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone)
    return IntervalTrigger(seconds=schedule.interval, timezone=schedule.timezone)


class Daemon:
    """The long-running process: scheduler, reloader, HTTP endpoints."""

    def __init__(
        self, app: App, *, reload_seconds: float = 2.0, sync_at_start: bool = True
    ) -> None:
        self.app = app
        self.sync_at_start = sync_at_start
        self.stop = threading.Event()
        self.metrics = Metrics()
        self.lock = _WorkspaceLock(app)
        self.reload_seconds = reload_seconds
        self.synced_nothing = 0
        """Consecutive cycles that synced nothing; ``/readyz`` answers from it."""
        self.last_outcome: str | None = None
        self.last_synced: datetime | None = None
        """End of the last cycle that synced something."""
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._stamps = self._mapping_stamps()
        self.http: Served | None = None

    # -- jobs ------------------------------------------------------------------------

    def cycle(self, kind: RunKind = "sync") -> None:
        """One scheduled cycle (skipped when another one holds the workspace)."""
        if self.stop.is_set():
            return

        def work() -> None:
            started = time.monotonic()
            try:
                report = self.app.engine(self.stop).run(kind)
            except OkrsyncError as exc:
                self._count(synced=False, outcome="failed")
                self.metrics.cycles.labels(kind, "failed").inc()
                log.error("cycle.failed", kind=kind, error=str(exc))  # noqa: TRY400  (a user-facing error: no traceback)
                return
            except Exception:
                self._count(synced=False, outcome="failed")
                self.metrics.cycles.labels(kind, "failed").inc()
                log.exception("cycle.crashed", kind=kind)
                return
            self.metrics.observe(report, time.monotonic() - started)
            if report.outcome != "abandoned":  # stopped for shutdown: says nothing of the CRMs
                self._count(synced=not report.synced_nothing, outcome=report.outcome)

        if not self.lock.run(work):
            self.metrics.skipped_locked.inc()
            log.info("cycle.skipped", kind=kind, reason="workspace locked")

    def _count(self, *, synced: bool, outcome: str) -> None:
        """Count a cycle towards readiness: one that synced nothing extends the streak."""
        self.last_outcome = outcome
        if synced:
            self.synced_nothing = 0
            self.last_synced = datetime.now(UTC)
        else:
            self.synced_nothing += 1
            if self.synced_nothing == self.app.settings.readiness.unready_after_cycles:
                log.warning("daemon.unready", cycles_synced_nothing=self.synced_nothing)
        self.metrics.synced_nothing.set(self.synced_nothing)

    def _mapping_stamps(self) -> dict[str, float]:
        folder = self.app.settings.mappings
        if not folder.is_dir():
            return {}
        return {str(p): p.stat().st_mtime_ns for p in mapping_files(folder)}

    def reload_if_changed(self) -> bool:
        """Reload the mappings when a file changed; keep the last good ones on errors."""
        stamps = self._mapping_stamps()
        if stamps == self._stamps:
            return False
        self._stamps = stamps
        try:
            loaded = load_mappings_for(self.app.settings, self.app.registry)
            missing = loaded.sources() - set(self.app.connectors)
            if missing:
                self.app.connectors.update(
                    connect(
                        self.app.settings, self.app.registry, missing, self.app.clock, self.app.db
                    )
                )
        except OkrsyncError as exc:
            self.metrics.reload_failures.inc()
            problems = [str(p) for p in getattr(exc, "problems", ())] or [str(exc)]
            log.error("mappings.reload.failed", problems=problems)  # noqa: TRY400  (located problems, no traceback)
            return False
        self.app.mappings = loaded
        log.info(
            "mappings.reloaded",
            objectives=len(loaded.objectives),
            key_results=sum(1 for _ in loaded.key_results()),
        )
        return True

    def _watch(self) -> None:
        while not self.stop.wait(self.reload_seconds):
            try:
                self.reload_if_changed()
            except Exception:  # the watcher must survive anything
                log.exception("mappings.reload.crashed")

    # -- HTTP ------------------------------------------------------------------------

    def wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """``/healthz``, ``/readyz``, ``/metrics`` and the status page at ``/``."""
        path = environ.get("PATH_INFO") or "/"
        if path == "/healthz":
            response = json_response({"status": "ok"})
        elif path == "/readyz":
            response = self._ready()
        elif path == "/metrics":
            response = Response(
                generate_latest(self.metrics.registry), content_type=CONTENT_TYPE_LATEST
            )
        elif path == "/":
            return status_page(self.app, environ, start_response)
        else:
            response = json_response({"error": "not found"}, 404)
        return response(environ, start_response)

    def _ready(self) -> Response:
        try:
            with self.app.db.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return json_response(
                {"ready": False, "reason": f"store unreachable: {type(exc).__name__}"}, 503
            )
        state = {
            "cycles_synced_nothing": self.synced_nothing,
            "last_outcome": self.last_outcome,
            "last_synced_at": self.last_synced.isoformat() if self.last_synced else None,
        }
        if self.synced_nothing >= self.app.settings.readiness.unready_after_cycles:
            reason = f"{self.synced_nothing} cycles in a row synced nothing"
            return json_response({"ready": False, "reason": reason, **state}, 503)
        return json_response({"ready": True, **state})

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the HTTP endpoints, the reloader and the scheduler."""
        http = self.app.settings.http
        self.http = serve(self.wsgi, http.host, http.port)
        threading.Thread(target=self._watch, name="mappings-reloader", daemon=True).start()
        for kind, schedule in (
            ("sync", self.app.settings.schedules.sync),
            ("check_in", self.app.settings.schedules.check_in),
        ):
            now = kind == "sync" and self.sync_at_start
            first = {"next_run_time": datetime.now(UTC)} if now else {}
            self.scheduler.add_job(
                self.cycle,
                _trigger(schedule),
                args=[kind],
                id=kind,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=schedule.misfire_grace_seconds,
                **first,
            )
        self.scheduler.start()
        log.info(
            "daemon.started",
            workspace=self.app.settings.workspace,
            http=self.http.url,
            next_sync_at=self._next_run("sync"),
            next_check_in_at=self._next_run("check_in"),
        )

    def _next_run(self, job: str) -> str | None:
        """When the scheduler runs ``job`` next (ISO 8601, UTC)."""
        found = self.scheduler.get_job(job)
        when = getattr(found, "next_run_time", None)
        return when.astimezone(UTC).isoformat() if when is not None else None

    def shutdown(self) -> None:
        """Stop scheduling, let the running cycle stop safely, stop serving."""
        self.stop.set()
        self.scheduler.shutdown(wait=True)
        if self.http is not None:
            self.http.stop()
        self.app.close()
        log.info("daemon.stopped")
