"""A read-only source in okrsync: its key results go to a CRM with `publish_to`, or `validate` says where they fail."""

from __future__ import annotations

import os
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from okrsync.app import load_config, load_mappings_for
from okrsync.cli import app
from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS
from okrsync.errors import FatalConnectorError
from okrsync.plugins import PluginRegistry, writes_okr_objects

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()
CONFIG = dedent("""\
    connectors:
      salesforce: {instance_url: "https://acme.my.salesforce.example.com", auth: session}
      warehouse: {type: sql}
""")
KEY_RESULT_YAML = dedent("""\
    version: 1
    cycle: {{name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}}
    objectives:
      - key: usage
        title: New customers use the product
        key_results:
          - key: active
            title: Active in the first month from 60% to 85%
            source: {source}
            metric: product_usage_rate
            start: 60%
            target: 85%{extra}
""")


@pytest.fixture(autouse=True)
def _no_okrsync_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OKRSYNC_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, source: str, extra: str = "") -> tuple[Path, Path]:
    config = tmp_path / "okrsync.yaml"
    config.write_text(CONFIG)
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "q3.yaml").write_text(KEY_RESULT_YAML.format(source=source, extra=extra))
    return config, folder


def test_the_sql_plugin_says_it_does_not_write() -> None:
    """The plugin declares itself read-only; the CRM plugins write."""
    registry = PluginRegistry.from_entry_points()
    assert not writes_okr_objects(registry.get("sql"))
    assert writes_okr_objects(registry.get("salesforce"))
    assert writes_okr_objects(registry.get("hubspot"))


def test_a_key_result_published_nowhere_is_refused_where_its_source_is(tmp_path: Path) -> None:
    """`source: warehouse` without `publish_to` fails validation at the source's file:line:col, naming the CRMs."""
    config, folder = write(tmp_path, "warehouse")
    result = runner.invoke(app, ["validate", "--config", str(config), "--mappings", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{folder / 'q3.yaml'}:9:17: objectives[0].key_results[0].source: `warehouse` is a "
        "read-only source: it cannot hold this key result; publish it to a CRM with "
        "`publish_to` (one of `salesforce`)"
    )


def test_publishing_to_a_read_only_connector_is_refused_where_it_is_named(tmp_path: Path) -> None:
    """`publish_to: [warehouse]` fails at that entry."""
    config, folder = write(tmp_path, "warehouse", "\n        publish_to: [salesforce, warehouse]")
    result = runner.invoke(app, ["validate", "--config", str(config), "--mappings", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{folder / 'q3.yaml'}:13:34: objectives[0].key_results[0].publish_to[1]: `warehouse` "
        "is a read-only source: it cannot hold key results"
    )


def test_a_key_result_read_from_sql_is_written_only_where_it_is_published(tmp_path: Path) -> None:
    """With `publish_to: [salesforce]` it validates; it is read from the warehouse and written to Salesforce only."""
    config, folder = write(tmp_path, "warehouse", "\n        publish_to: [salesforce]")
    result = runner.invoke(app, ["validate", "--config", str(config), "--mappings", str(folder)])
    assert result.exit_code == 0, result.output
    registry = PluginRegistry.from_entry_points()
    settings = load_config(config, folder, registry=registry, env={}, log=False)
    loaded = load_mappings_for(settings, registry)
    (kr,) = loaded.key_results()
    assert kr.source == "warehouse"
    assert kr.destinations == ("salesforce",)
    assert loaded.sources() == {"salesforce", "warehouse"}


def test_provision_passes_a_read_only_connector_by(tmp_path: Path) -> None:
    """`okrsync provision` says a read-only source has nothing to provision, and succeeds."""
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nconnectors:\n  warehouse: {{type: sql}}\n"
    )
    result = runner.invoke(app, ["provision", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "warehouse: read-only source, nothing to provision"


def test_the_connector_refuses_to_write_read_back_or_provision(sqlite_url, connect) -> None:
    """Each of okrsync's write paths fails at once with a fatal error saying the connector is read-only."""
    connector = connect(sqlite_url)
    calls = (
        lambda: connector.write(KEY_RESULT, [{"key": "k"}]),
        lambda: connector.read_back(KEY_RESULT, ["k"]),
        lambda: connector.provision(OKR_OBJECTS, dry_run=True),
    )
    for call in calls:
        with pytest.raises(FatalConnectorError) as caught:
            call()
        assert caught.value.code == "READ_ONLY"
        assert str(caught.value).startswith(
            "the sql connector is read-only: publish key results from it to a CRM with `publish_to`"
        )
    assert connector.usage().calls == 0  # not even a connection


def test_the_connectors_own_sessions_cannot_change_the_database(any_url, execute, connect) -> None:
    """Even a statement sent on the connector's own connections cannot write: its sessions are read-only."""
    execute(any_url, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    connector = connect(any_url)

    def insert(conn: sa.Connection) -> None:
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        conn.commit()

    with pytest.raises(FatalConnectorError, match=r"read-only transaction|readonly database"):
        connector._db.run("write a row", insert)


@pytest.mark.postgres
def test_a_query_over_the_timeout_stops_with_a_hint(pg_url, connect) -> None:
    """On PostgreSQL `timeout_seconds` bounds each statement; one that runs longer fails at once, saying what to do."""
    connector = connect(pg_url, timeout_seconds=1, max_retries=3)
    with pytest.raises(FatalConnectorError) as caught:
        connector._db.run("wait", lambda conn: conn.execute(sa.text("SELECT pg_sleep(3)")))
    assert caught.value.code == "57014"
    assert "ran longer than `timeout_seconds`" in str(caught.value)
    assert connector.usage().calls == 1  # not retried
