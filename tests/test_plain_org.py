"""A plain Salesforce org: the sandbox can serve one, and `plan` says which metrics it lacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from typer.testing import CliRunner

from okrsync.cli import app
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync_sandbox.runner import SandboxGroup

MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: salesforce, metric: {count: Opportunity}, target: 10}
"""


@pytest.fixture(scope="module")
def plain() -> Iterator[SandboxGroup]:
    """Both sandboxes, Salesforce as a plain org."""
    group = start_sandboxes(SandboxOptions(size=300, seed=2, extra={"org": "plain"}))
    yield group
    group.stop()


def salesforce(group: SandboxGroup) -> Salesforce:
    """simple-salesforce on the group's Salesforce sandbox."""
    info = group.info()["salesforce"]
    session = requests.Session()
    session.verify = info["ca_cert"]
    session.trust_env = False
    return Salesforce(
        instance_url=info["instance_url"], session_id=info["session_id"], session=session
    )


def test_a_plain_org_has_no_churn_dates_and_no_nps_object(plain: SandboxGroup) -> None:
    """Account has no Customer_Since__c/Churned_On__c and NPS_Response__c does not exist."""
    sf = salesforce(plain)
    fields = {f["name"] for f in sf.Account.describe()["fields"]}
    assert {"Name", "Industry"} <= fields
    assert not {"Customer_Since__c", "Churned_On__c"} & fields
    assert "NPS_Response__c" not in {o["name"] for o in sf.describe()["sobjects"]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM NPS_Response__c")
    assert caught.value.content[0]["errorCode"] == "INVALID_TYPE"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    sf.session.close()


def run_plan(group: SandboxGroup, folder: Path, metrics: str | None = None) -> tuple[int, str]:
    """`okrsync plan` with one key result over the group; exit code and stderr."""
    maps = folder / "maps"
    maps.mkdir()
    (maps / "q3.yaml").write_text(MAPPING)
    if metrics is not None:
        (maps / "metrics.yaml").write_text(metrics)
    config = folder / "sb.yaml"
    write_config(group, config, store_url=f"sqlite:///{folder / 'state.db'}")
    result = CliRunner().invoke(
        app, ["plan", "--config", str(config), "--mappings", str(maps), "--as-of", "2026-08-15"]
    )
    return result.exit_code, result.stderr


def test_plan_names_each_metric_the_org_cannot_compute_and_how_to_map_it(
    plain: SandboxGroup, tmp_path: Path
) -> None:
    """Churn and NPS are named with what is missing, and an override to fill in is shown."""
    code, said = run_plan(plain, tmp_path)
    assert code == 0, said
    assert "salesforce lacks the data of 2 named metric(s):" in said
    assert (
        "  customer_churn_rate: no field `Account.Churned_On__c`, "
        "no field `Account.Customer_Since__c`"
    ) in said
    assert "  nps: no object `NPS_Response__c`" in said
    assert "mappings/metrics.yaml" in said
    assert "customer_since: <your field>" in said
    assert "nps: <your object>.<your field>" in said
    assert "won_revenue" not in said
    assert "hubspot lacks" not in said


def test_an_override_in_metrics_yaml_makes_the_metric_computable(
    plain: SandboxGroup, tmp_path: Path
) -> None:
    """Mapping NPS to a field the org has takes it off the list."""
    metrics = (
        "version: 1\nmetrics:\n  salesforce:\n    nps:\n"
        "      metric: {nps: Case.First_Response_Hours__c, window: {CreatedDate: cycle_to_date}}\n"
    )
    code, said = run_plan(plain, tmp_path, metrics)
    assert code == 0, said
    assert "lacks the data of 1 named metric(s)" in said
    assert "customer_churn_rate" in said
    assert "  nps:" not in said
