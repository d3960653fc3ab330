"""Sync end to end against the sandbox CRMs: what lands in the CRM, what a sync costs, the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from typing import TYPE_CHECKING, Any

import pytest
from ruamel.yaml import YAML
from sqlmodel import Session, select

from okrsync.alignment import with_ancestors
from okrsync.model import Owner, OwnerKind
from okrsync.plan import build_plan
from okrsync.state.models import RunRow, WrittenRow

from .conftest import (
    AS_OF,
    MAPPINGS,
    expected_keys,
    provision,
    read_back_all,
    run_key_results,
    run_okrsync,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync.app import App
    from okrsync.engine import CycleReport
    from okrsync.model import KeyResult, Objective

    from .conftest import Sandbox

TOLERANCE = {"salesforce": 5.01e-5, "hubspot": 1e-9}
"""Salesforce stores numbers with 4 decimals and percents as 0–100 with 2 (a fraction to 4)."""
WON = 4
"""Open Salesforce opportunities of the cycle marked won between the second and third sync."""

ReadBack = dict[tuple[str, str], dict[str, dict[str, Any]]]


@dataclass
class Journey:
    """One App through provisioning and three syncs, with what the CRMs held after each."""

    sandbox: Sandbox
    app: App
    provisioned: dict[str, int]
    first: CycleReport
    after_first: ReadBack
    second: CycleReport
    crm_calls_second: dict[str, int]
    won: list[str]
    third: CycleReport
    after_third: ReadBack
    written_third: set[tuple[str, str, str]]
    started: dict[str, datetime]


def _win_opportunities(sandbox: Sandbox, count: int) -> list[str]:
    """Mark open opportunities closing in the cycle won (dated before the as-of day)."""
    with sandbox.salesforce() as sf:
        where = "IsClosed = false AND CloseDate >= 2026-07-01 AND CloseDate <= 2026-09-30"
        soql = f"SELECT Id FROM Opportunity WHERE {where} ORDER BY Id LIMIT {count:d}"  # noqa: S608
        rows = sf.query(soql)["records"]
        ids = [str(r["Id"]) for r in rows]
        for record_id in ids:
            sf.Opportunity.update(record_id, {"StageName": "Closed Won", "CloseDate": "2026-08-14"})
    return ids


@pytest.fixture(scope="module")
def journey(start_sandbox: Callable[[str], Sandbox]) -> Journey:
    """Provision, sync, sync again unchanged, win some opportunities, sync a third time."""
    sandbox = start_sandbox("sync")
    app = sandbox.app(sandbox.write_config("inprocess"))
    provisioned = provision(app)
    first = app.engine().run("sync", AS_OF)
    after_first = read_back_all(app)
    before = sandbox.group.accounting.snapshot()
    second = app.engine().run("sync", AS_OF)
    after = sandbox.group.accounting.snapshot()
    crm_calls = {crm: after[crm]["calls"] - before[crm]["calls"] for crm in after}
    won = _win_opportunities(sandbox, WON)
    third = app.engine().run("sync", AS_OF)
    after_third = read_back_all(app)
    with Session(app.db) as session:
        written = {
            (row.connector, row.object, row.key)
            for row in session.exec(select(WrittenRow).where(WrittenRow.run_id == third.run_id))
        }
        started = {row.id: row.started_at for row in session.exec(select(RunRow))}
    return Journey(
        sandbox,
        app,
        provisioned,
        first,
        after_first,
        second,
        crm_calls,
        won,
        third,
        after_third,
        written,
        started,
    )


def _same(got: Any, want: Any, tolerance: float) -> bool:
    if isinstance(want, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        return got == pytest.approx(want, rel=1e-9, abs=tolerance)
    return bool(got == want)


def _owner_fields(owner: Owner | None) -> tuple[str | None, str | None]:
    """(e-mail, name) as okrsync writes them: a team has a name and no e-mail."""
    if owner is None:
        return None, None
    return (owner.name if owner.kind is OwnerKind.USER else None), owner.name


def _kr_wanted(entry: dict[str, Any], kr: KeyResult) -> dict[str, Any]:
    """A key-result record's logical fields, from the report's entry (and the mapping)."""
    return {
        "key": entry["key"],
        "title": kr.title,
        "objective": entry["objective"],
        "kind": kr.kind.value,
        "source": entry["source"],
        "metric": entry["metric"],
        "unit": kr.unit.value,
        "start_value": entry["start"],
        "target_value": entry["target"],
        "current_value": entry["value"],
        "progress": entry["progress"],
        "score": entry["score"],
        "expected": entry["expected"],
        "forecast_score": entry["forecast_score"],
        "status": entry["status"],
        "weight": kr.weight,
        "owner_name": _owner_fields(kr.owner)[1],
        "sync_error": entry["error"],
        "confidence": None,
        "comment": None,
        "parent_key_result": kr.parent,
    }


def _contribution_wanted(key: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A contribution record's logical fields, from the report's breakdown of its key result."""
    owner = key.rsplit("/", 1)[1]
    part = next(p for p in entry["breakdown"] if (p["owner"] or "unassigned") == owner)
    return {
        "key": key,
        "key_result": entry["key"],
        "owner_email": part["owner"],
        "current_value": part["value"],
        "share": part["share"],
        "rank": None if part["rank"] is None else float(part["rank"]),
        "target_value": part["target"],
        "progress": part["progress"],
    }


