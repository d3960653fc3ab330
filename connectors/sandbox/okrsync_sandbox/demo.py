"""``okrsync demo``: the whole loop against the embedded sandbox CRMs, in under a minute.

1. Start the sandbox of every installed connector (Salesforce and HubSpot
   here), seeded as of the first Monday of August 2026, and a temporary
   state store.
2. Provision okrsync's objects in every CRM, check the set-up as ``okrsync
   doctor`` does (an all-green checklist), then sync the shipped mappings.
3. Show the key results (each rep's contribution to those broken down by
   owner) and a sample of the records now in each CRM.
4. Move the CRMs forward week by week (their data changes as the sales
   history unfolds) and record a check-in every Monday to the end of the
   quarter, so each key result shows its trend and forecast, personal key
   results under their team's.
5. Show every rep's part at the quarter's end, write the status page
   (``okrsync report --html``) and print its path.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS
from okrsync.plugins import PluginRegistry, RepGuide
from okrsync.render import (
    Column,
    fitted_table,
    format_score,
    format_value,
    print_breakdowns,
    print_report,
    status_text,
)
from okrsync.state.db import open_store
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync.doctor import Diagnosis
    from okrsync.engine import CycleReport, KeyResultResult
    from okrsync_sandbox.runner import SandboxGroup
    from okrsync_sandbox.server import RunningSandbox

__all__ = ["DEMO_END", "DEMO_START", "run_demo"]

DEMO_START = date(2026, 8, 3)
"""A Monday in the third quarter of 2026, the cycle of the shipped mappings."""
DEMO_END = date(2026, 9, 28)
"""The last Monday of the quarter."""
SPARKS = "▁▂▃▄▅▆▇█"
DEMO_PAGE = Path(tempfile.gettempdir()) / "okrsync-demo" / "status-page.html"
"""Where the demo writes its status page."""


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _spark(scores: list[float | None]) -> str:
    return "".join(
        " " if s is None else SPARKS[min(len(SPARKS) - 1, int(s * (len(SPARKS) - 1) + 0.5))]
        for s in scores
    )


def run_demo(
    mappings: Path,
    *,
    seed: int = 7,
    size: int = 6000,
    weeks: int | None = None,
    console: Console | None = None,
    start: date = DEMO_START,
    page: Path = DEMO_PAGE,
    before_check_in: Callable[[SandboxGroup, App, date], None] | None = None,
) -> dict[str, Any]:
    """Run the demo; return a summary (for tests): reports, check-ins and timings.

    ``start`` (a Monday, ``DEMO_START`` by default) is the first sync and check-in;
    ``weeks`` limits how many weekly check-ins follow it (default: to ``DEMO_END``).
    ``before_check_in`` runs before each weekly check-in (after the first), as
    reps would edit the CRM then.
    """
    out = console or Console()
    began = time.monotonic()
    registry = PluginRegistry.from_entry_points()
    clock_start = _moment(start)
    group = start_sandboxes(SandboxOptions(seed=seed, size=size, as_of=clock_start))
    moment = {"now": clock_start}
    with tempfile.TemporaryDirectory(prefix="okrsync-demo-") as folder:
        try:
            config = Path(folder) / "okrsync.yaml"
            write_config(group, config, store_url=f"sqlite:///{Path(folder) / 'state.db'}")
            _page_settings(config)
            settings = load_config(config, mappings, registry=registry, env={}, log=False)
            loaded = load_mappings_for(settings, registry)
            clocks = (getattr(box, "clock", None) for _, box in sorted(group.sandboxes.items()))
            sandbox_clock = next((c for c in clocks if c is not None), None)
            clock = sandbox_clock or (lambda: moment["now"])  # connectors read the CRMs' time
            app = App(
                settings,
                registry,
                loaded,
                db := open_store(settings.store_url.get_secret_value()),
                connect(settings, registry, set(settings.connectors), clock, db),
                clock,
            )
            out.rule("[bold]okrsync demo")
            _introduce(app, group, mappings, f"seed {seed}, {size} rows each", out)
            out.rule("okrsync doctor: is each CRM ready?")
            diagnosis = _doctor(app, out)
            out.rule(f"Sync as of {start}")
            first = app.engine().run("check_in", start)
            print_report(
                first.as_json(), {r.kr.full_key: r.kr.unit.value for r in first.key_results}, out
            )
            _sample(app, out)
            last = DEMO_END if weeks is None else min(DEMO_END, start + timedelta(weeks=weeks))
            out.rule("Weekly check-ins (the CRMs' data moves on each week)")
            history = [first, *_weekly(group, app, (start, last), moment, before_check_in, out=out)]
            _trends(history, out)
            _reps(history[-1], out)
            _where_reps_look(registry, group.sandboxes, out)
            _write_page(app, page, out)
            app.close()
        finally:
            group.stop()
    seconds = time.monotonic() - began
    out.print(f"Demo finished in {seconds:.1f} s.")
    return {"reports": history, "seconds": seconds, "page": page, "doctor": diagnosis}


def _weekly(
    group: SandboxGroup,
    app: App,
    span: tuple[date, date],
    moment: dict[str, datetime],
    before: Callable[[SandboxGroup, App, date], None] | None,
    *,
    out: Console,
) -> list[CycleReport]:
    """A check-in every Monday after ``span[0]`` up to ``span[1]``, the CRMs moving on."""
    monday, last = span
    history: list[CycleReport] = []
    weekly: list[list[str | Text]] = []
    while monday < last:
        monday += timedelta(weeks=1)
        moment["now"] = _moment(monday)
        group.advance(moment["now"])
        report = _check_in(group, app, monday, before)
        history.append(report)
        writes = sum(w["upserted"] for w in report.writes.as_dict().values())
        statuses = _count(report)
        weekly.append(
            [
                monday.isoformat(),
                str(writes),
                str(sum(report.api_calls.values())),
                *(str(statuses.get(s, 0)) for s in _WEEKLY_STATUSES),
            ]
        )
    out.print(fitted_table(out.width, _WEEKLY_COLUMNS, weekly))
    return history


def _introduce(app: App, group: SandboxGroup, mappings: Path, data: str, out: Console) -> None:
    """Which sandbox CRMs and mappings the demo runs, and okrsync's objects provisioned."""
    registry = app.registry
    crms = ", ".join(
        f"{_title(registry, name)} {_url(box)}".rstrip()
        for name, box in sorted(group.sandboxes.items())
    )
    out.print(f"Sandbox CRMs: {crms} ({data})")
    out.print(
        f"Mappings: {len(app.mappings.objectives)} objectives, "
        f"{sum(1 for _ in app.mappings.key_results())} key results in {mappings}"
    )
    for name, connector in sorted(app.connectors.items()):
        changes = connector.provision(OKR_OBJECTS)
        out.print(f"Provisioned {name}: {len(changes)} changes")


