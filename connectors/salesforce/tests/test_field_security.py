"""The emulator answers as the calling user: object and field-level security, as a real org applies it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from .conftest import oid

if TYPE_CHECKING:
    from collections.abc import Callable

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

READ_ONLY_MESSAGE = (
    "Unable to create/update fields: Amount. Please check the security settings of this field "
    "and verify that it is read/write for your profile or permission set."
)


def fields(sf: Salesforce, sobject: str) -> dict[str, dict[str, Any]]:
    """The fields of an object's describe, by name."""
    return {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}


def codes(exc: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> list[str]:
    """The error codes of a refused call."""
    content: Any = exc.value.content
    return [item["errorCode"] for item in content]


def test_describe_hides_a_field_the_user_may_not_read_and_marks_one_it_may_only_read(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """A hidden field is missing from describe; a read-only one is neither createable nor updateable."""
    box = start()
    sf = connect(box)
    assert fields(sf, "Opportunity")["Amount"]["updateable"] is True
    box.restrict_field("Account.AnnualRevenue", read=False)
    box.restrict_field("Opportunity.Amount", read=True, edit=False)
    account, opportunity = fields(sf, "Account"), fields(sf, "Opportunity")
    assert "AnnualRevenue" not in account
    assert "Industry" in account
    assert opportunity["Amount"]["createable"] is False
    assert opportunity["Amount"]["updateable"] is False
    assert opportunity["StageName"]["updateable"] is True
    box.lift_restrictions()
    assert "AnnualRevenue" in fields(sf, "Account")


def test_soql_treats_a_hidden_field_as_one_that_does_not_exist(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """Selecting, filtering or reaching through a relationship to a hidden field is INVALID_FIELD."""
    box = start()
    sf = connect(box)
    box.restrict_field("Account.AnnualRevenue", read=False)
    for soql in (
        "SELECT AnnualRevenue FROM Account",
        "SELECT Id FROM Account WHERE AnnualRevenue > 0",
        "SELECT Account.AnnualRevenue FROM Opportunity",
    ):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query(soql)
        assert codes(caught) == ["INVALID_FIELD"], soql
        assert "No such column 'AnnualRevenue'" in str(caught.value.content)
    assert sf.query("SELECT Id, Industry FROM Account")["totalSize"] == 7


def test_writing_a_read_only_field_fails_with_invalid_field_for_insert_update(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """An update or a collection write setting a read-only field fails per record; others go through."""
    box = start()
    sf = connect(box)
    box.restrict_field("Opportunity.Amount", read=True, edit=False)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(oid(1), {"Amount": 1})
    assert caught.value.content == [
        {
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "message": READ_ONLY_MESSAGE,
            "fields": ["Amount"],
        }
    ]
    answer = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Opportunity"}, "Id": oid(1), "Amount": 2},
                {"attributes": {"type": "Opportunity"}, "Id": oid(2), "LeadSource": "Web"},
            ],
        },
    )
    assert answer[0]["success"] is False
    assert answer[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert answer[0]["errors"][0]["fields"] == ["Amount"]
    assert answer[1]["success"] is True
    assert sf.Opportunity.get(oid(1))["Amount"] == 50000
    box.restrict_field("Opportunity.Amount", read=False)
    with pytest.raises(SalesforceMalformedRequest) as hidden:
        sf.Opportunity.update(oid(1), {"Amount": 1})
    assert codes(hidden) == ["INVALID_FIELD"]


def test_a_permission_set_assigned_to_the_user_gives_back_what_the_profile_lacks(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """Edit granted by an assigned permission set's FieldPermissions lifts the profile's restriction, until unassigned."""
    box = start()
    sf = connect(box)
    box.restrict_field("Opportunity.Amount", read=True, edit=False)
    permission_set = sf.PermissionSet.create({"Name": "sales_ops", "Label": "Sales ops"})["id"]
    sf.FieldPermissions.create(
        {
            "ParentId": permission_set,
            "SobjectType": "Opportunity",
            "Field": "Opportunity.Amount",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    assert fields(sf, "Opportunity")["Amount"]["updateable"] is False  # not assigned yet
    assignment = sf.PermissionSetAssignment.create(
        {"AssigneeId": box.org.api_user_id, "PermissionSetId": permission_set}
    )["id"]
    assert fields(sf, "Opportunity")["Amount"]["updateable"] is True
    sf.Opportunity.update(oid(1), {"Amount": 51000})
    assert sf.Opportunity.get(oid(1))["Amount"] == 51000
    sf.PermissionSetAssignment.delete(assignment)
    assert fields(sf, "Opportunity")["Amount"]["updateable"] is False


def test_object_permissions_decide_describe_queries_and_writes(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """Read-only records cannot be created or edited; an unreadable object is not found anywhere."""
    box = start()
    sf = connect(box)
    box.restrict_object("Opportunity", read=True)
    described = sf.Opportunity.describe()
    assert (described["createable"], described["updateable"]) == (False, False)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(oid(1), {"LeadSource": "Web"})
    assert codes(caught) == ["INSUFFICIENT_ACCESS_OR_READONLY"]
    assert sf.query("SELECT Id FROM Opportunity")["totalSize"] == 10
    box.restrict_object("Opportunity", read=False)
    with pytest.raises(SalesforceResourceNotFound):
        sf.Opportunity.describe()
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Id FROM Opportunity")
    assert codes(unknown) == ["INVALID_TYPE"]
    assert "Opportunity" not in {o["name"] for o in sf.describe()["sobjects"]}
    assert "Account" in {o["name"] for o in sf.describe()["sobjects"]}
