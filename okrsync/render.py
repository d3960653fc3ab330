"""Readable output of runs and status: tables that fit the terminal, values by unit.

Every number people read in the terminal (``plan``, ``sync``, ``status``, the
demo) goes through :func:`format_value` (by the key result's unit) or
:func:`format_score`. Tables fit the console's width: columns that matter
less are left out on narrow terminals, numbers never wrap, and keys wrap at
their ``-`` and ``/`` instead of character by character.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from okrsync.numbers import plain_number, trim_zeros
from okrsync.scoring import AT_RISK_AT, ON_TRACK_AT

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "STATUS_STYLE",
    "Column",
    "bar",
    "breakdown_table",
    "fitted_table",
    "format_score",
    "format_value",
    "key_result_table",
    "print_breakdowns",
    "print_report",
    "status_text",
    "wrap_key",
    "writes_text",
]

STATUS_STYLE = {
    "done": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
    "not_started": "dim",
    "error": "bold red",
}
_MILLION = 1_000_000
_HUNDRED = 100


def format_value(value: float | None, unit: str | None = None, currency: str | None = None) -> str:
    """A key result's value for people, by its unit.

    ``percent`` (a fraction): ``4.8%``; ``currency``: ``1.09 M``, ``750 k``,
    ``8,400`` (with ``currency`` as ISO code, e.g. ``EUR 1.09 M``); ``count`` and
    ``nps``: whole numbers unless a fraction matters (``-11.1``); ``hours`` and
    ``days``: ``7.3 h``, ``2 d``; other numbers
    with at most two decimals; ``—`` for no value. Never an exponent.
    """
    if value is None or not math.isfinite(value):
        return "—"
    sign = "-" if value < 0 else ""
    size = abs(value)
    if unit == "percent":
        text = trim_zeros(f"{size * 100:.1f}")
        return ("" if text == "0" else sign) + text + "%"
    if unit == "currency":
        if size >= _MILLION - 500:  # 999,500 and up reads as 1 M, not 1000 k
            body = trim_zeros(f"{size / _MILLION:.2f}") + " M"
        elif size >= _HUNDRED * 1000:
            body = f"{size / 1000:.0f} k"
        else:
            body = f"{size:,.0f}" if size >= _HUNDRED else trim_zeros(f"{size:.2f}")
        prefix = f"{currency.upper()} " if currency else ""
        return prefix + ("" if body == "0" else sign) + body
    if unit in {"hours", "days"}:
        return sign + trim_zeros(f"{size:,.1f}") + f" {unit[0]}"
    body = plain_number(size, unit)
    return ("" if body == "0" else sign) + body


def format_score(score: float | None) -> str:
    """A score or forecast score as graded, ``0.70``; ``—`` for none."""
    return "—" if score is None else f"{score:.2f}"


def status_text(status: str) -> Text:
    """A status as words (``on track``), in its colour."""
    return Text(status.replace("_", " "), style=STATUS_STYLE.get(status, ""))


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


def writes_text(writes: Mapping[str, int], *, plan: bool = False) -> str:
    """Write counts of one connector as a run made them (``plan``: would make them)."""
    upserted, unchanged, failed = (writes.get(k, 0) for k in ("upserted", "unchanged", "failed"))
    if plan:
        return f"would upsert {upserted}, {unchanged} unchanged"
    text = f"{upserted} upserted, {unchanged} unchanged"
    return text + (f", {failed} failed" if failed else "")


_BREAK = re.compile(r"(?<=[-/_. ])")


def wrap_key(key: str, width: int) -> str:
    """``key`` in lines of at most ``width``, broken after ``-``, ``/``, ``_``, ``.`` or spaces."""
    lines: list[str] = []
    line = ""
    for piece in _BREAK.split(key):
        part = piece
        while len(line) + len(part) > width:
            if line:  # start a new line before the part
                lines.append(line.rstrip())
                line = ""
                continue
            lines.append(part[:width])  # a part longer than a line: cut it
            part = part[width:]
        line += part
    lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a :func:`fitted_table`."""

    header: str
    justify: str = "left"
    needs: int = 0
    """Shown only when the console is at least this wide (0: always)."""


def _cell_width(cell: str | Text) -> int:
    text = cell.plain if isinstance(cell, Text) else cell
    return max((Text(line).cell_len for line in text.splitlines()), default=0)


def fitted_table(
    width: int,
    columns: Sequence[Column],
    rows: Iterable[Sequence[str | Text]],
    *,
    title: str | None = None,
) -> Table:
    """A table no wider than ``width``: the first column takes the room the others leave.

    Columns whose ``needs`` exceeds ``width`` are left out; the others are as
    wide as their widest cell and never wrap; the first column's text (keys)
    wraps with :func:`wrap_key`.
    """
    shown = [i for i, c in enumerate(columns) if c.needs <= width]
    table_rows = [[row[i] for i in shown] for row in rows]
    widths = [
        max([Text(columns[i].header).cell_len, *(_cell_width(r[n]) for r in table_rows)])
        for n, i in enumerate(shown)
    ]
    gaps = 3 * (len(shown) - 1)  # padding either side of a blank column rule
    first = min(widths[0], max(12, width - sum(widths[1:]) - gaps))
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        header_style="bold",
        title=title,
        title_justify="left",
        show_edge=False,
    )
    for n, i in enumerate(shown):
        column = columns[i]
        table.add_column(
            column.header,
            justify=column.justify,  # type: ignore[arg-type]
            no_wrap=True,
            width=first if n == 0 else widths[n],
        )
    for row in table_rows:
        head = row[0]
        plain = head.plain if isinstance(head, Text) else head
        body = plain.lstrip(" ")
        indent = " " * (len(plain) - len(body))  # continuation lines keep the indent
        lines = "\n".join(indent + line for line in wrap_key(body, first - len(indent)).split("\n"))
        table.add_row(Text(lines, style=head.style) if isinstance(head, Text) else lines, *row[1:])
    return table