def _objective_wanted(entry: dict[str, Any], objective: Objective) -> dict[str, Any]:
    """An objective record's logical fields, from the report's entry (and the mapping)."""
    return {
        "key": entry["key"],
        "title": objective.title,
        "description": objective.description,
        "cycle": objective.cycle.name,
        "cycle_start": objective.cycle.start,
        "cycle_end": objective.cycle.end,
        "owner_name": _owner_fields(objective.owner)[1],
        "aligns_to": objective.aligns_to,
        "parent_objective": objective.aligns_to,
        "score": entry["score"],
        "forecast_score": entry["forecast_score"],
        "status": entry["status"],
    }


def _mismatches(
    got: dict[str, Any], want: dict[str, Any], tolerance: float
) -> dict[str, tuple[Any, Any]]:
    return {
        name: (got.get(name, "<absent>"), value)
        for name, value in want.items()
        if not _same(got.get(name, "<absent>"), value, tolerance)
    }


def _as_utc(moment: Any) -> datetime:
    assert isinstance(moment, datetime), moment
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_owner(journey: Journey, connector: str, record: dict[str, Any], owner: Any) -> None:
    """A user owner resolved in the CRM owns the record; HubSpot leaves others unowned."""
    email, _ = _owner_fields(owner)
    resolved = journey.app.connectors[connector].resolve_owner(email) if email else None
    if resolved is not None:
        assert str(record["owner"]).lower() == str(email).lower()
    elif connector == "hubspot":
        assert record["owner"] is None


