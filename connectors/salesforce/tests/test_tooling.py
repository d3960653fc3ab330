"""Provisioning through the Tooling API: custom objects and fields, queryable and describable at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox


@pytest.fixture(scope="module")
def okr(
    launch: Callable[..., RunningSalesforceSandbox],
    make_client: Callable[..., Salesforce],
    provision: Callable[[Salesforce], dict[str, str]],
) -> Iterator[tuple[RunningSalesforceSandbox, Salesforce, dict[str, str]]]:
    """A sandbox with the OKR objects provisioned, its client and the tooling ids."""
    box = launch()
    sf = make_client(box)
    ids = provision(sf)
    yield box, sf, ids
    sf.session.close()
    box.stop()


def test_new_object_is_described(okr: tuple[Any, Salesforce, dict[str, str]]) -> None:
    """A provisioned object shows in describeGlobal and its describe lists the new fields."""
    _, sf, _ = okr
    listed = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert listed["OKR_Key_Result__c"]["custom"] is True
    assert listed["OKR_Key_Result__c"]["keyPrefix"].startswith("a")
    fields = {f["name"]: f for f in sf.OKR_Key_Result__c.describe()["fields"]}
    assert {
        "Id",
        "Name",
        "OwnerId",
        "SystemModstamp",
        "OKR_Key__c",
        "Score__c",
        "Objective__c",
    } <= set(fields)
    key = fields["OKR_Key__c"]
    assert (key["type"], key["externalId"], key["unique"], key["length"], key["custom"]) == (
        "string",
        True,
        True,
        255,
        True,
    )
    assert (
        fields["Score__c"]["type"],
        fields["Score__c"]["precision"],
        fields["Score__c"]["scale"],
    ) == ("double", 18, 2)
    assert fields["Progress__c"]["type"] == "percent"
    assert fields["Objective__c"]["referenceTo"] == ["OKR_Objective__c"]
    assert fields["Objective__c"]["relationshipName"] == "Objective__r"
    assert [p["value"] for p in fields["Status__c"]["picklistValues"]][:2] == [
        "on_track",
        "at_risk",
    ]
    assert fields["Status__c"]["restrictedPicklist"] is True
    assert (fields["Milestone__c"]["type"], fields["Milestone__c"]["nillable"]) == (
        "boolean",
        False,
    )
    assert (fields["Sync_Error__c"]["type"], fields["Sync_Error__c"]["length"]) == (
        "textarea",
        32768,
    )
    children = sf.OKR_Objective__c.describe()["childRelationships"]
    assert {
        "childSObject": "OKR_Key_Result__c",
        "field": "Objective__c",
        "relationshipName": "Key_Results__r",
    }.items() <= children[0].items()


def test_new_object_takes_records_and_queries(okr: tuple[Any, Salesforce, dict[str, str]]) -> None:
    """Records of the new object can be written by external id and queried through the lookup."""
    _, sf, _ = okr
    sf.OKR_Objective__c.upsert("OKR_Key__c/2026-Q3/grow", {"Name": "Grow"})
    sf.OKR_Key_Result__c.upsert(
        "OKR_Key__c/2026-Q3/grow/pipeline",
        {
            "Name": "Pipeline",
            "Score__c": 0.456,
            "Status__c": "at_risk",
            "Objective__r": {"OKR_Key__c": "2026-Q3/grow"},
            "Last_Synced__c": "2026-08-15T12:00:00Z",
        },
    )
    record = sf.query(
        "SELECT Name, Score__c, Status__c, Milestone__c, Last_Synced__c, Objective__r.OKR_Key__c FROM OKR_Key_Result__c"
    )["records"][0]
    assert record["Score__c"] == 0.46
    assert record["Status__c"] == "at_risk"
    assert record["Milestone__c"] is False
    assert record["Last_Synced__c"] == "2026-08-15T12:00:00.000+0000"
    assert record["Objective__r"]["OKR_Key__c"] == "2026-Q3/grow"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.OKR_Key_Result__c.upsert("OKR_Key__c/x", {"Name": "Bad", "Status__c": "great"})
    assert caught.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_tooling_query_lists_objects_and_fields(
    okr: tuple[Any, Salesforce, dict[str, str]],
) -> None:
    """Tooling queries on CustomObject and CustomField let provisioning diff what exists."""
    _, sf, ids = okr
    objects = sf.toolingexecute(
        "query/?q=SELECT+Id,+DeveloperName+FROM+CustomObject+WHERE+DeveloperName+LIKE+'OKR%25'"
    )
    assert {r["DeveloperName"]: r["Id"] for r in objects["records"]} == {
        "OKR_Objective": ids["OKR_Objective__c"],
        "OKR_Key_Result": ids["OKR_Key_Result__c"],
    }
    assert objects["records"][0]["attributes"]["url"].startswith(
        "/services/data/v59.0/tooling/sobjects/CustomObject/01I"
    )
    table = ids["OKR_Key_Result__c"]
    fields = sf.toolingexecute(
        f"query/?q=SELECT+DeveloperName+FROM+CustomField+WHERE+TableEnumOrId+=+'{table}'+ORDER+BY+DeveloperName"
    )
    assert [r["DeveloperName"] for r in fields["records"]] == sorted(
        [
            "OKR_Key",
            "Score",
            "Progress",
            "Status",
            "Objective",
            "Last_Synced",
            "Milestone",
            "Sync_Error",
        ],
        key=str.lower,
    )
    standard = sf.toolingexecute(
        "query/?q=SELECT+DeveloperName+FROM+CustomField+WHERE+TableEnumOrId+=+'Account'"
    )
    assert {r["DeveloperName"] for r in standard["records"]} == {"Customer_Since", "Churned_On"}


def test_tooling_record_has_metadata_and_patches(
    okr: tuple[Any, Salesforce, dict[str, str]],
) -> None:
    """A CustomField reads back with FullName and Metadata; a PATCH changes its label."""
    _, sf, ids = okr
    field_id = ids["OKR_Key_Result__c.Score__c"]
    record = sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert record["FullName"] == "OKR_Key_Result__c.Score__c"
    assert record["Metadata"]["precision"] == 18
    sf.toolingexecute(
        f"sobjects/CustomField/{field_id}", method="PATCH", data={"Metadata": {"label": "KR score"}}
    )
    fields = {f["name"]: f for f in sf.OKR_Key_Result__c.describe()["fields"]}
    assert fields["Score__c"]["label"] == "KR score"


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("sobjects/CustomObject", {"FullName": "OKR_Key_Result__c", "Metadata": {"label": "x", "pluralLabel": "xs"}}, "DUPLICATE_DEVELOPER_NAME"),
        ("sobjects/CustomField", {"FullName": "OKR_Key_Result__c.Score__c", "Metadata": {"type": "Number", "precision": 5, "scale": 0}}, "DUPLICATE_DEVELOPER_NAME"),
        ("sobjects/CustomObject", {"FullName": "NoSuffix", "Metadata": {"label": "x", "pluralLabel": "xs"}}, "FIELD_INTEGRITY_EXCEPTION"),
        ("sobjects/CustomField", {"FullName": "Nothing__c.Foo__c", "Metadata": {"type": "Text", "length": 5}}, "FIELD_INTEGRITY_EXCEPTION"),
        ("sobjects/CustomField", {"FullName": "Account.Formula__c", "Metadata": {"type": "Summary"}}, "FIELD_INTEGRITY_EXCEPTION"),
        ("sobjects/CustomField", {"FullName": "Account.Long__c", "Metadata": {"type": "Text", "length": 300}}, "FIELD_INTEGRITY_EXCEPTION"),
        ("sobjects/CustomField", {"FullName": "Account.Parent__c", "Metadata": {"type": "Lookup", "referenceTo": "Account"}}, "REQUIRED_FIELD_MISSING"),
        ("sobjects/CustomField", {"FullName": "OKR_Objective__c.Parent__c", "Metadata": {"type": "Lookup", "referenceTo": "OKR_Objective__c", "relationshipName": "key_results", "label": "Parent"}}, "FIELD_INTEGRITY_EXCEPTION"),
    ],
)  # fmt: skip
def test_bad_provisioning_is_refused(
    okr: tuple[Any, Salesforce, dict[str, str]], path: str, body: dict[str, Any], code: str
) -> None:
    """Duplicates (a child relationship name too) and invalid definitions are refused with Salesforce's codes."""
    _, sf, _ = okr
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.toolingexecute(path, method="POST", data=body)
    assert caught.value.content[0]["errorCode"] == code


