"""``okrsync status``: what the state store says about recent runs, key results and quota."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text
from sqlmodel import Session, col, select

from okrsync.render import Column, fitted_table, key_result_table, print_breakdowns
from okrsync.state.db import open_store
from okrsync.state.models import ContributionRow, EvaluationRow, RunRow

if TYPE_CHECKING:
    from collections.abc import Mapping

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
            contributions = (
                session.exec(
                    select(ContributionRow)
                    .where(
                        ContributionRow.run_id == latest_run.id,
                        col(ContributionRow.contribution).is_(True),
                    )
                    .order_by(col(ContributionRow.id))
                ).all()
                if latest_run
                else []
            )
    finally:
        if db is None:
            engine.dispose()
    breakdowns: dict[str, list[dict[str, Any]]] = {}
    for part in contributions:
        breakdowns.setdefault(part.kr_key, []).append(
            {
                "owner": part.owner,
                "value": part.value,
                "share": part.share,
                "progress": part.progress,
                "rank": part.rank,
                "target": part.target,
            }
        )
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
                **({"breakdown": breakdowns[e.kr_key]} if e.kr_key in breakdowns else {}),
            }
            for e in sorted(evaluations, key=lambda e: e.kr_key)
        ],
        "quota": quota,
    }


RUN_COLUMNS = (
    Column("run"),
    Column("kind"),
    Column("as of"),
    Column("outcome"),
    Column("pulled", "right", needs=100),
    Column("writes"),
    Column("API calls", "right", needs=110),
)


def _run_writes(run: dict[str, Any]) -> str:
    if run["kind"] == "plan":  # a plan writes nothing: say what a sync would have written
        return f"would upsert {run['written'] or 0}"
    text = f"{run['written'] or 0} upserted"
    return text + (f", {run['failed']} failed" if run["failed"] else "")


def print_status(
    data: dict[str, Any], console: Console | None = None, units: Mapping[str, str] | None = None
) -> None:
    """The status for people; ``units`` (key result → unit) formats the values."""
    out = console or Console()
    rows = [
        [
            run["run_id"],
            run["kind"].replace("_", "-"),
            run["as_of"],
            run["outcome"] or "running",
            str(run["pulled"]),
            _run_writes(run),
            str(sum((run["api_calls"] or {}).values())),
        ]
        for run in data["runs"]
    ]
    out.print(fitted_table(out.width, RUN_COLUMNS, rows, title="Recent runs"))
    out.print(key_result_table(data["key_results"], units, width=out.width))
    print_breakdowns(data["key_results"], units, out)
    errors: dict[str, int] = {}
    for row in data["key_results"]:
        if row["error"]:
            errors[row["error"]] = errors.get(row["error"], 0) + 1
    for error, count in errors.items():
        out.print(Text(f"{count} key result{'s' * (count > 1)}: {error}", style="red"))
    for name, quota in sorted(data["quota"].items()):
        left, limit = quota.get("remaining"), quota.get("limit")
        if left is None or limit is None:
            continue
        out.print(f"{name}: {left:,} of {limit:,} API calls left today", highlight=False)
