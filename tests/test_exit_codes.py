"""Exit codes a scheduler can trust, and failing fast when the CRMs cannot be reached."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from textwrap import dedent
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from okrsync.cli import app
from okrsync.connector import FieldInfo
from okrsync.engine import SyncEngine
from okrsync.errors import RetriableConnectorError
from okrsync.mapping.loader import load_mappings
from okrsync.outcome import ExitCode, cycle_exit_code, parts_exit_code
from okrsync.state.db import open_store
from okrsync.state.models import OutboxRow
from okrsync.testing import InMemoryConnector
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from okrsync.connector import LogicalObject, UpsertOutcome
    from okrsync_sandbox.runner import SandboxGroup

runner = CliRunner()
AS_OF = date(2026, 8, 17)
MAPPING = dedent("""\
    version: 1
    cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
    objectives:
      - key: grow
        title: Grow
        key_results:
          - {key: opps, title: Opportunities, source: salesforce, metric: {count: Opportunity}, target: 10}
          - {key: deals, title: Deals, source: hubspot, metric: {count: deals}, target: 10}
""")
MEMORY_MAPPING = dedent("""\
    version: 1
    cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
    objectives:
      - key: grow
        title: Grow
        key_results:
          - {key: a, title: A, source: a, metric: {count: deals}, target: 10}
          - {key: b, title: B, source: b, metric: {count: deals}, target: 10}
