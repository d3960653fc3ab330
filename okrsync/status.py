"""``okrsync status``: what the state store says about recent runs, key results and quota."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from okrsync.render import STATUS_STYLE, bar
from okrsync.state.db import open_store
from okrsync.state.models import EvaluationRow, RunRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from okrsync.config import Settings

__all__ = ["print_status", "read_status"]


def read_status(settings: Settings, runs: int = 10, db: Engine | None = None) -> dict[str, Any]:
    """Recent runs, the latest evaluation of each key result, and quota (JSON-ready).

    Reads the store ``db`` when given (left open), else opens the configured one.
    """
    engine = db or open_store(settings.store_url.get_secret_value())
    try:
        with Session(engine) as session:
            recent = session.exec(
                select(RunRow)
                .where(RunRow.workspace == settings.workspace)
                .order_by(col(RunRow.started_at).desc())
                .limit(runs)
            ).all()
            latest_run = next((r for r in recent if r.kind != "plan"), None)
            evaluations = (
                session.exec(
                    select(EvaluationRow).where(EvaluationRow.run_id == latest_run.id)
                ).all()
                if latest_run
                else []
            )
    finally:
        if db is None:
            engine.dispose()
    quota: dict[str, Any] = {}
    for run in reversed(recent):
        quota.update(run.quota or {})
    return {
        "workspace": settings.workspace,
        "store": settings.store_url_masked,
        "runs": [
            {
                "run_id": r.id,
                "kind": r.kind,
                "as_of": r.as_of.isoformat(),
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "outcome": r.outcome,
                "pulled": r.pulled,
                "skipped": r.skipped,
                "written": r.written,
                "unchanged": r.unchanged,
                "failed": r.failed,
                "api_calls": r.api_calls,
                "error": r.error,
            }
            for r in recent
        ],
        "key_results": [
            {
                "key": e.kr_key,
                "value": e.value,
                "progress": e.progress,
                "score": e.score,
                "expected": e.expected,
                "forecast_score": e.forecast_score,
                "status": e.status,
                "error": e.error,
            }
            for e in sorted(evaluations, key=lambda e: e.kr_key)
        ],
        "quota": quota,
    }


def print_status(data: dict[str, Any], console: Console | None = None) -> None:
    """The status for people."""
    out = console or Console()
    runs = Table(
        "run",
        "kind",
        "as of",
        "outcome",
        "pulled",
        "written",
        "failed",
        "API calls",
        header_style="bold",
    )
    for run in data["runs"]:
        calls = ", ".join(f"{k} {v}" for k, v in (run["api_calls"] or {}).items())
        runs.add_row(
            run["run_id"],
            run["kind"],
            run["as_of"],
            run["outcome"],
            str(run["pulled"]),
            str(run["written"]),
            str(run["failed"]),
            calls,
        )
    out.print(runs)
    krs = Table(
        "key result", "value", "progress", "score", "forecast", "status", header_style="bold"
    )
    for row in data["key_results"]:
        status = row["status"]
        krs.add_row(
            row["key"],
            "—" if row["value"] is None else f"{row['value']:g}",
            bar(row["progress"]),
            "—" if row["score"] is None else f"{row['score']:.2f}",
            "—" if row["forecast_score"] is None else f"{row['forecast_score']:.2f}",
            status.replace("_", " "),
            style=STATUS_STYLE.get(status, ""),
        )
    out.print(krs)
    for name, quota in sorted(data["quota"].items()):
        left, limit = quota.get("remaining", "?"), quota.get("limit", "?")
        out.print(f"{name}: {left} of {limit} API calls left today")
