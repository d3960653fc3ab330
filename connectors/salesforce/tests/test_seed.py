"""Starting the sandbox: seeding from the neutral dataset, loading folders, the plugin hook."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest

from okrsync.errors import ConfigurationError
from okrsync.plugins import PluginRegistry
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce_sandbox import plugin
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_salesforce_sandbox.seed import ONBOARDING_SURVEYS, RESPONSE_TASKS
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.dataset import Dataset
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

AS_OF = datetime(2026, 8, 15, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded_sf(
    seeded: RunningSalesforceSandbox, make_client: Callable[..., Salesforce]
) -> Iterator[Salesforce]:
    """A client of the seeded sandbox."""
    sf = make_client(seeded)
    yield sf
    sf.session.close()


def test_seeded_counts_match_the_dataset(seeded_sf: Salesforce) -> None:
    """Each object holds as many rows as the dataset has entities as of the sandbox's date."""
    dataset = Dataset(3, "small", history="salesforce")
    counts = dataset.counts(AS_OF)
    activities = list(dataset.activities(AS_OF))
    responses = sum(1 for _ in dataset.lead_responses(AS_OF))
    surveys = sum(1 for _ in dataset.onboarding_surveys(AS_OF))
    expected = {
        "Account": counts["accounts"],
        "Opportunity": counts["deals"],
        "Lead": counts["leads"],
        "Case": counts["cases"],
        "NPS_Response__c": counts["nps_responses"] + surveys,
        "Task": sum(1 for a in activities if a.kind == "task") + responses,
        "Event": sum(1 for a in activities if a.kind == "event"),
        "User": counts["users"] + 1,
    }
    for sobject, n in expected.items():
        # queryAll: activities closed over a year ago are archived, which query leaves out
        answer = seeded_sf.query(f"SELECT COUNT() FROM {sobject}", include_deleted=True)  # noqa: S608  (SOQL from test constants)
        assert answer["totalSize"] == n, sobject


def test_seeded_values_follow_the_dataset(seeded_sf: Salesforce) -> None:
    """Deals map to opportunities field by field, with SystemModstamp = last change."""
    deal = next(iter(Dataset(3, "small", history="salesforce").deals(AS_OF)))
    number = int(deal.id.rsplit("-", 1)[1])
    record = seeded_sf.Opportunity.get(make_id("006", number))
    assert record["Name"] == deal.name
    assert record["AccountId"] == make_id("001", int(deal.account_id.rsplit("-", 1)[1]))
    assert record["Amount"] == deal.amount
    assert record["IsClosed"] is deal.is_closed
    assert record["IsWon"] is deal.is_won
    assert record["CloseDate"] == deal.close_date.isoformat()
    assert record["SystemModstamp"] == deal.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert record["CreatedDate"] == deal.created.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_seeded_won_revenue_matches_the_dataset(seeded_sf: Salesforce) -> None:
    """The catalog's won revenue over SOQL equals the sum over the dataset."""
    deals = list(Dataset(3, "small", history="salesforce").deals(AS_OF))
    expected = sum(
        d.amount or 0
        for d in deals
        if d.is_won and date(2026, 7, 1) <= d.close_date <= AS_OF.date()
    )
    result = seeded_sf.query(
        "SELECT SUM(Amount) FROM Opportunity WHERE IsWon = true AND CloseDate = THIS_QUARTER AND CloseDate <= TODAY"
    )
    assert result["records"][0]["expr0"] == pytest.approx(expected)


def test_account_type_follows_customer_since(seeded_sf: Salesforce) -> None:
    """Accounts are Customers once their Customer_Since__c has passed and they have not churned."""
    wrong = seeded_sf.query(
        "SELECT COUNT() FROM Account WHERE Type = 'Customer' AND (Customer_Since__c = null OR Customer_Since__c > TODAY)"
    )
    assert wrong["totalSize"] == 0
    churned = seeded_sf.query(
        "SELECT COUNT() FROM Account WHERE Churned_On__c <= TODAY AND Type != 'Former Customer'"
    )
    assert churned["totalSize"] == 0


