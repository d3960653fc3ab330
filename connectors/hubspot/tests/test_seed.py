"""Seeding from the neutral dataset, loading JSON Lines folders, starting through the plugin."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.dataset import Dataset
from okrsync_sandbox.plugins import installed_sandboxes
from okrsync_sandbox.server import SandboxOptions

AS_OF = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    """The dataset the session sandbox was seeded with."""
    return Dataset(7, "small", history="hubspot")


def test_every_neutral_record_becomes_an_object(box: Any, dataset: Dataset) -> None:
    """Users, accounts, deals, leads, activities and responses all land, one object each."""
    counts = dataset.counts(AS_OF)
    tasks = sum(1 for a in dataset.activities(AS_OF) if a.kind == "task")
    assert box.loaded["owners"] == counts["users"]
    assert box.loaded["companies"] == counts["accounts"]
    assert box.loaded["deals"] == counts["deals"]
    assert box.loaded["contacts"] == counts["leads"]
    responses = sum(1 for _ in dataset.lead_responses(AS_OF))
    surveys = sum(1 for _ in dataset.onboarding_surveys(AS_OF))
    assert box.loaded["tasks"] == tasks + responses
    assert box.loaded["meetings"] == counts["activities"] - tasks
    assert box.loaded["feedback_submissions"] == counts["nps_responses"] + surveys


def test_deals_keep_amount_stage_and_flags(raw: Any, dataset: Dataset) -> None:
    """A won and a lost deal read back with HubSpot's stage names and closed flags."""
    for deal in dataset.deals(AS_OF):
        if not deal.is_closed or deal.amount is None:
            continue
        number = 2_000_000 + int(deal.id.split("-")[1])
        props = raw(
            "GET",
            f"/crm/v3/objects/deals/{number}?properties=amount,dealstage,hs_is_closed,hs_is_closed_won,closedate",
        ).json()["properties"]
        assert props["dealstage"] == ("closedwon" if deal.is_won else "closedlost")
        assert props["hs_is_closed"] == "true"
        assert props["hs_is_closed_won"] == ("true" if deal.is_won else "false")
        assert float(props["amount"]) == deal.amount
        assert props["closedate"] == f"{deal.close_date.isoformat()}T00:00:00.000Z"
        break
    else:
        pytest.fail("no closed deal in the dataset")


def test_deals_carry_hubspots_default_deal_type(client: Any, dataset: Dataset) -> None:
    """`dealtype` is HubSpot's radio select (New/Existing Business), set on every seeded deal."""
    prop = client.crm.properties.core_api.get_by_name("deals", "dealtype")
    assert (prop.type, prop.field_type, prop.label) == ("enumeration", "radio", "Deal Type")
    assert [(o.value, o.label, o.display_order, o.hidden) for o in prop.options] == [
        ("newbusiness", "New Business", 0, False),
        ("existingbusiness", "Existing Business", 1, False),
    ]
    since = {
        a.id: a.customer_since
        for a in dataset.accounts(AS_OF)
        if a.customer_since is not None and a.customer_since <= AS_OF.date()
    }
    existing = {
        str(2_000_000 + int(d.id.split("-")[1]))
        for d in dataset.deals(AS_OF)
        if d.account_id in since and since[d.account_id] < d.created.date()
    }
    found: set[str] = set()
    after = None
    while True:
        page = client.crm.deals.search_api.do_search(
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "dealtype",
                                "operator": "EQ",
                                "value": "existingbusiness",
                            }
                        ]
                    }
                ],
                "limit": 100,
                **({"after": after} if after else {}),
            }
        )
        found.update(r.id for r in page.results)
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    assert existing
    assert found == existing


def test_contacts_carry_lifecycle_stage_and_qualification(raw: Any, dataset: Dataset) -> None:
    """A qualified lead is a contact with its stage and sales-qualified date."""
    lead = next(lead for lead in dataset.leads(AS_OF) if lead.qualified_on is not None)
    assert lead.qualified_on is not None
    number = 3_000_000 + int(lead.id.split("-")[1])
    props = raw(
        "GET",
        f"/crm/v3/objects/contacts/{number}?properties=lifecyclestage,email,"
        "hs_lifecyclestage_salesqualifiedlead_date",
    ).json()["properties"]
    assert props["lifecyclestage"] == lead.lifecycle_stage
    assert props["email"] == lead.email
    assert props["hs_lifecyclestage_salesqualifiedlead_date"].startswith(
        lead.qualified_on.date().isoformat()
    )


def test_companies_are_customers_from_customer_since(raw: Any, dataset: Dataset) -> None:
    """A company with customer_since before as-of is a customer and keeps the date."""
    account = next(
        a for a in dataset.accounts(AS_OF) if a.customer_since and a.customer_since <= AS_OF.date()
    )
    assert account.customer_since is not None
    number = 1_000_000 + int(account.id.split("-")[1])
    props = raw(
        "GET", f"/crm/v3/objects/companies/{number}?properties=lifecyclestage,customer_since,name"
    ).json()["properties"]
    assert props == {
        **props,
        "lifecyclestage": "customer",
        "customer_since": account.customer_since.isoformat(),
        "name": account.name,
    }


