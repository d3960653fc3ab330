"""Write-back against the sandbox: batches, per-record outcomes, lookups, owners, read-back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest

from okrsync.connector import UpsertStatus
from okrsync.crm_objects import CHECK_IN, KEY_RESULT, OBJECTIVE, OKR_OBJECTS
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.faults import FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

SYNCED = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)


def connector_for(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    """A connector on the sandbox's static session, pinned to its CA, on the sandbox's clock."""
    values: dict[str, Any] = {
        "auth": "session",
        "instance_url": box.instance_url,
        "session_id": box.session_id,
        "ca_file": box.ca_file,
        "retry_backoff_seconds": 0.001,
        "timeout_seconds": 10,
    }
    values.update(overrides)
    return SalesforceConnector("salesforce", SalesforceSettings(**values), clock=box.app.clock)


def upserts(box: RunningSalesforceSandbox) -> int:
    """Composite upsert calls the sandbox served."""
    return int(
        box.app.accounting.snapshot()["salesforce"]["by_endpoint"].get("composite_upsert", 0)
    )


def objectives(count: int, prefix: str = "2026-Q3/o") -> list[dict[str, Any]]:
    return [
        {
            "key": f"{prefix}{i:04d}",
            "title": f"Objective {i} " + "x" * 100,
            "cycle": "2026-Q3",
            "cycle_start": date(2026, 7, 1),
            "cycle_end": date(2026, 9, 30),
            "score": 0.5,
            "forecast_score": 0.61,
            "status": "on_track",
            "last_synced_at": SYNCED,
        }
        for i in range(count)
    ]


def key_result(key: str, objective: str, **extra: Any) -> dict[str, Any]:
    record = {
        "key": key,
        "title": f"KR {key}",
        "objective": objective,
        "kind": "metric",
        "source": "salesforce",
        "metric": "won_revenue",
        "unit": "currency",
        "start_value": 0.0,
        "target_value": 100_000.0,
        "current_value": 42_000.0,
        "progress": 0.42,
        "score": 0.42,
        "expected": 0.5,
        "forecast_score": 0.8,
        "status": "at_risk",
        "weight": 1.0,
        "owner": "ada@acme.example",
        "owner_name": "Ada",
        "last_synced_at": SYNCED,
        "sync_error": None,
        "confidence": 3.0,
        "comment": "never sent",
    }
    record.update(extra)
    return record


@pytest.fixture(scope="module")
def okr(
    launch: Callable[..., RunningSalesforceSandbox],
) -> Iterator[tuple[RunningSalesforceSandbox, SalesforceConnector]]:
    """The small org with okrsync's objects provisioned, and a connector."""
    box = launch()
    connector = connector_for(box)
    assert connector.provision(OKR_OBJECTS)
    yield box, connector
    connector.close()
    box.stop()


def test_two_hundred_records_take_one_call_and_201_two(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
    make_client: Callable[..., Salesforce],
) -> None:
    """Writes go in batches of 200: one call for 200 records, two for 201; names cut to 80."""
    box, connector = okr
    before = upserts(box)
    outcomes = connector.write(OBJECTIVE, objectives(200, "2026-Q3/a"))
    assert upserts(box) - before == 1
    assert [o.status for o in outcomes] == [UpsertStatus.CREATED] * 200
    assert [o.key for o in outcomes] == [f"2026-Q3/a{i:04d}" for i in range(200)]
    before = upserts(box)
    outcomes = connector.write(OBJECTIVE, objectives(201, "2026-Q3/b"))
    assert upserts(box) - before == 2
    assert len(outcomes) == 201
    assert all(o.status is UpsertStatus.CREATED and o.id for o in outcomes)
    sf = make_client(box)
    row = sf.query(
        "SELECT Name, Title__c, Cycle_Start__c, Score__c, Last_Synced_At__c "
        "FROM OKR_Objective__c WHERE OKR_Key__c = '2026-Q3/b0007'"
    )["records"][0]
    assert len(row["Name"]) == 80
    assert row["Title__c"].startswith("Objective 7 xxx")
    assert (row["Cycle_Start__c"], row["Score__c"]) == ("2026-07-01", 0.5)
    assert row["Last_Synced_At__c"] == "2026-08-15T12:00:00.000+0000"
    sf.session.close()


