"""``okrsync demo``: the whole loop against the embedded sandbox CRMs, in under a minute.

1. Start the Salesforce and HubSpot sandboxes, seeded as of the first Monday
   of August 2026, and a temporary state store.
2. Provision okrsync's objects in both CRMs, then sync the shipped mappings.
3. Show the key results and a sample of the records now in each CRM.
4. Move the CRMs forward week by week (their data changes as the sales
   history unfolds) and record a check-in every Monday to the end of the
   quarter, so each key result shows its trend and forecast.
5. Write the status page (``okrsync report --html``) and print its path.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS
from okrsync.plugins import PluginRegistry
from okrsync.render import STATUS_STYLE, print_report
from okrsync.state.db import open_store
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync.engine import CycleReport
    from okrsync_sandbox.runner import SandboxGroup

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
    page: Path = DEMO_PAGE,
    before_check_in: Callable[[SandboxGroup, App, date], None] | None = None,
) -> dict[str, Any]:
    """Run the demo; return a summary (for tests): reports, check-ins and timings.

    ``before_check_in`` runs before each weekly check-in (after the first), as
    reps would edit the CRM then.
    """
    out = console or Console()
    began = time.monotonic()
    registry = PluginRegistry.from_entry_points()
    clock_start = _moment(DEMO_START)
    group = start_sandboxes(SandboxOptions(seed=seed, size=size, as_of=clock_start))
    moment = {"now": clock_start}
    with tempfile.TemporaryDirectory(prefix="okrsync-demo-") as folder:
        try:
            config = Path(folder) / "okrsync.yaml"
            write_config(group, config, store_url=f"sqlite:///{Path(folder) / 'state.db'}")
            _page_settings(config)
            settings = load_config(config, mappings, registry=registry, env={}, log=False)
            loaded = load_mappings_for(settings, registry)
            sandbox_clock = getattr(group.sandboxes["salesforce"], "clock", None)
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
            sf_url = group.sandboxes["salesforce"].info()["instance_url"]
            hs_url = group.sandboxes["hubspot"].info()["host"]
            out.print(
                f"Sandbox CRMs: Salesforce {sf_url}, HubSpot {hs_url} "
                f"(seed {seed}, {size} rows each)"
            )
            out.print(
                f"Mappings: {len(loaded.objectives)} objectives, "
                f"{sum(1 for _ in loaded.key_results())} key results in {mappings}"
            )
            for name, connector in sorted(app.connectors.items()):
                changes = connector.provision(OKR_OBJECTS)
                out.print(f"Provisioned {name}: {len(changes)} changes")
            out.rule(f"Sync as of {DEMO_START}")
            first = app.engine().run("check_in", DEMO_START)
            print_report(
                first.as_json(), {r.kr.full_key: r.kr.unit.value for r in first.key_results}, out
            )
            _sample(app, out)
            history: list[CycleReport] = [first]
            monday = DEMO_START
            last = DEMO_END if weeks is None else min(DEMO_END, DEMO_START + timedelta(weeks=weeks))
            out.rule("Weekly check-ins (the CRMs' data moves on each week)")
            while monday < last:
                monday += timedelta(weeks=1)
                moment["now"] = _moment(monday)
                group.advance(moment["now"])
                report = _check_in(group, app, monday, before_check_in)
                history.append(report)
                writes = sum(w["upserted"] for w in report.writes.as_dict().values())
                calls = sum(report.api_calls.values())
                statuses = _count(report)
                out.print(
                    f"{monday}: {writes:3d} records written, {calls:3d} API calls — "
                    + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in statuses.items())
                )
            _trends(history, out)
            _write_page(app, page, out)
            app.close()
        finally:
            group.stop()
    seconds = time.monotonic() - began
    out.print(f"Demo finished in {seconds:.1f} s.")
    return {"reports": history, "seconds": seconds, "page": page}


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


def _count(report: CycleReport) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in report.key_results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return dict(sorted(counts.items()))


def _sample(app: App, out: Console) -> None:
    """A few key-result records as they now stand in each CRM."""
    for name, connector in sorted(app.connectors.items()):
        keys = [kr.full_key for kr in app.mappings.key_results() if name in kr.destinations][:3]
        records = connector.read_back(KEY_RESULT, keys)
        table = Table(
            title=f"In {name}: {connector.physical_name('key_result')}", header_style="bold"
        )
        for column in ("key", "current_value", "progress", "score", "status", "last_synced_at"):
            table.add_column(column)
        for key in keys:
            record = records.get(key, {})
            table.add_row(
                *(
                    str(record.get(c, "—"))
                    for c in (
                        "key",
                        "current_value",
                        "progress",
                        "score",
                        "status",
                        "last_synced_at",
                    )
                )
            )
        out.print(table)


def _trends(history: list[CycleReport], out: Console) -> None:
    """Each KR's weekly score, its forecast and status at the end."""
    final = history[-1]
    table = Table(title="Trends over the weekly check-ins", header_style="bold")
    for column in ("key result", "weekly score", "score", "forecast", "status"):
        table.add_column(column)
    for result in final.key_results:
        key = result.kr.full_key
        scores = [
            next((r.score.score for r in report.key_results if r.kr.full_key == key), None)
            for report in history
        ]
        status = result.status
        table.add_row(
            key,
            _spark(scores),
            "—" if result.score.score is None else f"{result.score.score:.2f}",
            "—" if result.score.forecast_score is None else f"{result.score.forecast_score:.2f}",
            Text(status.replace("_", " "), style=STATUS_STYLE.get(status, "")),
        )
    out.print(table)
