"""Provisioning okrsync's objects, fields and access through the connector: dry run, idempotence."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS, STATUSES
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector

if TYPE_CHECKING:
    from collections.abc import Callable

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox


def connector_for(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    """A connector on the sandbox's static session, pinned to its CA, on the sandbox's clock."""
    values: dict[str, Any] = {
        "auth": "session",
        "instance_url": box.instance_url,
        "session_id": box.session_id,
        "ca_file": box.ca_file,
        "retry_backoff_seconds": 0.001,
    }
    values.update(overrides)
    return SalesforceConnector("salesforce", SalesforceSettings(**values), clock=box.app.clock)


def test_dry_run_lists_what_provisioning_then_does_once(
    start: Callable[..., RunningSalesforceSandbox], make_client: Callable[..., Salesforce]
) -> None:
    """A dry run changes nothing and lists exactly what the real run does; a second run is empty."""
    box = start()
    connector = connector_for(box)
    planned = connector.provision(OKR_OBJECTS, dry_run=True)
    with pytest.raises(LookupError):
        connector.describe("OKR_Key_Result__c")
    assert connector.provision(OKR_OBJECTS, dry_run=True) == planned
    made = connector.provision(OKR_OBJECTS)
    assert made == planned
    assert connector.provision(OKR_OBJECTS) == []
    assert connector.provision(OKR_OBJECTS, dry_run=True) == []
    actions = {(c.action, c.target) for c in made}
    assert ("create_object", "OKR_Check_In__c") in actions
    assert ("create_field", "OKR_Key_Result__c.Forecast_Score__c") in actions
    assert ("grant_access", "OKR_Key_Result__c.Confidence__c") in actions
    assert ("grant_access", "permission set okrsync") in actions
    assert not any(c.target.endswith((".OwnerId", ".Name")) for c in made)
    fields = {c.target: c.detail for c in made if c.action == "create_field"}
    assert fields["OKR_Key_Result__c.OKR_Key__c"] == "Text(255), external id, unique"
    assert fields["OKR_Key_Result__c.Objective__c"] == "Lookup(OKR_Objective__c)"
    assert fields["OKR_Key_Result__c.Progress__c"] == "Percent(5,2)"
    assert fields["OKR_Key_Result__c.Comment__c"] == "LongTextArea(32768)"
    grants = {c.target: c.detail for c in made if c.action == "grant_access"}
    assert grants["OKR_Key_Result__c.Confidence__c"] == "okrsync: read"  # rep-owned
    assert grants["OKR_Key_Result__c.Score__c"] == "okrsync: read, edit"
    assert grants["OKR_Key_Result__c"] == "okrsync: read, create, edit"

    info = connector.describe("OKR_Key_Result__c")
    key = info.field("OKR_Key__c")
    assert key is not None
    assert (key.type, key.external_id, key.unique) == ("string", True, True)
    assert info.field("Objective__c").reference_to == "OKR_Objective__c"  # type: ignore[union-attr]
    assert info.field("Status__c").picklist == STATUSES  # type: ignore[union-attr]
    assert info.field("Progress__c").type == "percent"  # type: ignore[union-attr]
    assert info.field("Last_Synced_At__c").type == "datetime"  # type: ignore[union-attr]
    sf = make_client(box)
    assignment = sf.query(
        "SELECT Assignee.Username FROM PermissionSetAssignment WHERE PermissionSet.Name = 'okrsync'"
    )["records"]
    assert [a["Assignee"]["Username"] for a in assignment] == ["integration@okrsync_sandbox"]
    perms = sf.query(
        "SELECT Field, PermissionsEdit FROM FieldPermissions WHERE Field LIKE 'OKR_Key_Result__c.%'"
    )["records"]
    edit = {p["Field"]: p["PermissionsEdit"] for p in perms}
    assert edit["OKR_Key_Result__c.Comment__c"] is False
    assert edit["OKR_Key_Result__c.Score__c"] is True
    sf.session.close()
    connector.close()


def test_new_picklist_values_update_the_field(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """A status okrsync starts to use is added to the existing picklist, once."""
    box = start()
    connector = connector_for(box)
    connector.provision(OKR_OBJECTS)
    status = next(f for f in KEY_RESULT.fields if f.name == "status")
    wider = replace(
        KEY_RESULT,
        fields=tuple(
            replace(f, picklist=(*STATUSES, "paused")) if f is status else f
            for f in KEY_RESULT.fields
        ),
    )
    changes = connector.provision([wider], dry_run=True)
    assert [(c.action, c.target, c.detail) for c in changes] == [
        ("update_field", "OKR_Key_Result__c.Status__c", "add picklist values paused")
    ]
    assert connector.provision([wider]) == changes
    assert connector.provision([wider]) == []
    picklist = connector.describe("OKR_Key_Result__c").field("Status__c").picklist  # type: ignore[union-attr]
    assert picklist == (*STATUSES, "paused")
    connector.close()


def test_provisioning_counts_its_calls(start: Callable[..., RunningSalesforceSandbox]) -> None:
    """A first provisioning costs about one call per field; checking again a handful."""
    box = start()
    connector = connector_for(box)
    made = connector.provision(OKR_OBJECTS)
    first = connector.usage().calls
    fields = sum(1 for c in made if c.action == "create_field")
    assert first <= fields + 15
    connector.provision(OKR_OBJECTS)
    assert connector.usage().calls - first <= 10
    connector.close()