def test_created_then_updated(okr: tuple[RunningSalesforceSandbox, SalesforceConnector]) -> None:
    """Writing the same keys again updates the same records."""
    _, connector = okr
    first = connector.write(OBJECTIVE, objectives(3, "2026-Q3/c"))
    changed = [dict(r, score=0.9) for r in objectives(3, "2026-Q3/c")]
    second = connector.write(OBJECTIVE, changed)
    assert [o.status for o in first] == [UpsertStatus.CREATED] * 3
    assert [o.status for o in second] == [UpsertStatus.UPDATED] * 3
    assert [o.id for o in first] == [o.id for o in second]
    back = connector.read_back(OBJECTIVE, ["2026-Q3/c0001", "2026-Q3/none"])
    assert list(back) == ["2026-Q3/c0001"]
    assert back["2026-Q3/c0001"]["score"] == 0.9


def test_key_results_link_objectives_and_owners_and_read_back(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
    make_client: Callable[..., Salesforce],
) -> None:
    """Lookups by the parent's key, percent as 0–100, owner by e-mail; read back as written."""
    box, connector = okr
    connector.write(OBJECTIVE, objectives(1, "2026-Q3/k"))
    records = [
        key_result("2026-Q3/k0000/kr1", "2026-Q3/k0000"),
        key_result("2026-Q3/k0000/kr2", "2026-Q3/k0000", owner="nobody@acme.example"),
    ]
    outcomes = connector.write(KEY_RESULT, records)
    assert [o.status for o in outcomes] == [UpsertStatus.CREATED] * 2
    sf = make_client(box)
    rows = sf.query(
        "SELECT OKR_Key__c, Progress__c, OwnerId, Objective__r.OKR_Key__c, Confidence__c "
        "FROM OKR_Key_Result__c WHERE OKR_Key__c LIKE '2026-Q3/k0000/%' ORDER BY OKR_Key__c"
    )["records"]
    assert [r["Progress__c"] for r in rows] == [42.0, 42.0]
    assert [r["Objective__r"]["OKR_Key__c"] for r in rows] == ["2026-Q3/k0000"] * 2
    assert rows[0]["OwnerId"] == make_id("005", 101)  # ada
    assert rows[1]["OwnerId"] == box.org.api_user_id  # unknown e-mail: not sent
    assert [r["Confidence__c"] for r in rows] == [None, None]  # rep-owned: never sent
    back = connector.read_back(KEY_RESULT, ["2026-Q3/k0000/kr1"])["2026-Q3/k0000/kr1"]
    sent = key_result("2026-Q3/k0000/kr1", "2026-Q3/k0000")
    for name in ("title", "objective", "kind", "progress", "expected", "status", "owner", "weight"):
        assert back[name] == sent[name], name
    assert back["last_synced_at"] == SYNCED
    assert (back["confidence"], back["comment"]) == (None, None)
    sf.session.close()


def test_objectives_link_their_parent_written_in_the_same_call(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
    make_client: Callable[..., Salesforce],
) -> None:
    """A child listed before its parent still links to it: parents go in an earlier request."""
    box, connector = okr
    company, team, squad = (
        dict(r, key=k)
        for r, k in zip(
            objectives(3, "2026-Q3/p"), ("2026/p-co", "2026-Q3/p-team", "2026-Q3/p-sq"), strict=True
        )
    )
    team["parent_objective"] = company["key"]
    squad["parent_objective"] = team["key"]
    before = upserts(box)
    outcomes = connector.write(OBJECTIVE, [squad, team, company])
    assert [o.status for o in outcomes] == [UpsertStatus.CREATED] * 3
    assert upserts(box) - before == 3  # one request per level of the tree
    sf = make_client(box)
    rows = sf.query(
        "SELECT OKR_Key__c, Parent_Objective__r.OKR_Key__c FROM OKR_Objective__c "
        "WHERE OKR_Key__c IN ('2026/p-co', '2026-Q3/p-team', '2026-Q3/p-sq') ORDER BY OKR_Key__c"
    )["records"]
    parents = {r["OKR_Key__c"]: (r["Parent_Objective__r"] or {}).get("OKR_Key__c") for r in rows}
    assert parents == {
        "2026/p-co": None,
        "2026-Q3/p-team": "2026/p-co",
        "2026-Q3/p-sq": "2026-Q3/p-team",
    }
    related = {
        (c["childSObject"], c["field"]): c["relationshipName"]
        for c in sf.OKR_Objective__c.describe()["childRelationships"]
    }
    assert related[("OKR_Objective__c", "Parent_Objective__c")] == "Child_Objectives__r"
    assert related[("OKR_Key_Result__c", "Objective__c")] == "OKR_Key_Results__r"
    back = connector.read_back(OBJECTIVE, [squad["key"]])[squad["key"]]
    assert back["parent_objective"] == team["key"]
    [moved] = connector.write(OBJECTIVE, [dict(squad, parent_objective=None)])
    assert moved.status is UpsertStatus.UPDATED
    assert connector.read_back(OBJECTIVE, [squad["key"]])[squad["key"]]["parent_objective"] is None
    sf.session.close()