def test_deals_are_associated_with_their_company(client: Any, dataset: Dataset) -> None:
    """Each seeded deal is associated with its account's company."""
    from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest  # type: ignore[import-untyped]  # noqa: PLC0415

    deal = next(iter(dataset.deals(AS_OF)))
    number = 2_000_000 + int(deal.id.split("-")[1])
    read = client.crm.associations.v4.batch_api.get_page(
        "deals",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": str(number)}]),
    )
    company = 1_000_000 + int(deal.account_id.split("-")[1])
    assert [t.to_object_id for t in read.results[0].to] == [str(company)]


def test_first_outreach_is_a_task_and_the_contacts_first_outreach_date(
    client: Any, raw: Any, dataset: Dataset
) -> None:
    """A lead's first response is a completed task on the contact, and its hs_first_outreach_date."""
    from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest  # type: ignore[import-untyped]  # noqa: PLC0415

    response = next(iter(dataset.lead_responses(AS_OF)))
    contact = 3_000_000 + int(response.lead_id.split("-")[1])
    props = raw(
        "GET",
        f"/crm/v3/objects/contacts/{contact}?properties=hs_first_outreach_date,hs_lastmodifieddate",
    ).json()["properties"]
    stamp = response.at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert props["hs_first_outreach_date"] == stamp
    assert props["hs_lastmodifieddate"] >= stamp  # the calculated property changed the contact
    task = 8_000_000 + int(response.id.split("-")[1])
    task_props = raw(
        "GET", f"/crm/v3/objects/tasks/{task}?properties=hs_task_status,hs_createdate"
    ).json()["properties"]
    assert task_props["hs_task_status"] == "COMPLETED"
    assert task_props["hs_createdate"] == stamp
    read = client.crm.associations.v4.batch_api.get_page(
        "tasks",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": str(task)}]),
    )
    assert [t.to_object_id for t in read.results[0].to] == [str(contact)]


def test_company_total_revenue_sums_its_won_deals(raw: Any, dataset: Dataset) -> None:
    """A company's calculated total_revenue is the amount of its deals won so far; none won, none."""
    won: dict[str, float] = {}
    for deal in dataset.deals(AS_OF):
        if deal.is_won and deal.amount:
            won[deal.account_id] = won.get(deal.account_id, 0.0) + deal.amount
    several = max(won, key=won.__getitem__)
    loser = next(a.id for a in dataset.accounts(AS_OF) if a.id not in won)
    for account, want in ((several, won[several]), (loser, None)):
        number = 1_000_000 + int(account.split("-")[1])
        props = raw("GET", f"/crm/v3/objects/companies/{number}?properties=total_revenue").json()[
            "properties"
        ]
        got = props.get("total_revenue")
        assert (float(got) if got else None) == want


def test_folder_rejects_unknown_properties(start_box: Any, tmp_path: Any) -> None:
    """A JSON Lines file naming a property the object lacks fails with its file and line."""
    folder = tmp_path / "hubspot"
    folder.mkdir()
    (folder / "deals.jsonl").write_text(
        json.dumps({"id": "1", "properties": {"dealname": "ok"}})
        + "\n"
        + json.dumps({"id": "2", "properties": {"bogus": "x"}})
        + "\n"
    )
    with pytest.raises(ValueError, match=r'deals\.jsonl:2: Property "bogus" does not exist'):
        start_box(data_dir=tmp_path)


def test_folder_rejects_unknown_object_types(start_box: Any, tmp_path: Any) -> None:
    """A file whose name is no object type fails."""
    folder = tmp_path / "hubspot"
    folder.mkdir()
    (folder / "spaceships.jsonl").write_text("{}\n")
    with pytest.raises(ValueError, match="unknown object type 'spaceships'"):
        start_box(data_dir=tmp_path)


def test_plugin_starts_a_sandbox_the_runner_can_describe(tmp_path: Any) -> None:
    """The installed sandbox plugin serves a portal and describes how to reach it."""
    plugin = {p.name: p for p in installed_sandboxes()}["hubspot"]
    running = plugin.start_sandbox(SandboxOptions(data_dir=tmp_path, seed=3), Accounting())
    try:
        info = running.info()
        assert info["host"].startswith("http://127.0.0.1:")
        assert info["access_token"].startswith("pat-na1-")
        assert running.connector_settings() == {"type": "hubspot", "host": info["host"]}
        assert running.connector_secrets() == {"access_token": info["access_token"]}
        assert running.name == "hubspot"
        assert running.faults is not None
    finally:
        running.stop()
