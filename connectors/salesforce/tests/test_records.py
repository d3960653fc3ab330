"""sObject REST: reads, writes, validation, upserts, deletions and the deleted/updated resources."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from okrsync_salesforce_sandbox.ids import make_id

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

ACME = make_id("001", 101)
ADA = make_id("005", 101)


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        call()
    return dict(caught.value.content[0])


def test_get_record_has_every_described_field(sf: Salesforce) -> None:
    """GET /sobjects/Account/{id} answers every field of the describe, typed."""
    record = sf.Account.get(ACME)
    fields = [f["name"] for f in sf.Account.describe()["fields"]]
    assert list(record)[1:] == fields
    assert record["Name"] == "Acme Corp"
    assert record["AnnualRevenue"] == 1_000_000.0
    assert record["NumberOfEmployees"] == 120
    assert record["Customer_Since__c"] == "2025-01-15"
    assert record["IsDeleted"] is False
    assert record["CreatedDate"] == "2025-01-10T09:00:00.000+0000"


def test_get_with_fields_and_15_character_id(sf: Salesforce) -> None:
    """?fields= limits the answer and a 15-character id finds the record."""
    record = sf.Account.get(ACME[:15], params={"fields": "Name,Type"})
    assert record == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{ACME}"},
        "Name": "Acme Corp",
        "Type": "Customer",
    }


def test_unknown_resources_are_not_found(
    sf: Salesforce, session_for: Callable[..., requests.Session], sandbox: RunningSalesforceSandbox
) -> None:
    """Unknown ids, objects and paths answer 404 NOT_FOUND."""
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(make_id("001", 999))
    assert caught.value.content == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Widget__c.describe()
    raw = session_for(sandbox).get(
        f"{sandbox.instance_url}/services/data/v59.0/nothing/here",
        headers={"Authorization": f"Bearer {sandbox.session_id}"},
    )
    assert raw.status_code == 404
    assert raw.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    assert raw.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_create_update_and_computed_fields(scratch_sf: Salesforce) -> None:
    """Creating and updating sets system stamps and the fields Salesforce computes."""
    created = scratch_sf.Opportunity.create(
        {
            "Name": "New Deal",
            "StageName": "Prospecting",
            "CloseDate": "2026-09-30",
            "Amount": "1234.5",
            "AccountId": ACME,
        }
    )
    assert created["success"] is True
    assert created["errors"] == []
    record = scratch_sf.Opportunity.get(created["id"])
    assert created["id"].startswith("006")
    assert len(created["id"]) == 18
    assert record["Amount"] == 1234.5
    assert record["IsClosed"] is False
    assert record["Probability"] == 10.0
    assert record["ForecastCategoryName"] == "Pipeline"
    assert record["OwnerId"] == record["CreatedById"] == record["LastModifiedById"]
    assert record["CreatedDate"] == record["SystemModstamp"]
    status = scratch_sf.Opportunity.update(created["id"], {"StageName": "Closed Won"})
    assert status == 204
    after = scratch_sf.Opportunity.get(created["id"])
    assert (after["IsClosed"], after["IsWon"], after["Probability"]) == (True, True, 100.0)
    assert after["SystemModstamp"] > record["SystemModstamp"]
    lead = scratch_sf.Lead.create({"FirstName": "Grace", "LastName": "Hopper", "Company": "Navy"})
    assert scratch_sf.Lead.get(lead["id"])["Name"] == "Grace Hopper"
    assert scratch_sf.Lead.get(lead["id"])["Status"] == "New"


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "Bogus": 1}, "INVALID_FIELD", ["Bogus"]),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsWon"]),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "Amount": "lots"}, "JSON_PARSER_ERROR", None),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "soon"}, "JSON_PARSER_ERROR", None),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": 20260930}, "INVALID_TYPE_ON_FIELD_IN_RECORD", ["CloseDate"]),
        ({"Name": "x", "StageName": "Prospecting"}, "REQUIRED_FIELD_MISSING", ["CloseDate"]),
        ({"Name": "x" * 121, "StageName": "Prospecting", "CloseDate": "2026-09-30"}, "STRING_TOO_LONG", ["Name"]),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "AccountId": "nope"}, "MALFORMED_ID", ["AccountId"]),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "AccountId": ADA}, "FIELD_INTEGRITY_EXCEPTION", ["AccountId"]),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "AccountId": make_id("001", 999)}, "INVALID_CROSS_REFERENCE_KEY", ["AccountId"]),
        ({"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-09-30", "Id": make_id("006", 1)}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Id"]),
    ],
)  # fmt: skip
def test_invalid_writes_are_refused(
    sf: Salesforce, body: dict[str, Any], code: str, fields: list[str] | None
) -> None:
    """A bad create is refused with Salesforce's error code and the fields at fault."""
    error = _error(lambda: sf.Opportunity.create(body))
    assert error["errorCode"] == code
    if fields is not None:
        assert error["fields"] == fields


def test_duplicate_unique_value(scratch_sf: Salesforce) -> None:
    """A unique field refuses a value another record has (DUPLICATE_VALUE)."""
    error = _error(
        lambda: (
            scratch_sf.PermissionSet.create({"Name": "Twin", "Label": "Twin"})
            and scratch_sf.PermissionSet.create({"Name": "twin", "Label": "Other"})
        )
    )
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert error["message"].startswith(
        "duplicate value found: Name duplicates value on record with id: 0PS"
    )