def test_an_unknown_parent_fails_only_its_child(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
) -> None:
    """A parent key the org lacks fails that record, as Salesforce does, not the batch."""
    _, connector = okr
    orphan, fine = (dict(r) for r in objectives(2, "2026-Q3/u"))
    orphan["parent_objective"] = "2026/not-written"
    outcomes = connector.write(OBJECTIVE, [orphan, fine])
    assert [o.status for o in outcomes] == [UpsertStatus.FAILED, UpsertStatus.CREATED]
    assert outcomes[0].code == "INVALID_FIELD"
    assert "2026/not-written" in outcomes[0].message


def test_rep_owned_fields_are_read_back_and_never_overwritten(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
    make_client: Callable[..., Salesforce],
) -> None:
    """A rep's confidence and comment set in the org survive a write and come back logically."""
    box, connector = okr
    connector.write(OBJECTIVE, objectives(1, "2026-Q3/r"))
    key = "2026-Q3/r0000/kr"
    [created] = connector.write(KEY_RESULT, [key_result(key, "2026-Q3/r0000")])
    sf = make_client(box)
    sf.OKR_Key_Result__c.update(created.id, {"Confidence__c": 7, "Comment__c": "Looks good"})
    [again] = connector.write(KEY_RESULT, [key_result(key, "2026-Q3/r0000", progress=0.5)])
    assert again.status is UpsertStatus.UPDATED
    back = connector.read_back(KEY_RESULT, [key])[key]
    assert (back["confidence"], back["comment"], back["progress"]) == (7.0, "Looks good", 0.5)
    sf.session.close()


def test_check_ins_are_named_by_key(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
) -> None:
    """Check-ins (no title) take their key as record name and link their key result."""
    _, connector = okr
    connector.write(OBJECTIVE, objectives(1, "2026-Q3/h"))
    connector.write(KEY_RESULT, [key_result("2026-Q3/h0000/kr", "2026-Q3/h0000")])
    key = "2026-Q3/h0000/kr/2026-08-17"
    [outcome] = connector.write(
        CHECK_IN,
        [
            {
                "key": key,
                "key_result": "2026-Q3/h0000/kr",
                "check_in_date": date(2026, 8, 17),
                "current_value": 10.0,
                "progress": 0.1,
                "status": "off_track",
                "confidence": 4.0,
                "comment": "slow start",
            }
        ],
    )
    assert outcome.status is UpsertStatus.CREATED
    back = connector.read_back(CHECK_IN, [key])[key]
    assert back["key_result"] == "2026-Q3/h0000/kr"
    assert back["check_in_date"] == date(2026, 8, 17)
    assert (back["progress"], back["confidence"], back["comment"]) == (0.1, 4.0, "slow start")