def _doctor(app: App, out: Console) -> Diagnosis:
    """``okrsync doctor`` against the sandboxes just provisioned: its checklist."""
    from okrsync.doctor import diagnose_app, render  # noqa: PLC0415

    diagnosis = diagnose_app(app.settings, app.registry, app.mappings, app.connectors)
    for line in render(diagnosis, width=out.width):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    return diagnosis


def _check_in(
    group: SandboxGroup,
    app: App,
    monday: date,
    before: Callable[[SandboxGroup, App, date], None] | None,
) -> CycleReport:
    if before is not None:
        before(group, app, monday)
    return app.engine().run("check_in", monday)


def _page_settings(config: Path) -> None:
    """How the demo's status page reads: its title and currency."""
    with config.open("a", encoding="utf-8") as extra:
        extra.write("page: {title: Acme sales OKRs, currency: EUR}\n")


def _write_page(app: App, path: Path, out: Console) -> None:
    """The status page of the demo's quarter, as ``okrsync report --html`` writes it."""
    from okrsync.report import build_report, render_page  # noqa: PLC0415

    now = app.clock() if app.clock else None
    data = build_report(app.settings, app.db, app.mappings, now=now)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(data, links=False), encoding="utf-8")
    out.print(f"Status page: {path}")


_WEEKLY_STATUSES = ("done", "on_track", "at_risk", "off_track", "error")
_WEEKLY_COLUMNS = (
    Column("check-in"),
    Column("written", "right"),
    Column("API calls", "right"),
    *(Column(s.replace("_", " "), "right") for s in _WEEKLY_STATUSES),
)