def test_first_sync_writes_what_the_report_says(journey: Journey) -> None:
    """After provisioning and one sync, every KR and objective record read back through the connectors matches the report field by field."""
    first = journey.first
    assert first.outcome == "succeeded", first.error
    assert all(n > 0 for n in journey.provisioned.values()), journey.provisioned
    keys = expected_keys(journey.app)
    report = first.as_json()
    krs = {kr.full_key: kr for kr in run_key_results(journey.app)}
    entries = {e["key"]: e for e in report["key_results"]}
    objectives = {e["key"]: e for e in report["objectives"]}
    assert sorted(entries) == sorted(krs)
    assert sum(1 for e in entries.values() if e["parent"] is None) == 34
    assert all(e["error"] is None for e in entries.values())
    synced_at = _as_utc(journey.started[first.run_id])
    problems: dict[str, Any] = {}
    for (connector, obj), records in journey.after_first.items():
        if obj == "check_in":
            assert records == {}, f"a sync (not a check-in) wrote check-ins to {connector}"
            continue
        assert sorted(records) == sorted(keys[connector, obj]), (connector, obj)
        for key, record in records.items():
            if obj == "contribution":
                entry = entries[key.rsplit("/", 1)[0]]
                wrong = _mismatches(record, _contribution_wanted(key, entry), TOLERANCE[connector])
                if wrong:
                    problems[f"{connector} {obj} {key}"] = wrong
                if record["owner_email"] is not None:
                    _check_owner(
                        journey, connector, record, Owner(OwnerKind.USER, key.rsplit("/", 1)[1])
                    )
                continue
            if obj == "key_result":
                kr = krs[key]
                want, owner = _kr_wanted(entries[key], kr), kr.owner
            else:
                objective = journey.app.mappings.objective(key)
                want, owner = _objective_wanted(objectives[key], objective), objective.owner
            wrong = _mismatches(record, want, TOLERANCE[connector])
            if wrong:
                problems[f"{connector} {obj} {key}"] = wrong
            _check_owner(journey, connector, record, owner)
            stamp = _as_utc(record["last_synced_at"])
            assert abs((stamp - synced_at).total_seconds()) < 0.002, (key, stamp, synced_at)
    assert not problems, json.dumps(problems, indent=1, default=str)
    written = sum(len(v) for (_, obj), v in journey.after_first.items() if obj != "check_in")
    # the key results, their objectives (the company objective goes to HubSpot too, for a
    # HubSpot objective aligns to it) and the contributions of those broken down by owner
    expected = sum(len(v) for (_, obj), v in keys.items() if obj != "check_in")
    assert written == sum(w["upserted"] for w in first.writes.as_dict().values()) == expected
    assert all(keys[c, "contribution"] for c in ("salesforce", "hubspot"))


def test_second_sync_writes_nothing_and_pulls_once_per_object(journey: Journey) -> None:
    """A second sync with no CRM change upserts nothing and costs one incremental query per replicated object."""
    second = journey.second
    assert second.outcome == "succeeded", second.error
    plan = build_plan(journey.app.mappings)
    keys = expected_keys(journey.app)
    for connector in ("salesforce", "hubspot"):
        records = sum(len(keys[connector, o]) for o in ("key_result", "objective", "contribution"))
        assert second.writes.as_dict()[connector] == {
            "upserted": 0,
            "unchanged": records,
            "failed": 0,
        }
        objects = len(plan.for_connector(connector))
        assert second.api_calls[connector] == objects, (connector, second.api_calls)
        assert journey.crm_calls_second[connector] == objects  # as the CRM counted them
    assert second.api_calls == {"salesforce": 7, "hubspot": 4}
    assert journey.first.api_calls["salesforce"] > 7
    assert journey.first.api_calls["hubspot"] > 4


def _changed(journey: Journey) -> set[tuple[str, str, str]]:
    """(connector, object, key) of every record whose computed content differs after the change."""
    before = {e["key"]: e for e in journey.second.as_json()["key_results"]}
    after = {e["key"]: e for e in journey.third.as_json()["key_results"]}
    changed: set[tuple[str, str, str]] = set()
    objective_targets: dict[str, set[str]] = {}
    for kr in run_key_results(journey.app):
        objective_targets.setdefault(f"{kr.cycle.name}/{kr.objective_key}", set()).update(
            kr.destinations
        )
        was, now = dict(before[kr.full_key]), dict(after[kr.full_key])
        old_parts, new_parts = was.pop("breakdown"), now.pop("breakdown")
        if was != now:
            changed.update((c, "key_result", kr.full_key) for c in kr.destinations)
        if old_parts != new_parts:
            olds = {p["owner"]: p for p in old_parts}
            for part in new_parts:
                if olds.get(part["owner"]) != part:
                    key = f"{kr.full_key}/{part['owner'] or 'unassigned'}"
                    changed.update((c, "contribution", key) for c in kr.destinations)
    objective_targets = with_ancestors(journey.app.mappings.objectives, objective_targets)
    old = {e["key"]: e for e in journey.second.as_json()["objectives"]}
    new = {e["key"]: e for e in journey.third.as_json()["objectives"]}
    for key, entry in new.items():
        if entry != old[key]:
            changed.update((c, "objective", key) for c in objective_targets[key])
    return changed