KEY_RESULT_COLUMNS = (
    Column("key result"),
    Column("source", needs=140),
    Column("metric", needs=140),
    Column("value", "right"),
    Column("start → target", "right"),
    Column("progress", needs=100),
    Column("score", "right"),
    Column("forecast", "right", needs=90),
    Column("status"),
)


def _kr_label(row: Mapping[str, Any], objective: str) -> str:
    """A key result's row label: its own key; a personal one's member, under its team's."""
    parent = row.get("parent")
    if parent:
        return "    " + str(row["key"]).removeprefix(str(parent) + "/")
    return "  " + str(row["key"]).removeprefix(objective + "/")


def key_result_table(
    rows: Iterable[dict[str, Any]],
    units: Mapping[str, str] | None = None,
    *,
    objectives: Iterable[dict[str, Any]] = (),
    width: int = 80,
) -> Table:
    """The key results of a report or of ``status`` (dicts as in the JSON report), by objective.

    Each objective's row (its score and status, when given in ``objectives``)
    comes before its key results, which are shown by their own key.
    """
    units = units or {}
    by_objective: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        objective = row.get("objective") or row["key"].rsplit("/", 1)[0]
        by_objective.setdefault(objective, []).append(row)
    scores = {o["key"]: o for o in objectives}
    cells: list[list[str | Text]] = []
    for objective, krs in by_objective.items():
        head = scores.get(objective, {})
        status = head.get("status")
        cells.append(
            [
                Text(objective, style="bold"),
                "",
                "",
                "",
                "",
                "",
                format_score(head.get("score")) if head else "",
                format_score(head.get("forecast_score")) if head else "",
                status_text(status) if status else "",
            ]
        )
        for row in krs:
            unit = units.get(row["key"])
            start, target = row.get("start"), row.get("target")
            cells.append(
                [
                    _kr_label(row, objective),
                    row.get("source", ""),
                    row.get("metric", ""),
                    format_value(row["value"], unit),
                    ""
                    if start is None and target is None
                    else f"{format_value(start, unit)} → {format_value(target, unit)}",
                    bar(row["progress"], width=8),
                    format_score(row["score"]),
                    format_score(row["forecast_score"]),
                    status_text(row["status"]),
                ]
            )
    return fitted_table(width, KEY_RESULT_COLUMNS, cells)


BREAKDOWN_COLUMNS = (
    Column("owner"),
    Column("value", "right"),
    Column("share", "right"),
    Column("rank", "right"),
    Column("target", "right", needs=70),
    Column("progress", needs=90),
)


def breakdown_table(row: Mapping[str, Any], unit: str | None, *, width: int = 80) -> Table:
    """A key result's contributions, one row per owner (``unassigned`` for no owner)."""
    cells: list[list[str | Text]] = [
        [
            part["owner"] or Text("unassigned", style="dim"),
            format_value(part["value"], unit),
            format_value(part["share"], "percent") if part["share"] is not None else "",
            str(part["rank"]) if part["rank"] is not None else "",
            format_value(part["target"], unit) if part["target"] is not None else "",
            bar(part["progress"], width=8) if part["progress"] is not None else "",
        ]
        for part in row["breakdown"]
    ]
    return fitted_table(width, BREAKDOWN_COLUMNS, cells, title=f"{row['key']} by owner")


def print_breakdowns(
    rows: Iterable[Mapping[str, Any]], units: Mapping[str, str] | None, out: Console
) -> None:
    """The contributions of every key result broken down by owner, a table each."""
    for row in rows:
        if row.get("breakdown"):
            out.print(breakdown_table(row, (units or {}).get(row["key"]), width=out.width))


def print_report(
    report: dict[str, Any], units: Mapping[str, str], console: Console | None = None
) -> None:
    """A run's key results (by objective), what it wrote (or would write) and its errors."""
    out = console or Console()
    out.print(
        key_result_table(
            report["key_results"], units, objectives=report["objectives"], width=out.width
        )
    )
    print_breakdowns(report["key_results"], units, out)
    plan = report.get("kind") == "plan"
    writes = "; ".join(
        f"{name} {writes_text(w, plan=plan)}" for name, w in report["writes"].items()
    )
    calls = ", ".join(f"{name} {n}" for name, n in report["api_calls"].items())
    what = "plan" if plan else report.get("kind", "run").replace("_", "-")
    out.print(
        f"{what} {report['run_id']} as of {report['as_of']}: {report['outcome']}",
        highlight=False,
    )
    out.print(f"writes: {writes or 'none'}", highlight=False)
    out.print(f"API calls: {calls or 'none'}", highlight=False)
    for name in report.get("unreachable") or ():
        out.print(Text(f"{name} could not be reached; its writes wait for the next run", "red"))
    for row in report["key_results"]:
        if row["error"]:
            out.print(Text(f"{row['key']}: {row['error']}", style="red"))
