"""A small OKR world for the status-page tests: three aligned objectives, four weekly check-ins.

The CRM is the in-memory connector; each Monday from 2026-07-06 the deals
and tasks grow, reps enter a confidence and a comment on some key results,
and the engine records a check-in. ``hostile`` puts markup in titles and
comments, as CRM-derived text may carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from okrsync.app import App, load_config, load_mappings_for
from okrsync.connector import FieldInfo
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.engine import CycleReport

HOSTILE = '<script>alert("t")</script><img src=x onerror=alert(1)>'
"""Markup a title or a comment must never bring onto the page."""
FIRST_MONDAY = date(2026, 7, 6)
WEEKS = 4

COMPANY = """\
version: 1
cycle: {{name: 2026-H2, start: 2026-07-01, end: 2026-12-31}}
objectives:
  - key: grow
    title: We grow recurring revenue{hostile}
    owner: {{team: Management}}
    key_results:
      - key: revenue
        title: Win 1 M of new business
        source: salesforce
        metric: {{sum: Opportunity.Amount, where: {{StageName: Won}}}}
        target: 1000000
        unit: currency
"""
QUARTER = """\
version: 1
cycle: {{name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}}
objectives:
  - key: hunt
    title: We become true hunters
    owner: {{team: New Business}}
    aligns_to: 2026-H2/grow
    key_results:
      - key: deals
        title: Open 40 deals{hostile}
        source: salesforce
        metric: {{count: Opportunity}}
        target: 40
      - key: guide
        title: Publish the call guide
        kind: milestone
        source: salesforce
        metric: {{count: Task, where: {{Subject: Call guide}}}}
  - key: mine
    title: Jane wins half of her deals
    owner: {{user: jane@acme.example}}
    aligns_to: hunt
    key_results:
      - key: win-share
        title: Win half of the deals
        source: salesforce
        metric:
          ratio:
            numerator: {{count: Opportunity, where: {{StageName: Won}}}}
            denominator: {{count: Opportunity}}
        start: 10%
        target: 50%
        weight: 2
"""


@dataclass
class World:
    """The app, its CRM, and the engine's report of every check-in."""

    app: App
    crm: InMemoryConnector
    config: Path
    reports: list[CycleReport] = field(default_factory=list)
    moment: dict[str, datetime] = field(default_factory=dict)

    @property
    def last(self) -> CycleReport:
        """The engine's report of the latest run."""
        return self.reports[-1]

    def run(self, day: date, kind: str = "check_in") -> CycleReport:
        """One run as of ``day`` at 07:00 UTC."""
        self.moment["now"] = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)
        report = self.app.engine().run(kind, day)  # type: ignore[arg-type]
        self.reports.append(report)
        return report

    def say(self, kr_key: str, confidence: float | None, comment: str | None) -> None:
        """A rep enters a confidence and a comment on a key result in the CRM."""
        record = self.crm.okr.setdefault("key_result", {}).setdefault(kr_key, {})
        record["confidence"] = confidence
        record["comment"] = comment


def build_world(
    tmp_path: Path, *, hostile: bool = False, weeks: int = WEEKS, extra: str = ""
) -> World:
    """Mappings, configuration and store in ``tmp_path``; ``weeks`` Monday check-ins done."""
    maps = tmp_path / "maps"
    maps.mkdir()
    mark = f" {HOSTILE}" if hostile else ""
    (maps / "company.yaml").write_text(COMPANY.format(hostile=mark.replace('"', "'")))
    (maps / "q3.yaml").write_text(QUARTER.format(hostile=mark.replace('"', "'")))
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {maps}\n"
        "http: {port: 0}\nschedules: {sync: {interval: 1h}, check_in: {cron: '0 7 * * MON'}}\n"
        + extra
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(config, registry=registry, env={}, log=False)
    crm = InMemoryConnector(
        "salesforce",
        objects={
            "Opportunity": {
                "Amount": FieldInfo("Amount", "currency"),
                "StageName": FieldInfo("StageName", "picklist"),
            },
            "Task": {"Subject": FieldInfo("Subject", "string")},
        },
    )
    moment = {"now": datetime(2026, 7, 6, 7, tzinfo=UTC)}
    app = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(settings.store_url.get_secret_value()),
        {"salesforce": crm},
        lambda: moment["now"],
    )
    world = World(app, crm, config, moment=moment)
    for week in range(weeks):
        for i in range(4 + 3 * week):  # deals open up, a few are won
            crm.put("Opportunity", {"Amount": 20000.0 + 1000 * i, "StageName": "Open"})
        for _ in range(1 + week % 2):
            crm.put("Opportunity", {"Amount": 50000.0, "StageName": "Won"})
        if week == 2:
            crm.put("Task", {"Subject": "Call guide"})
        if week >= 1:
            world.say(
                "2026-Q3/hunt/deals",
                3 if week == weeks - 1 else 7,
                f"Need marketing's help with events{mark}" if week == weeks - 1 else None,
            )
        world.run(FIRST_MONDAY + timedelta(weeks=week))
    return world
