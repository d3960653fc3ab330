"""The emulator behaves as Salesforce documents it, and the connector is right against that.

Deleted-records window (15 days, more than a minute, ``INVALID_REPLICATION_DATE``),
checkboxes compared with ``null``, archived activities, text compared in any
letter case beyond ASCII, and case-(in)sensitive external ids on upsert; each
through simple-salesforce against the sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest
from structlog.testing import capture_logs

from okrsync.connector import Cursor, Page, Predicate
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_salesforce_sandbox.ids import make_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from simple_salesforce import Salesforce

    from okrsync_salesforce._pull import SalesforcePull
    from okrsync_salesforce_sandbox import RunningSalesforceSandbox


AS_OF = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
"""The sandbox's "now" (as the fixtures set it)."""


def aid(n: int) -> str:
    """Id of account ``n`` of the fixtures' small org."""
    return make_id("001", 100 + n)


def oid(n: int) -> str:
    """Id of opportunity ``n`` of the fixtures' small org."""
    return make_id("006", 100 + n)


def wire(moment: datetime) -> str:
    """A date-time as the deletion listing takes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deleted(sf: Salesforce, start: datetime, end: datetime) -> Any:
    """``GET sobjects/Opportunity/deleted/`` through simple-salesforce."""
    return sf.restful(
        "sobjects/Opportunity/deleted/", params={"start": wire(start), "end": wire(end)}
    )


def connector_for(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    """A connector on the sandbox's static session and clock, listing deletions every pull."""
    values: dict[str, Any] = {
        "auth": "session",
        "instance_url": box.instance_url,
        "session_id": box.session_id,
        "ca_file": box.ca_file,
        "retry_backoff_seconds": 0.001,
        "timeout_seconds": 10,
        "deletion_check_seconds": 0,
    }
    values.update(overrides)
    return SalesforceConnector("salesforce", SalesforceSettings(**values), clock=box.app.clock)


def pages(pull: SalesforcePull) -> list[Page]:
    """Every page of a pull."""
    return list(pull)


def deleted_calls(box: RunningSalesforceSandbox) -> int:
    """``…/deleted/`` calls the sandbox served."""
    snapshot = box.app.accounting.snapshot().get("salesforce", {})
    return int(snapshot.get("by_endpoint", {}).get("deleted", 0))


# -- 1. the deleted-records window -----------------------------------------------------------


def test_deleted_lists_fifteen_days_back_with_the_earliest_date(sf: Salesforce) -> None:
    """A window starting 14 days ago is listed; ``earliestDateAvailable`` is 15 days back."""
    answer = deleted(sf, AS_OF - timedelta(days=14), AS_OF)
    earliest = datetime.fromisoformat(answer["earliestDateAvailable"].replace("+0000", "+00:00"))
    # the sandbox's clock runs on from AS_OF: 15 days before its "now", in whole minutes
    assert AS_OF - timedelta(days=15) <= earliest <= AS_OF - timedelta(days=15, minutes=-10)
    assert earliest.second == earliest.microsecond == 0
    assert answer["deletedRecords"] == []


def test_deleted_refuses_a_start_older_than_fifteen_days(sf: Salesforce) -> None:
    """A start before the earliest available date is ``INVALID_REPLICATION_DATE`` (400)."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        deleted(sf, AS_OF - timedelta(days=16), AS_OF)
    assert caught.value.status == 400
    [error] = caught.value.content
    assert error["errorCode"] == "INVALID_REPLICATION_DATE"
    prefix = "startDate cannot be before the earliest date available: "
    assert error["message"].startswith(prefix)
    earliest = datetime.strptime(error["message"].removeprefix(prefix), "%Y-%m-%dT%H:%M:%S.%f%z")
    assert AS_OF - timedelta(days=15) <= earliest <= AS_OF - timedelta(days=15, minutes=-10)


@pytest.mark.parametrize("span", [timedelta(0), timedelta(seconds=30), timedelta(minutes=1)])
def test_deleted_refuses_a_window_of_a_minute_or_less(sf: Salesforce, span: timedelta) -> None:
    """``start`` must precede ``end`` by more than a minute: Salesforce's exact error body."""
    start = AS_OF - timedelta(hours=1)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        deleted(sf, start, start + span)
    assert caught.value.status == 400
    assert caught.value.content == [
        {
            "errorCode": "INVALID_REPLICATION_DATE",
            "message": "startDate must be at least one minute greater than endDate",
        }
    ]
    assert deleted(sf, start, start + timedelta(minutes=1, seconds=1))["deletedRecords"] == []