def test_field_level_security_rows(okr: tuple[Any, Salesforce, dict[str, str]]) -> None:
    """Permission sets, object and field permissions and assignments are plain sObject records."""
    box, sf, _ = okr
    parent = sf.PermissionSet.create({"Name": "OKR_Sync", "Label": "OKR sync"})["id"]
    sf.ObjectPermissions.create(
        {
            "ParentId": parent,
            "SobjectType": "OKR_Key_Result__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    sf.FieldPermissions.create(
        {
            "ParentId": parent,
            "SobjectType": "OKR_Key_Result__c",
            "Field": "OKR_Key_Result__c.Score__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    sf.PermissionSetAssignment.create(
        {"AssigneeId": box.org.api_user_id, "PermissionSetId": parent}
    )
    rows = sf.query(
        "SELECT Field, PermissionsEdit, Parent.Name FROM FieldPermissions WHERE SobjectType = 'OKR_Key_Result__c'"
    )["records"]
    assert [(r["Field"], r["PermissionsEdit"], r["Parent"]["Name"]) for r in rows] == [
        ("OKR_Key_Result__c.Score__c", True, "OKR_Sync")
    ]
    for body, code in (
        (
            {
                "ParentId": parent,
                "SobjectType": "OKR_Key_Result__c",
                "Field": "OKR_Key_Result__c.Nope__c",
            },
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            {
                "ParentId": parent,
                "SobjectType": "OKR_Key_Result__c",
                "Field": "OKR_Key_Result__c.Score__c",
            },
            "DUPLICATE_VALUE",
        ),
        (
            {
                "ParentId": parent,
                "SobjectType": "OKR_Key_Result__c",
                "Field": "OKR_Key_Result__c.Name",
            },
            "FIELD_INTEGRITY_EXCEPTION",
        ),
    ):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.FieldPermissions.create(body)
        assert caught.value.content[0]["errorCode"] == code