def test_refusals_are_reported_per_record(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
) -> None:
    """A bad picklist value, a duplicate key and a missing parent fail alone; the rest succeed."""
    _, connector = okr
    connector.write(OBJECTIVE, objectives(1, "2026-Q3/f"))
    records = [
        key_result("2026-Q3/f/ok", "2026-Q3/f0000"),
        key_result("2026-Q3/f/bad-status", "2026-Q3/f0000", status="great"),
        key_result("2026-Q3/f/dup", "2026-Q3/f0000"),
        key_result("2026-Q3/f/dup", "2026-Q3/f0000"),
        key_result("2026-Q3/f/orphan", "2026-Q3/no-such-objective"),
        {"title": "no key"},
        key_result("2026-Q3/f/nan", "2026-Q3/f0000", current_value=float("nan")),
    ]
    outcomes = connector.write(KEY_RESULT, records)
    summary = [(o.key, o.status.value, o.code, o.retriable) for o in outcomes]
    assert summary == [
        ("2026-Q3/f/ok", "created", "", False),
        ("2026-Q3/f/bad-status", "failed", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", False),
        ("2026-Q3/f/dup", "failed", "DUPLICATE_EXTERNAL_ID", False),
        ("2026-Q3/f/dup", "failed", "DUPLICATE_EXTERNAL_ID", False),
        ("2026-Q3/f/orphan", "failed", "INVALID_FIELD", False),
        ("", "failed", "MISSING_KEY", False),
        ("2026-Q3/f/nan", "created", "", False),
    ]
    assert "Status__c" in outcomes[1].message
    assert (
        connector.read_back(KEY_RESULT, ["2026-Q3/f/nan"])["2026-Q3/f/nan"]["current_value"] is None
    )


def test_locked_rows_are_sent_again_and_mapped_to_their_records(
    start: Callable[..., RunningSalesforceSandbox], make_client: Callable[..., Salesforce]
) -> None:
    """With every batch partly locked and no retries, exactly the locked records fail, retriable."""
    box = start()
    connector = connector_for(box, max_retries=0)
    connector.provision([OBJECTIVE])
    box.faults.set_spec(FaultSpec.parse("partial=1,seed=5"))
    outcomes = connector.write(OBJECTIVE, objectives(30, "2026-Q3/l"))
    failed = {o.key for o in outcomes if o.status is UpsertStatus.FAILED}
    assert failed
    assert len(failed) < 30
    assert all(o.code == "UNABLE_TO_LOCK_ROW" and o.retriable for o in outcomes if o.key in failed)
    box.faults.set_spec(FaultSpec())
    sf = make_client(box)
    stored = {
        r["OKR_Key__c"] for r in sf.query_all("SELECT OKR_Key__c FROM OKR_Objective__c")["records"]
    }
    assert stored == {o.key for o in outcomes} - failed
    retrying = connector_for(box, max_retries=8)
    box.faults.set_spec(FaultSpec.parse("partial=0.6,seed=9"))
    outcomes = retrying.write(OBJECTIVE, objectives(30, "2026-Q3/l"))
    assert all(o.status is not UpsertStatus.FAILED for o in outcomes)
    assert {o.key for o in outcomes if o.status is UpsertStatus.CREATED} == failed
    sf.session.close()


def test_a_batch_failing_after_retries_fails_each_record_retriable(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """A 5xx storm that outlasts the retries gives retriable failures, not an exception."""
    box = start()
    connector = connector_for(box, max_retries=2)
    connector.provision([OBJECTIVE])
    connector.describe("OKR_Objective__c")  # what the writer checks first, cached
    box.faults.set_spec(FaultSpec.parse("5xx=1"))
    outcomes = connector.write(OBJECTIVE, objectives(3, "2026-Q3/s"))
    assert [(o.status, o.retriable) for o in outcomes] == [(UpsertStatus.FAILED, True)] * 3
    assert all("salesforce" in o.message for o in outcomes)


def test_owners_are_resolved_by_active_user_email(
    okr: tuple[RunningSalesforceSandbox, SalesforceConnector],
) -> None:
    """Owner e-mails map to active users in any letter case, once each; others to nothing."""
    _, connector = okr
    assert connector.resolve_owner("Ada@Acme.Example") == make_id("005", 101)
    assert connector.resolve_owner("cy@acme.example") is None  # inactive
    assert connector.resolve_owner("nobody@acme.example") is None
    assert connector.resolve_owner("x' OR Email != null OR Email = 'y") is None
    calls = connector.usage().calls
    assert connector.resolve_owner("ada@acme.example") == make_id("005", 101)
    assert connector.resolve_owner("nobody@acme.example") is None
    assert connector.usage().calls == calls


def test_physical_names(okr: tuple[RunningSalesforceSandbox, SalesforceConnector]) -> None:
    """Logical objects and fields have their Salesforce API names."""
    _, connector = okr
    assert connector.physical_name("key_result") == "OKR_Key_Result__c"
    assert connector.physical_name("check_in") == "OKR_Check_In__c"
    assert connector.physical_name("key_result", "forecast_score") == "Forecast_Score__c"
    assert connector.physical_name("key_result", "key") == "OKR_Key__c"
    assert connector.physical_name("key_result", "owner") == "OwnerId"
    assert connector.physical_name("key_result", "objective") == "Objective__c"
    with pytest.raises(ValueError, match="no field"):
        connector.physical_name("key_result", "nope")
