"""Readable output of runs and status: rich tables with progress bars and status colours."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from okrsync.scoring import AT_RISK_AT, ON_TRACK_AT

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["STATUS_STYLE", "bar", "key_result_table", "print_report"]

STATUS_STYLE = {
    "done": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
    "not_started": "dim",
    "error": "bold red",
}


def bar(progress: float | None, width: int = 12) -> Text:
    """A progress bar like ``███████░░░░░ 58%``."""
    if progress is None:
        return Text("—", style="dim")
    filled = round(progress * width)
    colour = "green" if progress >= ON_TRACK_AT else "yellow" if progress >= AT_RISK_AT else "red"
    return (
        Text("█" * filled, style=colour)
        + Text("░" * (width - filled), style="dim")
        + Text(f" {progress * 100:3.0f}%")
    )


def _number(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit in {"hours", "days"}:
        return f"{value:.1f} {unit[0]}"
    if abs(value) >= 1000:  # noqa: PLR2004
        return f"{value:,.0f}"
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def key_result_table(rows: Iterable[dict[str, Any]], units: dict[str, str] | None = None) -> Table:
    """The key results of a report (dicts as in the JSON report)."""
    table = Table(show_lines=False, header_style="bold")
    for name in (
        "key result",
        "source",
        "metric",
        "value",
        "start → target",
        "progress",
        "score",
        "forecast",
        "status",
    ):
        table.add_column(name, overflow="fold")
    for row in rows:
        unit = (units or {}).get(row["key"])
        status = row["status"]
        table.add_row(
            row["key"],
            row["source"],
            row["metric"],
            _number(row["value"], unit),
            f"{_number(row['start'], unit)} → {_number(row['target'], unit)}",
            bar(row["progress"]),
            _number(row["score"]),
            _number(row["forecast_score"]),
            Text(status.replace("_", " "), style=STATUS_STYLE.get(status, "")),
        )
    return table


def print_report(
    report: dict[str, Any], units: dict[str, str], console: Console | None = None
) -> None:
    """A run's key results, objectives and writes, for people."""
    out = console or Console()
    out.print(key_result_table(report["key_results"], units))
    objectives = Table("objective", "score", "forecast", "status", header_style="bold")
    for row in report["objectives"]:
        status = row["status"]
        objectives.add_row(
            row["key"],
            _number(row["score"]),
            _number(row.get("forecast_score")),
            Text(status.replace("_", " "), style=STATUS_STYLE.get(status, "")),
        )
    out.print(objectives)
    writes = ", ".join(
        f"{name}: {w['upserted']} upserted, {w['unchanged']} unchanged, {w['failed']} failed"
        for name, w in report["writes"].items()
    )
    calls = ", ".join(f"{name} {n}" for name, n in report["api_calls"].items())
    errors = [r for r in report["key_results"] if r["error"]]
    out.print(
        f"run {report['run_id']} as of {report['as_of']}: {report['outcome']}; "
        f"writes — {writes or 'none'}; API calls — {calls or 'none'}"
    )
    for row in errors:
        out.print(Text(f"  {row['key']}: {row['error']}", style="red"))