""")
DEALS = {"deals": {"amount": FieldInfo("amount", "currency")}}
DOWN = RetriableConnectorError("connection refused", crm="test")


def _report(outcome: str, errors: Sequence[bool], writes: dict[str, dict[str, int]]) -> Any:
    return {
        "kind": "sync",
        "outcome": outcome,
        "key_results": [
            {"key": f"k{i}", "error": "x" if e else None} for i, e in enumerate(errors)
        ],
        "writes": writes,
    }


def test_cycle_exit_codes_follow_what_synced() -> None:
    """0 all synced, 1 partly, 3 nothing: every key result failed or no write landed."""
    ok = {"crm": {"upserted": 2, "unchanged": 1, "failed": 0}}
    assert cycle_exit_code(_report("succeeded", [False, False], ok)) is ExitCode.SYNCED
    assert cycle_exit_code(_report("partial", [False, True], ok)) is ExitCode.PARTLY_SYNCED
    assert cycle_exit_code(_report("partial", [True, True], ok)) is ExitCode.NOTHING_SYNCED
    lost = {"crm": {"upserted": 0, "unchanged": 0, "failed": 3}}
    assert cycle_exit_code(_report("partial", [False, False], lost)) is ExitCode.NOTHING_SYNCED
    some = {"crm": {"upserted": 0, "unchanged": 2, "failed": 1}}
    assert cycle_exit_code(_report("partial", [False, False], some)) is ExitCode.PARTLY_SYNCED
    assert cycle_exit_code(_report("stopped_quota", [], {})) is ExitCode.NOTHING_SYNCED
    assert cycle_exit_code(_report("failed", [False], ok)) is ExitCode.NOTHING_SYNCED
    plan = {**_report("partial", [False, True], lost), "kind": "plan"}
    assert cycle_exit_code(plan) is ExitCode.PARTLY_SYNCED  # a plan writes nothing
    assert parts_exit_code(2, 0) is ExitCode.SYNCED
    assert parts_exit_code(1, 1) is ExitCode.PARTLY_SYNCED
    assert parts_exit_code(0, 2) is ExitCode.NOTHING_SYNCED


def _engine(tmp_path: Path, a: InMemoryConnector, b: InMemoryConnector) -> SyncEngine:
    (tmp_path / "maps").mkdir(exist_ok=True)
    (tmp_path / "maps" / "q3.yaml").write_text(MEMORY_MAPPING)
    mappings = load_mappings(tmp_path / "maps", sources={"a": "memory", "b": "memory"}, catalogs={})
    return SyncEngine(
        workspace="test",
        mappings=mappings,
        connectors={"a": a, "b": b},
        db=open_store(f"sqlite:///{tmp_path / 'state.db'}"),
        clock=lambda: datetime(2026, 8, 17, 8, tzinfo=UTC),
    )


def test_unreachable_crms_are_not_written_and_their_writes_wait(tmp_path: Path) -> None:
    """A CRM whose pulls could not reach it gets no write attempt; its writes stay pending."""
    a, b = InMemoryConnector("a", objects=DEALS), InMemoryConnector("b", objects=DEALS)
    a.fail_next = [DOWN] * 10
    b.fail_next = [DOWN] * 10
    engine = _engine(tmp_path, a, b)
    report = engine.run("sync", AS_OF)
    assert (10 - len(a.fail_next), 10 - len(b.fail_next)) == (1, 1)  # the describe, nothing more
    assert a.writes == b.writes == []
    data = report.as_json()
    assert data["unreachable"] == ["a", "b"]
    assert data["writes"] == {
        "a": {"upserted": 0, "unchanged": 0, "failed": 2},
        "b": {"upserted": 0, "unchanged": 0, "failed": 2},
    }
    assert cycle_exit_code(data) is ExitCode.NOTHING_SYNCED
    with Session(engine.db) as session:
        pending = session.exec(select(OutboxRow).where(OutboxRow.state == "pending")).all()
    assert len(pending) == 4
    a.fail_next, b.fail_next = [], []
    again = engine.run("sync", AS_OF).as_json()
    assert again["outcome"] == "succeeded"
    assert set(a.okr["key_result"]) == {"Q3/grow/a"}


class _WritesDown(InMemoryConnector):
    """Pulls work; every write finds the CRM unavailable."""

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        self.writes.append((obj.name, len(records)))
        raise DOWN


def test_a_crm_unavailable_for_writes_is_tried_once_per_run(tmp_path: Path) -> None:
    """After one write found the CRM unavailable, its other objects are not tried this run."""
    a, b = _WritesDown("a", objects=DEALS), InMemoryConnector("b", objects=DEALS)
    report = _engine(tmp_path, a, b).run("sync", AS_OF).as_json()
    assert a.writes == [("objective", 1)]  # the key results were not tried
    assert report["writes"]["a"] == {"upserted": 0, "unchanged": 0, "failed": 2}
    assert report["writes"]["b"]["upserted"] == 2
    assert cycle_exit_code(report) is ExitCode.PARTLY_SYNCED


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxGroup, Path]]:
    """Both sandbox CRMs, provisioned, with a configuration and two key results over them."""
    folder = tmp_path_factory.mktemp("exit")
    (folder / "maps").mkdir()
    (folder / "maps" / "q3.yaml").write_text(MAPPING)
    group = start_sandboxes(SandboxOptions(size=200, seed=3))
    try:
        config = folder / "sandbox.yaml"
        write_config(group, config, store_url=f"sqlite:///{folder / 'state.db'}")
        with config.open("a") as out:
            out.write(f"mappings: {folder / 'maps'}\n")
        provisioned = runner.invoke(app, ["provision", "-c", str(config)], env={})
        assert provisioned.exit_code == 0, provisioned.output
        yield group, config
    finally:
        group.stop()


FAST = {
    "OKRSYNC_CONNECTORS__SALESFORCE__MAX_RETRIES": "0",
    "OKRSYNC_CONNECTORS__HUBSPOT__MAX_RETRIES": "0",
}


def _run(command: str, config: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        app, [command, "-c", str(config), "--json", "--as-of", AS_OF.isoformat()], env=FAST
    )
    return result.exit_code, json.loads(result.stdout)


def test_cli_exit_codes_all_part_and_nothing_synced(
    sandboxes: tuple[SandboxGroup, Path], tmp_path: Path
) -> None:
    """`sync` and `plan` exit 0 with both CRMs up, 1 with one down and 3 with both down."""
    group, config = sandboxes
    assert _run("sync", config)[0] == 0
    assert _run("plan", config)[0] == 0
    half = tmp_path / "half.yaml"
    dead_port = "127.0.0.1:9"
    hubspot_url = group.sandboxes["hubspot"].info()["host"].removeprefix("http://")
    half.write_text(config.read_text().replace(hubspot_url, dead_port))
    (tmp_path / "sandbox.env").write_text((config.parent / "sandbox.env").read_text())
    code, report = _run("sync", half)
    assert code == ExitCode.PARTLY_SYNCED, report
    assert report["unreachable"] == ["hubspot"]
    assert _run("plan", half)[0] == ExitCode.PARTLY_SYNCED
    dead = tmp_path / "dead.yaml"
    salesforce_url = group.sandboxes["salesforce"].info()["instance_url"].removeprefix("https://")
    dead.write_text(half.read_text().replace(salesforce_url, dead_port))
    code, report = _run("sync", dead)
    assert code == ExitCode.NOTHING_SYNCED, report
    assert report["unreachable"] == ["hubspot", "salesforce"]
    assert all(kr["status"] == "error" for kr in report["key_results"])
    assert _run("plan", dead)[0] == ExitCode.NOTHING_SYNCED


def test_provision_exit_code_when_one_crm_is_down(
    sandboxes: tuple[SandboxGroup, Path], tmp_path: Path
) -> None:
    """`provision` still provisions the CRM it reaches, names the one it cannot, and exits 1."""
    group, config = sandboxes
    hubspot_url = group.sandboxes["hubspot"].info()["host"].removeprefix("http://")
    half = tmp_path / "half.yaml"
    half.write_text(config.read_text().replace(hubspot_url, "127.0.0.1:9"))
    (tmp_path / "sandbox.env").write_text((config.parent / "sandbox.env").read_text())
    result = runner.invoke(app, ["provision", "-c", str(half)], env=FAST)
    assert result.exit_code == ExitCode.PARTLY_SYNCED, result.output
    assert "salesforce: changed 0" in result.stdout
    assert result.stderr.startswith("hubspot: failed: ")


def test_exit_codes_are_documented_where_people_look() -> None:
    """`okrsync --help`, the README and docs/deploy.md each state every exit code."""
    root = Path(__file__).resolve().parents[1]
    help_text = " ".join(runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout.split())
    readme = (root / "README.md").read_text(encoding="utf-8")
    deploy = (root / "docs" / "deploy.md").read_text(encoding="utf-8")
    for code, words in [
        (ExitCode.SYNCED, "everything synced"),
        (ExitCode.PARTLY_SYNCED, "partly synced"),
        (ExitCode.BAD_INPUT, "bad input"),
        (ExitCode.NOTHING_SYNCED, "nothing synced"),
    ]:
        assert f"{int(code)} {words}" in help_text
        assert f"| {int(code)} | {words}" in readme
        assert f"| {int(code)} | {words}" in deploy