def test_changed_rows_rewrite_only_the_affected_records(journey: Journey) -> None:
    """After opportunities are won in Salesforce, a sync writes exactly the KRs and objectives whose values changed."""
    assert len(journey.won) == WON
    third = journey.third
    assert third.outcome == "succeeded", third.error
    changed = _changed(journey)
    changed_krs = {key for _, obj, key in changed if obj == "key_result"}
    assert "2026-H2/grow-recurring-revenue/won-revenue" in changed_krs
    assert "2026-Q3/consultation-conversion/win-rate" in changed_krs
    assert "2026-Q3/onboarding-delight/new-customer-nps" not in changed_krs  # HubSpot data
    assert len(changed_krs) < 34
    assert journey.written_third == changed
    writes = third.writes.as_dict()
    for connector in ("salesforce", "hubspot"):
        mine = {k for k in changed if k[0] == connector}
        assert writes.get(connector, {}).get("upserted", 0) == len(mine)
    values = {e["key"]: e["value"] for e in third.as_json()["key_results"]}
    for connector, obj, key in changed:
        if obj == "key_result":
            got = journey.after_third[connector, obj][key]["current_value"]
            assert got == pytest.approx(values[key], rel=1e-9, abs=TOLERANCE[connector])


DOCUMENTED_KR_KEYS = {
    "key",
    "objective",
    "source",
    "metric",
    "value",
    "start",
    "target",
    "progress",
    "score",
    "expected",
    "forecast_score",
    "forecast",
    "accumulates",
    "status",
    "error",
    "parent",
    "breakdown",
    "breakdown_error",
}


def test_cli_sync_json_prints_the_documented_report(journey: Journey) -> None:
    """`okrsync sync --json` prints one JSON object with the documented keys, agreeing with the in-process sync."""
    config = journey.sandbox.write_config("cli")
    result = run_okrsync(
        "sync",
        "--json",
        "--config",
        str(config),
        "--mappings",
        str(MAPPINGS),
        "--as-of",
        "2026-08-17",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout[:2000]
    data = json.loads(lines[0])
    assert {"run_id", "as_of", "key_results", "objectives", "writes", "api_calls"} <= set(data)
    assert data["as_of"] == "2026-08-17"
    assert data["outcome"] == "succeeded"
    assert all(set(e) == DOCUMENTED_KR_KEYS for e in data["key_results"])
    assert all(set(e) == {"key", "score", "forecast_score", "status"} for e in data["objectives"])
    in_process = journey.third.as_json()
    # the same CRM data on the same day: the same numbers (a fresh store, so everything is written)
    assert data["key_results"] == in_process["key_results"]
    assert data["objectives"] == in_process["objectives"]
    keys = expected_keys(journey.app)
    assert data["writes"] == {
        name: {
            "upserted": sum(
                len(keys[name, o]) for o in ("key_result", "objective", "contribution")
            ),
            "unchanged": 0,
            "failed": 0,
        }
        for name in ("hubspot", "salesforce")
    }
    broken_down = {e["key"] for e in data["key_results"] if e["breakdown"] is not None}
    assert broken_down == {
        "2026-Q3/healthy-pipeline/q4-pipeline",
        "2026-Q3/true-hunters/won-revenue",
    }
    assert set(data["api_calls"]) == {"hubspot", "salesforce"}
    assert all(n > 0 for n in data["api_calls"].values())


def _folded(text: str, objective_key: str) -> str:
    """A mapping's objective description as YAML folds it (ruamel's plain safe loader)."""
    data = YAML(typ="safe", pure=True).load(StringIO(text))
    return next(o["description"] for o in data["objectives"] if o["key"] == objective_key)


def test_folded_description_reaches_the_crm_as_yaml_folds_it(journey: Journey) -> None:
    """A folded `description:` in a mapping reaches the CRM as YAML folds it, without control characters."""
    key = "2026-H2/grow-recurring-revenue"
    want = _folded(
        (MAPPINGS / "company-2026.yaml").read_text(encoding="utf-8"), "grow-recurring-revenue"
    )
    assert "second half" in want
    records = [
        records[key]
        for (_, obj), records in journey.after_first.items()
        if obj == "objective" and key in records
    ]
    assert records
    assert [r["description"] for r in records] == [want] * len(records)
