"""`okrsync status` and `okrsync provision` through the command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

from okrsync.app import App, load_config, load_mappings_for
from okrsync.cli import app
from okrsync.connector import FieldInfo
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

runner = CliRunner()
MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: salesforce, metric: {count: Opportunity}, target: 10}
"""


def test_status_reports_runs_key_results_and_quota(tmp_path: Path) -> None:
    """After a sync, status shows the run, each KR's latest evaluation and the CRM quota."""
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING)
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {tmp_path / 'maps'}\n"
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(config, registry=registry, env={}, log=False)
    crm = InMemoryConnector(
        "salesforce", objects={"Opportunity": {"Amount": FieldInfo("Amount", "currency")}}
    )
    for _ in range(4):
        crm.put("Opportunity", {"Amount": 1.0})
    application = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(settings.store_url.get_secret_value()),
        {"salesforce": crm},
        lambda: datetime(2026, 8, 3, 8, tzinfo=UTC),
    )
    application.engine().run("sync", date(2026, 8, 3))
    application.close()
    result = runner.invoke(app, ["status", "--config", str(config), "--json"], env={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(r["kind"], r["outcome"], r["written"]) for r in data["runs"]] == [
        ("sync", "succeeded", 2)
    ]
    assert [(k["key"], k["value"], k["status"]) for k in data["key_results"]] == [
        ("Q3/grow/deals", 4.0, "on_track")
    ]
    assert data["quota"] == {"salesforce": {"remaining": None, "limit": None}}
    table = runner.invoke(app, ["status", "--config", str(config)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "Q3/grow\n" in table.stdout.replace(" ", "")  # the objective, then its key results
    assert "  deals " in table.stdout


def test_provision_dry_run_then_real_then_nothing_left(tmp_path: Path) -> None:
    """`provision --dry-run` lists the changes, `provision` makes them, a second run has none."""
    group = start_sandboxes(SandboxOptions(size=300, seed=2))
    try:
        config = tmp_path / "sb.yaml"
        write_config(group, config)
        dry = runner.invoke(app, ["provision", "--config", str(config), "--dry-run"], env={})
        assert dry.exit_code == 0, dry.output
        assert "salesforce: would change" in dry.stdout
        assert "create_object OKR_Key_Result__c" in dry.stdout
        assert "hubspot: would change" in dry.stdout
        real = runner.invoke(app, ["provision", "--config", str(config)], env={})
        assert real.exit_code == 0, real.output
        # each change once, on stdout; the log (stderr, info level) does not repeat them
        assert "provision.change" not in real.stderr
        assert len(real.stderr.splitlines()) <= 3, real.stderr
        counts = {
            line.split(":")[0]: line
            for line in real.stdout.splitlines()
            if line.endswith(tuple("0123456789"))
        }
        assert counts["salesforce"] != "salesforce: changed 0"
        # what the Tooling API cannot create: the one deploy command, with the installed path
        deploy = next(line for line in real.stdout.splitlines() if "sf project deploy" in line)
        source_dir = Path(deploy.split("--source-dir ", 1)[1].strip())
        assert deploy.strip().startswith("sf project deploy start --source-dir ")
        assert (source_dir / "main" / "default" / "applications" / "OKRs.app-meta.xml").is_file()
        assert "hubspot: then deploy" not in real.stdout
        again = runner.invoke(app, ["provision", "--config", str(config)], env={})
        assert again.exit_code == 0, again.output
        assert "salesforce: changed 0" in again.stdout
        assert "hubspot: changed 0" in again.stdout
    finally:
        group.stop()