def test_upsert_by_external_id(scratch: RunningSalesforceSandbox, scratch_sf: Salesforce) -> None:
    """PATCH /sobjects/X/ExtId/value creates (201), then updates (204); two matches answer 300."""
    scratch_sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Account.Erp_Id__c",
            "Metadata": {"type": "Text", "length": 20, "label": "ERP id", "externalId": True},
        },
    )
    created = scratch_sf.Account.upsert("Erp_Id__c/E-1", {"Name": "Erp One"}, raw_response=True)
    assert created.status_code == 201
    assert created.json()["created"] is True
    assert scratch_sf.Account.upsert("Erp_Id__c/E-1", {"Name": "Erp One Ltd"}) == 204
    assert scratch_sf.Account.get_by_custom_id("Erp_Id__c", "E-1")["Name"] == "Erp One Ltd"
    scratch_sf.Account.create({"Name": "Erp Twin", "Erp_Id__c": "E-1"})
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        scratch_sf.Account.upsert("Erp_Id__c/E-1", {"Name": "Which?"})
    assert caught.value.status == 300
    assert len(caught.value.content) == 2
    assert all(
        u.startswith("/services/data/v59.0/sobjects/Account/001") for u in caught.value.content
    )
    error = _error(lambda: scratch_sf.Account.upsert("Name/Acme Corp", {"Type": "Customer"}))
    assert error["errorCode"] == "INVALID_FIELD"
    assert scratch.app.accounting.snapshot()["salesforce"]["records_written"]["Account"] == 3


def test_delete_then_query_all_and_deleted(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """A deleted record leaves query, stays in queryAll with IsDeleted, and is listed by /deleted."""
    target = make_id("006", 109)
    by_id = f"FROM Opportunity WHERE Id = '{target}'"
    assert scratch_sf.Opportunity.delete(target) == 204
    assert scratch_sf.query("SELECT Id " + by_id)["totalSize"] == 0
    everything = scratch_sf.query_all("SELECT Id, IsDeleted " + by_id, include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(target, True)]
    deleted = scratch_sf.query_all(
        "SELECT Name FROM Opportunity WHERE IsDeleted = true", include_deleted=True
    )
    assert [r["Name"] for r in deleted["records"]] == ["Orphan Deal"]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        scratch_sf.Opportunity.get(target)
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    now = scratch.org.clock()
    listed = scratch_sf.Opportunity.deleted(now - timedelta(days=1), now + timedelta(minutes=1))
    assert [r["id"] for r in listed["deletedRecords"]] == [target]
    assert set(listed) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert listed["deletedRecords"][0]["deletedDate"].endswith("+0000")


def test_hard_delete_vanishes_but_is_logged(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """A hard delete (a drill) removes the row even from queryAll; /deleted still lists it."""
    target = make_id("006", 107)
    by_id = f"FROM Opportunity WHERE Id = '{target}'"
    assert scratch.hard_delete("Opportunity", target) is True
    assert scratch_sf.query_all("SELECT Id " + by_id, include_deleted=True)["totalSize"] == 0
    now = scratch.org.clock()
    listed = scratch_sf.Opportunity.deleted(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert [r["id"] for r in listed["deletedRecords"]] == [target]


def test_deleted_window_limits(scratch: RunningSalesforceSandbox, scratch_sf: Salesforce) -> None:
    """/deleted refuses a start more than 30 days back or after the end."""
    now = scratch.org.clock()
    for start, end in ((now - timedelta(days=31), now), (now, now - timedelta(days=1))):
        error = _error(lambda s=start, e=end: scratch_sf.Opportunity.deleted(s, e))
        assert error["errorCode"] == "INVALID_REPLICATION_DATE"


def test_updated_lists_changed_records(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """/updated lists the ids whose SystemModstamp falls in the window."""
    start = scratch.org.clock()
    scratch_sf.Account.update(ACME, {"Industry": "Consulting"})
    listed = scratch_sf.Account.updated(start - timedelta(seconds=1), start + timedelta(minutes=1))
    assert listed["ids"] == [ACME]


def test_describe_global_and_object(sf: Salesforce) -> None:
    """DescribeGlobal lists the objects; describe gives Salesforce's field facts."""
    names = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert {
        "Account",
        "Opportunity",
        "Lead",
        "Task",
        "Event",
        "Case",
        "User",
        "NPS_Response__c",
        "PermissionSet",
        "FieldPermissions",
        "ObjectPermissions",
        "PermissionSetAssignment",
    } <= set(names)
    assert names["Opportunity"]["keyPrefix"] == "006"
    assert names["NPS_Response__c"]["custom"] is True
    describe = sf.Opportunity.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["Amount"]["type"] == "currency"
    assert fields["Probability"]["type"] == "percent"
    assert fields["IsWon"]["updateable"] is False
    assert "Closed Won" in [p["value"] for p in fields["StageName"]["picklistValues"]]
    account = sf.Account.describe()
    assert {
        "childSObject": "Opportunity",
        "field": "AccountId",
        "relationshipName": "Opportunities",
    }.items() <= next(
        c for c in account["childRelationships"] if c["childSObject"] == "Opportunity"
    ).items()
    assert {f["name"]: f["custom"] for f in account["fields"]}["Churned_On__c"] is True
