"""The shipped example: product usage from a database, published to Salesforce.

``connectors/sql/examples`` holds a configuration with a ``warehouse`` (type
``sql``), the table's DDL for PostgreSQL and a mapping whose key result reads
the catalog's ``product_usage_rate`` from it and is published to Salesforce.
The demo's sandboxes have no database, so the example lives beside the
connector rather than in ``mappings/`` (which the demo syncs): here it is
validated as shipped, and run end to end against PostgreSQL and the
Salesforce sandbox, read back through simple-salesforce.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from ruamel.yaml import YAML
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.cli import app as cli
from okrsync.crm_objects import OKR_OBJECTS
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync_salesforce_sandbox import start_sandbox
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.server import SandboxOptions

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KEY = "2026-Q3/first-month-success/core-product-usage"
FIELDS = (
    "OKR_Key__c, Current_Value__c, Start_Value__c, Target_Value__c, Score__c, Source__c, "
    "Metric__c, Objective__r.OKR_Key__c"
)
MOMENT = datetime(2026, 8, 17, 12, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_okrsync_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OKRSYNC_"):
            monkeypatch.delenv(name)


def test_the_example_validates_as_shipped() -> None:
    """`okrsync validate` accepts the example configuration and mapping (no database needed)."""
    result = runner.invoke(
        cli,
        [
            "validate",
            "--config",
            str(EXAMPLES / "okrsync.yaml"),
            "--mappings",
            str(EXAMPLES / "mappings"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "valid — 1 objectives, 1 key results, cycles 2026-Q3, 1 files" in result.stdout


def test_okrsync_metrics_lists_the_sql_catalog() -> None:
    """`okrsync metrics` shows the sql connector's example metric for the warehouse instance."""
    result = runner.invoke(
        cli,
        [
            "metrics",
            "--config",
            str(EXAMPLES / "okrsync.yaml"),
            "--mappings",
            str(EXAMPLES / "mappings"),
            "--source",
            "warehouse",
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "product_usage_rate" in result.stdout
    assert "percent" in result.stdout
    assert "okrsync_sql/catalog.yaml" in result.stdout


# signed on, days active in the first month
CUSTOMERS = [
    *(
        (date(2026, 7, 1) + timedelta(days=4 * i), days)
        for i, days in enumerate([12, 9, 8, 15, 3, 0, 20, 8, 1, 11])
    ),
    (date(2026, 6, 20), 30),  # signed before the cycle
    (date(2026, 6, 28), 25),
    (date(2026, 8, 20), 0),  # after the as-of date
]


def _config(tmp_path: Path, salesforce: dict[str, object]) -> Path:
    """The example configuration with Salesforce pointed at the sandbox and a state store here."""
    yaml = YAML()
    data = yaml.load((EXAMPLES / "okrsync.yaml").read_text(encoding="utf-8"))
    data["connectors"]["salesforce"] = {k: v for k, v in salesforce.items() if k != "type"}
    data["store_url"] = f"sqlite:///{tmp_path / 'state.db'}"
    out = io.StringIO()
    yaml.dump(data, out)
    path = tmp_path / "okrsync.yaml"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _key_result(box) -> dict[str, object]:
    """The key-result record okrsync wrote to the sandbox, read with simple-salesforce."""
    with requests.Session() as session:
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the sandbox's CA
        session.verify = str(box.ca_file)
        sf = Salesforce(instance_url=box.instance_url, session_id=box.session_id, session=session)
        soql = f"SELECT {FIELDS} FROM OKR_Key_Result__c WHERE OKR_Key__c = '{KEY}'"  # noqa: S608
        rows = sf.query(soql)["records"]
    assert len(rows) == 1
    return dict(rows[0])


@pytest.mark.postgres
def test_a_key_result_from_postgresql_is_published_to_salesforce(pg_url, tmp_path) -> None:
    """The example table in PostgreSQL gives the key result's value, written to Salesforce; a change there follows."""
    source = sa.create_engine(pg_url)
    with source.begin() as conn:
        conn.exec_driver_sql((EXAMPLES / "customer_activity.sql").read_text(encoding="utf-8"))
        conn.execute(
            sa.text(
                "INSERT INTO customer_activity (customer_id, account_name, signed_on, active_days_first_month) "
                "VALUES (:id, :name, :signed, :days)"
            ),
            [
                {"id": 100 + i, "name": f"Customer {i}", "signed": signed, "days": days}
                for i, (signed, days) in enumerate(CUSTOMERS)
            ],
        )
    box = start_sandbox(SandboxOptions(seed=3, size=200, as_of=MOMENT), Accounting())
    registry = PluginRegistry.from_entry_points()
    env = {
        "OKRSYNC_CONNECTORS__SALESFORCE__SESSION_ID": box.session_id,
        "OKRSYNC_CONNECTORS__WAREHOUSE__URL": pg_url,
    }
    try:
        settings = load_config(
            _config(tmp_path, box.connector_settings()),
            EXAMPLES / "mappings",
            registry=registry,
            env=env,
            log=False,
        )
        loaded = load_mappings_for(settings, registry)
        db = open_store(settings.store_url.get_secret_value())
        connectors = connect(settings, registry, loaded.sources(), box.clock, db)
        assert sorted(connectors) == ["salesforce", "warehouse"]
        connectors["salesforce"].provision(OKR_OBJECTS)
        application = App(settings, registry, loaded, db, connectors, box.clock)
        try:
            first = application.engine().run("sync", MOMENT.date()).as_json()
            (kr,) = first["key_results"]
            assert (kr["value"], kr["score"]) == (0.7, 0.4)  # 7 of 10 active
            assert kr["progress"] == pytest.approx(0.4)
            assert (
                first["writes"]["salesforce"]["upserted"] == 2
            )  # the objective and the key result
            assert set(first["writes"]) == {"salesforce"}
            assert first["api_calls"]["warehouse"] >= 1
            record = _key_result(box)
            assert record["Current_Value__c"] == 0.7
            assert (record["Start_Value__c"], record["Target_Value__c"], record["Score__c"]) == (
                0.6,
                0.85,
                0.4,
            )
            assert (record["Source__c"], record["Metric__c"]) == ("warehouse", "product_usage_rate")
            assert record["Objective__r"]["OKR_Key__c"] == "2026-Q3/first-month-success"

            with source.begin() as conn:  # a customer gets going: the trigger moves updated_at
                conn.execute(
                    sa.text(
                        "UPDATE customer_activity SET active_days_first_month = 10 WHERE customer_id = 104"
                    )
                )
            second = application.engine().run("sync", MOMENT.date()).as_json()
            assert second["key_results"][0]["value"] == 0.8
            assert _key_result(box)["Current_Value__c"] == 0.8
        finally:
            application.close()
    finally:
        box.stop()
        source.dispose()