def test_first_responses_are_tasks_on_their_lead(seeded_sf: Salesforce) -> None:
    """A lead's first response is a completed Task whose WhoId is the lead, created when the rep reached out."""
    dataset = Dataset(3, "small", history="salesforce")
    leads = {lead.id: lead for lead in dataset.leads(AS_OF)}
    responses = list(dataset.lead_responses(AS_OF))
    assert len(responses) > len(leads) / 2  # most leads are worked
    for response in responses[:: max(1, len(responses) // 5)]:
        lead = leads[response.lead_id]
        number = RESPONSE_TASKS + int(response.id.rsplit("-", 1)[1])
        task = seeded_sf.Task.get(make_id("00T", number))
        assert task["WhoId"] == make_id("00Q", int(lead.id.rsplit("-", 1)[1]))
        assert task["Status"] == "Completed"
        assert task["Type"] == response.channel
        assert task["CreatedDate"] == response.at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        assert lead.created < response.at <= AS_OF
    untouched = [lead for lead in leads.values() if lead.status == "New"]
    answered = {r.lead_id for r in responses}
    assert any(lead.id not in answered for lead in untouched)  # some leads nobody answered yet


def test_onboarding_surveys_are_nps_responses_of_new_customers(seeded_sf: Salesforce) -> None:
    """Each onboarding survey is an NPS response of an account that became a customer weeks before."""
    dataset = Dataset(3, "small", history="salesforce")
    since = {a.id: a.customer_since for a in dataset.accounts(AS_OF)}
    surveys = list(dataset.onboarding_surveys(AS_OF))
    assert surveys
    for survey in surveys:
        started = since[survey.account_id]
        assert started is not None
        assert 14 <= (survey.submitted.date() - started).days <= 40
    survey = surveys[-1]
    record = seeded_sf.NPS_Response__c.get(
        make_id(
            seeded_sf.NPS_Response__c.describe()["keyPrefix"],
            ONBOARDING_SURVEYS + int(survey.id.rsplit("-", 1)[1]),
        )
    )
    assert record["Score__c"] == survey.score
    assert record["Survey_Type__c"] == "NPS"
    assert record["Account__c"] == make_id("001", int(survey.account_id.rsplit("-", 1)[1]))


def test_plugin_settings_point_at_the_sandbox(seeded: RunningSalesforceSandbox) -> None:
    """The connector settings and secrets validate as the Salesforce connector's settings."""
    settings = seeded.connector_settings()
    assert settings["type"] == "salesforce"
    model = SalesforceSettings.model_validate(
        {k: v for k, v in settings.items() if k != "type"} | seeded.connector_secrets()
    )
    assert model.instance_url == seeded.instance_url
    assert str(model.ca_file) == str(seeded.ca_file)
    assert set(seeded.info()) >= {
        "instance_url",
        "ca_cert",
        "session_id",
        "token_url",
        "api_version",
    }
    assert "salesforce" in PluginRegistry.from_entry_points()


def test_load_folder_rejects_bad_files(tmp_path: Path) -> None:
    """A folder with an unknown object or field fails with the file and line."""
    for case, (name, line, message) in enumerate(
        (
            ("Widget.jsonl", '{"Name": "x"}', "no object Widget"),
            (
                "Account.jsonl",
                '{"Name": "x", "Colour__c": "red"}',
                "Account.jsonl:1: INVALID_FIELD",
            ),
            ("Account.jsonl", '{"Type": "Customer"}', "Account.jsonl:1: REQUIRED_FIELD_MISSING"),
        )
    ):
        folder = tmp_path / f"case{case}" / "salesforce"
        folder.mkdir(parents=True)
        (folder / name).write_text(line + "\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match=message):
            plugin.start_sandbox(SandboxOptions(data_dir=folder.parent, as_of=AS_OF), Accounting())


def test_loaded_soft_deleted_rows(tmp_path: Path, make_client: Callable[..., Any]) -> None:
    """Rows loaded with IsDeleted true are only visible to queryAll."""
    folder = tmp_path / "salesforce"
    folder.mkdir()
    (folder / "Account.jsonl").write_text(
        '{"Name": "Live"}\n{"Name": "Gone", "IsDeleted": true, "SystemModstamp": "2026-08-10T00:00:00Z"}\n',
        encoding="utf-8",
    )
    box = plugin.start_sandbox(SandboxOptions(data_dir=tmp_path, as_of=AS_OF), Accounting())
    sf = make_client(box)
    try:
        assert [r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]] == ["Live"]
        everything = sf.query_all("SELECT Name, IsDeleted FROM Account", include_deleted=True)[
            "records"
        ]
        assert [(r["Name"], r["IsDeleted"]) for r in everything] == [
            ("Live", False),
            ("Gone", True),
        ]
    finally:
        sf.session.close()
        box.stop()