def test_purged_delete_log_moves_the_earliest_date(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """After a purge, deletions before it cannot be listed and later ones still are."""
    scratch_sf.Opportunity.delete(oid(1))
    scratch.clock.move_to(AS_OF + timedelta(minutes=10))
    scratch.org.purge_deletions()
    scratch.clock.move_to(AS_OF + timedelta(minutes=20))
    scratch_sf.Opportunity.delete(oid(2))
    end = AS_OF + timedelta(minutes=25)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        deleted(scratch_sf, AS_OF + timedelta(minutes=5), end)
    assert caught.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    answer = deleted(scratch_sf, AS_OF + timedelta(minutes=11), end)
    assert [r["id"] for r in answer["deletedRecords"]] == [oid(2)]
    assert answer["earliestDateAvailable"] == "2026-08-15T12:11:00.000+0000"


def test_cursor_older_than_the_deletion_window_re_pulls_the_object(
    scratch: RunningSalesforceSandbox,
) -> None:
    """Past 15 days the pull resets the replica and returns every live record, not the gone one."""
    connector = connector_for(scratch)
    first = connector.pull("Opportunity", ["Name"], (), Cursor())
    pages(first)
    scratch.hard_delete("Opportunity", oid(3))
    scratch.clock.move_to(AS_OF + timedelta(days=16))
    calls = deleted_calls(scratch)
    with capture_logs() as logs:
        pull = connector.pull("Opportunity", ["Name"], (), first.cursor)
        got = pages(pull)
    assert got[0] == Page(reset=True)
    ids = {r["Id"] for page in got for r in page.records}
    assert ids == {oid(n) for n in range(1, 11)} - {oid(3)}
    assert deleted_calls(scratch) == calls  # known too old: not even asked
    [event] = [e for e in logs if e["event"] == "salesforce.pull.full_repull"]
    assert "15 days" in event["reason"]
    assert pull.cursor.deleted_since is not None
    assert pull.cursor.deleted_since > (first.cursor.deleted_since or "")
    # the next pull is incremental again
    again = pages(connector.pull("Opportunity", ["Name"], (), pull.cursor))
    assert not any(page.reset for page in again)
    connector.close()


def test_purged_delete_log_re_pulls_the_object(scratch: RunningSalesforceSandbox) -> None:
    """A listing Salesforce refuses (the log was purged after the cursor) also re-pulls."""
    connector = connector_for(scratch)
    first = connector.pull("Opportunity", ["Name"], (), Cursor())
    pages(first)
    scratch.hard_delete("Opportunity", oid(4))
    scratch.org.purge_deletions()
    scratch.clock.move_to(scratch.app.clock() + timedelta(minutes=10))
    with capture_logs() as logs:
        got = pages(connector.pull("Opportunity", ["Name"], (), first.cursor))
    assert got[0].reset
    assert oid(4) not in {r["Id"] for page in got for r in page.records}
    [event] = [e for e in logs if e["event"] == "salesforce.pull.full_repull"]
    assert "INVALID_REPLICATION_DATE" in event["reason"] or "refused" in event["reason"]
    connector.close()


def test_no_listing_is_sent_for_a_window_of_a_minute_or_less(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """Pulls a few seconds apart never ask for deletions over a minute or less."""
    connector = connector_for(scratch, lookback_seconds=0)
    first = connector.pull("Opportunity", ["Name"], (), Cursor())
    pages(first)
    calls = deleted_calls(scratch)
    scratch_sf.Opportunity.delete(oid(5))
    got = pages(connector.pull("Opportunity", ["Name"], (), first.cursor))
    assert deleted_calls(scratch) == calls
    assert [i for page in got for i in page.deleted] == [oid(5)]  # the soft delete, by queryAll
    connector.close()


# -- 2. checkboxes compared with null ---------------------------------------------------------


def test_checkbox_equal_to_null_means_false(sf: Salesforce) -> None:
    """``IsWon = null`` finds the deals not won; ``!= null`` the won ones; ``IN (null)`` too."""
    names = lambda soql: sorted(r["Name"] for r in sf.query_all(soql)["records"])  # noqa: E731
    not_won = names("SELECT Name FROM Opportunity WHERE IsWon = false")
    won = names("SELECT Name FROM Opportunity WHERE IsWon = true")
    assert len(won) == 3
    assert names("SELECT Name FROM Opportunity WHERE IsWon = null") == not_won
    assert names("SELECT Name FROM Opportunity WHERE IsWon != null") == won
    assert names("SELECT Name FROM Opportunity WHERE IsWon IN (null)") == not_won
    assert names("SELECT Name FROM Opportunity WHERE IsWon NOT IN (null)") == won


def test_connector_null_tests_on_a_checkbox_match_what_the_replica_holds(
    sandbox: RunningSalesforceSandbox,
) -> None:
    """``is_null`` on a checkbox selects nothing, ``is_null: false`` everything (never null)."""
    connector = connector_for(sandbox)
    none = connector.pull(
        "Opportunity", ["IsWon"], ((Predicate("IsWon", "is_null", True),),), Cursor()
    )
    assert [r for page in pages(none) for r in page.records] == []
    every = connector.pull(
        "Opportunity", ["IsWon"], ((Predicate("IsWon", "is_null", False),),), Cursor()
    )
    assert len([r for page in pages(every) for r in page.records]) == 10
    connector.close()


# -- 3. archived activities -------------------------------------------------------------------


def test_query_leaves_archived_activities_out_and_query_all_returns_them(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """Closed tasks due over a year ago are archived: ``query`` hides them, ``queryAll`` not."""
    old = scratch_sf.Task.create(
        {"Subject": "Old call", "Status": "Completed", "ActivityDate": "2025-05-01"}
    )["id"]
    open_old = scratch_sf.Task.create(
        {"Subject": "Old open", "Status": "Not Started", "ActivityDate": "2025-05-01"}
    )["id"]
    event = scratch_sf.Event.create(
        {
            "Subject": "Old training",
            "StartDateTime": "2025-03-01T09:00:00Z",
            "EndDateTime": "2025-03-01T10:00:00Z",
        }
    )["id"]
    assert scratch.org.archive_activities(force=True) == 2
    soql = "SELECT Id, IsArchived FROM {} WHERE Subject LIKE 'Old%'"
    live = {r["Id"] for r in scratch_sf.query(soql.format("Task"))["records"]}
    assert live == {open_old}
    every = {
        r["Id"]: r["IsArchived"]
        for r in scratch_sf.query(soql.format("Task"), include_deleted=True)["records"]
    }
    assert every == {old: True, open_old: False}
    assert scratch_sf.query(soql.format("Event"))["totalSize"] == 0
    assert scratch_sf.query(soql.format("Event"), include_deleted=True)["records"][0]["Id"] == event
    assert scratch_sf.query("SELECT COUNT() FROM Task WHERE Subject = 'Old call'")["totalSize"] == 0


def test_connector_counts_archived_tasks_once_and_never_as_deleted(
    scratch: RunningSalesforceSandbox, scratch_sf: Salesforce
) -> None:
    """First and incremental pulls of Task include archived tasks, none reported deleted."""
    old = scratch_sf.Task.create(
        {"Subject": "Old call", "Status": "Completed", "ActivityDate": "2025-05-01"}
    )["id"]
    scratch.org.archive_activities(force=True)
    connector = connector_for(scratch)
    first = connector.pull("Task", ["Subject"], (), Cursor())
    records = [r for page in pages(first) for r in page.records]
    assert old in {r["Id"] for r in records}
    assert len(records) == len({r["Id"] for r in records}) == 5
    scratch_sf.Task.update(old, {"Subject": "Old call (notes)"})
    second = pages(connector.pull("Task", ["Subject"], (), first.cursor))
    assert [r for page in second for r in page.records] == [
        {"Id": old, "Subject": "Old call (notes)"}
    ]
    assert [i for page in second for i in page.deleted] == []
    connector.close()


# -- 4. letter case beyond ASCII --------------------------------------------------------------


@pytest.fixture(scope="module")
def umlauts(launch: Callable[..., RunningSalesforceSandbox]) -> RunningSalesforceSandbox:
    """An org with accounts whose names have letters beyond ASCII."""
    users = [
        {
            "Id": make_id("005", 101),
            "Username": "ada@acme.example",
            "Email": "ada@acme.example",
            "LastName": "Lovelace",
        }
    ]
    names = ["Müller GmbH", "ÉCOLE Lumière", "Straße AG", "Plain Ltd"]
    accounts = [
        {"Id": aid(n), "Name": name, "OwnerId": make_id("005", 101)}
        for n, name in enumerate(names, start=1)
    ]
    return launch({"User": users, "Account": accounts})


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'MÜLLER GMBH'", ["Müller GmbH"]),
        ("Name = 'müller gmbh'", ["Müller GmbH"]),
        ("Name != 'MÜLLER GMBH'", ["Plain Ltd", "Straße AG", "ÉCOLE Lumière"]),
        ("Name IN ('école lumière', 'PLAIN LTD')", ["Plain Ltd", "ÉCOLE Lumière"]),
        ("Name LIKE '%LUMIÈRE'", ["ÉCOLE Lumière"]),
        ("Name LIKE 'müller%'", ["Müller GmbH"]),
        ("Name NOT IN ('STRASSE AG')", ["Müller GmbH", "Plain Ltd", "Straße AG", "ÉCOLE Lumière"]),
    ],
)
def test_text_compares_in_any_letter_case_beyond_ascii(
    umlauts: RunningSalesforceSandbox,
    make_client: Callable[..., Salesforce],
    where: str,
    expected: list[str],
) -> None:
    """SOQL text comparisons ignore Unicode letter case (``ß`` is not ``SS``: case, not folding)."""
    sf = make_client(umlauts)
    try:
        rows = sf.query_all(f"SELECT Name FROM Account WHERE {where}")["records"]  # noqa: S608
    finally:
        sf.session.close()
    assert sorted(r["Name"] for r in rows) == sorted(expected)


def test_upsert_matches_an_external_id_in_any_letter_case(
    scratch_sf: Salesforce,
    provision: Callable[[Salesforce], dict[str, str]],
) -> None:
    """A case-insensitive external id finds ``Q3/MÜLLER`` as ``q3/müller``; no second record."""
    provision(scratch_sf)
    created = scratch_sf.OKR_Objective__c.upsert("OKR_Key__c/Q3%2FMÜLLER", {"Name": "One"})
    assert created == 201
    again = scratch_sf.OKR_Objective__c.upsert("OKR_Key__c/q3%2Fmüller", {"Name": "Two"})
    assert again == 204
    rows = scratch_sf.query_all("SELECT Name, OKR_Key__c FROM OKR_Objective__c")["records"]
    assert [(r["Name"], r["OKR_Key__c"]) for r in rows] == [("Two", "Q3/MÜLLER")]


def test_upsert_on_a_case_sensitive_external_id_tells_letter_cases_apart(
    scratch_sf: Salesforce,
    provision: Callable[[Salesforce], dict[str, str]],
) -> None:
    """With ``caseSensitive`` set, ``ABC`` and ``abc`` are two records, each upserted on its own."""
    provision(scratch_sf)
    scratch_sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "OKR_Objective__c.Code__c",
            "Metadata": {
                "type": "Text",
                "length": 40,
                "label": "Code",
                "externalId": True,
                "unique": True,
                "caseSensitive": True,
            },
        },
    )
    assert scratch_sf.OKR_Objective__c.upsert("Code__c/ABC", {"Name": "upper"}) == 201
    assert scratch_sf.OKR_Objective__c.upsert("Code__c/abc", {"Name": "lower"}) == 201
    assert scratch_sf.OKR_Objective__c.upsert("Code__c/abc", {"Name": "lower 2"}) == 204
    rows = scratch_sf.query_all("SELECT Name, Code__c FROM OKR_Objective__c ORDER BY Name")
    assert [(r["Name"], r["Code__c"]) for r in rows["records"]] == [
        ("lower 2", "abc"),
        ("upper", "ABC"),
    ]