def _reps(final: CycleReport, out: Console) -> None:
    """Each rep's contribution to the key results broken down by owner, at the quarter's end."""
    if not final.breakdowns:
        return
    out.rule("Every rep's part at the end of the quarter")
    units = {r.kr.full_key: r.kr.unit.value for r in final.key_results}
    print_breakdowns(final.as_json()["key_results"], units, out)


def _title(registry: PluginRegistry, name: str) -> str:
    """The CRM's human name from its connector plugin (the sandbox's name without one)."""
    return registry.get(name).title if name in registry else name


def _url(box: RunningSandbox) -> str:
    """The first URL of a sandbox's ready line (where its API answers)."""
    urls = (v for v in box.info().values() if isinstance(v, str) and "://" in v)
    return next(urls, "")


def _where_reps_look(
    registry: PluginRegistry, sandboxes: dict[str, RunningSandbox], out: Console
) -> None:
    """Where a rep finds the OKRs just written, in each CRM whose plugin says so."""
    out.rule("Where reps find their OKRs")
    for name, box in sorted(sandboxes.items()):
        plugin: object = registry.get(name) if name in registry else None
        if isinstance(plugin, RepGuide):
            first, *rest = plugin.where_reps_look(_url(box)).splitlines()
            out.print(f"{_title(registry, name)}: {first}")
            for line in rest:
                # links and commands are printed whole, so they can be clicked or copied
                out.print(line, soft_wrap=line.startswith("  "))


def _count(report: CycleReport) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in report.key_results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return dict(sorted(counts.items()))


def _sample(app: App, out: Console) -> None:
    """A few key-result records as they now stand in each CRM."""
    columns = (
        Column("key"),
        Column("current_value", "right"),
        Column("progress", "right"),
        Column("score", "right"),
        Column("status"),
        Column("last_synced_at", needs=100),
    )
    for name, connector in sorted(app.connectors.items()):
        keys = [kr.full_key for kr in app.mappings.key_results() if name in kr.destinations][:3]
        records = connector.read_back(KEY_RESULT, keys)
        rows: list[list[str | Text]] = []
        for key in keys:
            record = records.get(key, {})
            progress = record.get("progress")
            rows.append(
                [
                    key,
                    format_value(record.get("current_value"), record.get("unit")),
                    format_value(None if progress is None else float(progress), "percent"),
                    format_score(record.get("score")),
                    status_text(str(record.get("status", "—"))),
                    str(record.get("last_synced_at", "—")),
                ]
            )
        title = f"In {name}: {connector.physical_name('key_result')}"
        out.print(fitted_table(out.width, columns, rows, title=title))


def _trend(result: KeyResultResult) -> Text:
    """The recent trend the forecast moves by, in progress per week (↗ towards the target)."""
    forecast = result.score.forecast
    if forecast is None or result.value.error:
        return Text("—", style="dim")
    per_week = forecast.slope * 7 / (result.kr.target - result.kr.start)
    if abs(per_week) < 0.005:  # noqa: PLR2004  (under half a point of progress a week)
        return Text("→", style="dim")
    if per_week > 0:
        return Text(f"↗ {per_week:+.2f}", style="green")
    return Text(f"↘ {per_week:+.2f}", style="red")


def _trends(history: list[CycleReport], out: Console) -> None:
    """Each KR's weekly score, its recent trend, its forecast and status at the end."""
    final = history[-1]
    columns = (
        Column("key result"),
        Column("weekly"),
        Column("trend/wk"),
        Column("score", "right"),
        Column("forecast", "right"),
        Column("status"),
    )
    rows: list[list[str | Text]] = []
    objective = ""
    for result in final.key_results:
        key = result.kr.full_key
        scores = [
            next((r.score.score for r in report.key_results if r.kr.full_key == key), None)
            for report in history
        ]
        if not key.startswith(objective + "/"):
            objective = f"{result.kr.cycle.name}/{result.kr.objective_key}"
            rows.append([Text(objective, style="bold"), "", "", "", "", ""])
        label = key.removeprefix(objective + "/")
        if result.kr.member is not None:  # a personal key result, under its team's
            label = "  " + result.kr.member
        rows.append(
            [
                "  " + label,
                _spark(scores),
                _trend(result),
                format_score(result.score.score),
                format_score(result.score.forecast_score),
                status_text(result.status),
            ]
        )
    out.print(fitted_table(out.width, columns, rows, title="Trends over the weekly check-ins"))
