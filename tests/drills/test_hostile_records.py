"""Hostile CRM records: the cycle survives and computes exactly what the valid records give."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.drill

AS_OF = date(2026, 8, 15)
HUGE = "é🙂" * 16_000  # 32 000 characters (the field limit), 96 kB of UTF-8
NASTY = "'; DROP TABLE Opportunity; -- {{7*7}} ${jndi:ldap://x} \u202e\u0000"[:-1]

MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: o
    title: Survive bad data
    key_results:
      - {key: nps, title: NPS, source: salesforce, metric: nps, start: 0, target: 60}
      - {key: pipe, title: Pipeline, source: salesforce, metric: pipeline_value, target: 5000}
      - {key: won, title: Won, source: salesforce, metric: won_revenue, target: 5000}
      - {key: rate, title: Win rate, source: salesforce, metric: win_rate, target: 50%}
"""


def _jsonl(rows: list[dict]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


def _data(folder: Path) -> None:
    sf = folder / "salesforce"
    sf.mkdir(parents=True)
    responses = [
        # valid responses in the window: 10, 10, 9 promoters, 6 a detractor → (3 − 1) / 4 = 50
        {"Score__c": 10, "Response_Date__c": "2026-07-10", "Comment__c": HUGE},
        {"Score__c": 10, "Response_Date__c": "2026-07-11", "Comment__c": NASTY},
        {"Score__c": 9, "Response_Date__c": "2026-08-01", "Comment__c": None},
        {"Score__c": 6, "Response_Date__c": "2026-08-02"},
        # hostile: out of range, negative, empty, outside the window, far past and future
        {"Score__c": 11, "Response_Date__c": "2026-07-12"},
        {"Score__c": -1, "Response_Date__c": "2026-07-13"},
        {"Score__c": None, "Response_Date__c": "2026-07-14"},
        {"Score__c": 0, "Response_Date__c": None},
        {"Score__c": 0, "Response_Date__c": "1900-01-01"},
        {"Score__c": 0, "Response_Date__c": "9999-12-31"},
    ]
    (sf / "NPS_Response__c.jsonl").write_text(
        _jsonl([{"Name": f"r{i}", **r} for i, r in enumerate(responses)]), encoding="utf-8"
    )
    opportunities = [
        # open, closing in Q3: 1000 counts; an empty amount adds nothing
        {
            "Name": HUGE[:120],
            "StageName": "Proposal",
            "Amount": 1000,
            "CloseDate": "2026-09-01",
            "IsClosed": False,
            "IsWon": False,
        },
        {
            "Name": NASTY,
            "StageName": "Proposal",
            "Amount": None,
            "CloseDate": "2026-09-02",
            "IsClosed": False,
            "IsWon": False,
        },
        # won in the window: 2000; lost in the window; far dates never count
        {
            "Name": "won",
            "StageName": "Closed Won",
            "Amount": 2000,
            "CloseDate": "2026-07-20",
            "IsClosed": True,
            "IsWon": True,
        },
        {
            "Name": "lost",
            "StageName": "Closed Lost",
            "Amount": 3000,
            "CloseDate": "2026-07-21",
            "IsClosed": True,
            "IsWon": False,
        },
        {
            "Name": "ancient",
            "StageName": "Closed Won",
            "Amount": 9e12,
            "CloseDate": "1900-01-01",
            "IsClosed": True,
            "IsWon": True,
        },
        {
            "Name": "future",
            "StageName": "Proposal",
            "Amount": 7e12,
            "CloseDate": "9999-12-31",
            "IsClosed": False,
            "IsWon": False,
        },
    ]
    (sf / "Opportunity.jsonl").write_text(_jsonl(opportunities), encoding="utf-8")


def test_hostile_records_are_ignored_or_reported_and_values_stay_exact(tmp_path: Path) -> None:
    """Out-of-range scores, nulls, huge and hostile strings, far dates: exact values, no crash."""
    _data(tmp_path / "data")
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING)
    moment = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 12, tzinfo=UTC)
    registry = PluginRegistry.from_entry_points()
    group = start_sandboxes(SandboxOptions(data_dir=tmp_path / "data", as_of=moment))
    try:
        config = tmp_path / "okrsync.yaml"
        write_config(group, config, store_url=f"sqlite:///{tmp_path / 'state.db'}")
        settings = load_config(config, tmp_path / "maps", registry=registry, env={}, log=False)
        clock = group.sandboxes["salesforce"].clock  # type: ignore[attr-defined]
        connectors = connect(settings, registry, {"salesforce"}, clock)
        connectors["salesforce"].provision(OKR_OBJECTS)
        app = App(
            settings,
            registry,
            load_mappings_for(settings, registry),
            open_store(settings.store_url.get_secret_value()),
            connectors,
            clock,
        )
        report = app.engine().run("sync", AS_OF)
        values = {r.kr.key: r.value.value for r in report.key_results}
        assert report.outcome == "succeeded", report.error
        assert values == {
            "nps": 50.0,  # scores 11, −1, empty and undated responses are not responses
            "pipe": 1000.0,  # an empty amount adds nothing; 9999-12-31 is outside the cycle
            "won": 2000.0,  # the 1900 win is outside the cycle
            "rate": 0.5,  # won / closed within the cycle: 1 of 2
        }
        written = connectors["salesforce"].read_back(
            KEY_RESULT, [r.kr.full_key for r in report.key_results]
        )
        assert {
            k.rsplit("/", 1)[1]: v["current_value"] for k, v in written.items()
        } == pytest.approx(values)
        app.close()
    finally:
        group.stop()
