"""sObject Collections: batch create/update/delete, upsert by external id, allOrNone, partial faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.faults import FaultKind, FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

UPSERT = "composite/sobjects/OKR_Key_Result__c/OKR_Key__c"


def kr(key: str, **fields: Any) -> dict[str, Any]:
    """A key-result record for a collection request."""
    return {
        "attributes": {"type": "OKR_Key_Result__c"},
        "OKR_Key__c": key,
        "Name": key[-80:],
        **fields,
    }


@pytest.fixture(scope="module")
def okr(
    launch: Callable[..., RunningSalesforceSandbox],
    make_client: Callable[..., Salesforce],
    provision: Callable[[Salesforce], dict[str, str]],
) -> Iterator[tuple[RunningSalesforceSandbox, Salesforce]]:
    """A sandbox with the OKR objects provisioned, and its client (tests use their own keys)."""
    box = launch()
    sf = make_client(box)
    provision(sf)
    yield box, sf
    sf.session.close()
    box.stop()


def count(sf: Salesforce, prefix: str) -> int:
    """Key results whose key starts with ``prefix``."""
    return int(
        sf.query(f"SELECT COUNT() FROM OKR_Key_Result__c WHERE OKR_Key__c LIKE '{prefix}%'")[  # noqa: S608  (SOQL from test constants)
            "totalSize"
        ]
    )


def written(box: RunningSalesforceSandbox) -> int:
    """Key-result records written so far."""
    return int(
        box.app.accounting.snapshot()
        .get("salesforce", {})
        .get("records_written", {})
        .get("OKR_Key_Result__c", 0)
    )


def upsert(
    sf: Salesforce, records: list[dict[str, Any]], *, all_or_none: bool = False
) -> list[dict[str, Any]]:
    """PATCH a collection upsert; the per-record results."""
    answer = sf.restful(UPSERT, method="PATCH", json={"allOrNone": all_or_none, "records": records})
    assert isinstance(answer, list)
    return answer


def test_upsert_200_records_then_update_them(
    okr: tuple[RunningSalesforceSandbox, Salesforce],
) -> None:
    """200 records are created in one call; the same call again updates them, in input order."""
    box, sf = okr
    before = written(box)
    records = [kr(f"2026-Q3/o/kr-{i:03d}", Score__c=i / 100) for i in range(200)]
    created = upsert(sf, records)
    assert len(created) == 200
    assert all(r["success"] and r["created"] and r["errors"] == [] for r in created)
    rows = sf.query_all(
        "SELECT Id, OKR_Key__c FROM OKR_Key_Result__c WHERE OKR_Key__c LIKE '2026-Q3/o/%'"
    )["records"]
    by_key = {r["OKR_Key__c"]: r["Id"] for r in rows}
    assert [r["id"] for r in created] == [by_key[f"2026-Q3/o/kr-{i:03d}"] for i in range(200)]
    again = upsert(sf, [kr(r["OKR_Key__c"], Score__c=1) for r in records])
    assert [(r["id"], r["created"]) for r in again] == [(r["id"], False) for r in created]
    assert count(sf, "2026-Q3/o/") == 200
    assert written(box) - before == 400


def test_201_records_are_refused(okr: tuple[RunningSalesforceSandbox, Salesforce]) -> None:
    """More than 200 records fail the whole request with EXCEEDED_ID_LIMIT, writing nothing."""
    _, sf = okr
    with pytest.raises(SalesforceMalformedRequest) as caught:
        upsert(sf, [kr(f"big-{i}") for i in range(201)])
    assert caught.value.content == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]
    assert count(sf, "big-") == 0


def test_per_record_results_in_order(okr: tuple[RunningSalesforceSandbox, Salesforce]) -> None:
    """Each record gets its own result, in input order; failures do not stop the others."""
    _, sf = okr
    existing = upsert(sf, [kr("order/existing")])[0]["id"]
    results = upsert(
        sf,
        [
            kr("order/fresh"),
            kr("order/bad-field", Bogus__c=1),
            {"attributes": {"type": "OKR_Key_Result__c"}, "Name": "no key"},
            kr("order/twin"),
            kr("order/twin"),
            kr("order/existing", Score__c=0.5),
            kr("order/read-only", CreatedDate="2026-01-01T00:00:00Z"),
            kr("order/bad-pick", Status__c="great"),
            kr("order/no-parent", Objective__r={"OKR_Key__c": "missing"}),
        ],
    )
    codes = [r["errors"][0]["statusCode"] if r["errors"] else None for r in results]
    assert codes == [
        None,
        "INVALID_FIELD",
        "MISSING_ARGUMENT",
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
        None,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_FIELD",
    ]
    assert results[0]["created"] is True
    assert (results[5]["id"], results[5]["created"]) == (existing, False)
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_FIELD",
                "message": "No such column 'Bogus__c' on sobject of type OKR_Key_Result__c",
                "fields": ["Bogus__c"],
            }
        ],
    }
    query = "SELECT OKR_Key__c FROM OKR_Key_Result__c WHERE OKR_Key__c LIKE 'order/%'"
    keys = {r["OKR_Key__c"] for r in sf.query_all(query)["records"]}
    assert keys == {"order/existing", "order/fresh"}


def test_all_or_none_rolls_back(okr: tuple[RunningSalesforceSandbox, Salesforce]) -> None:
    """With allOrNone one bad record fails the batch and nothing is written."""
    _, sf = okr
    results = upsert(sf, [kr("aon/a"), kr("aon/b", Bogus__c=1), kr("aon/c")], all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert count(sf, "aon/") == 0


def test_wrong_json_type_fails_the_request(
    okr: tuple[RunningSalesforceSandbox, Salesforce],
) -> None:
    """A value the JSON deserializer cannot read fails the whole request with JSON_PARSER_ERROR."""
    _, sf = okr
    with pytest.raises(SalesforceMalformedRequest) as caught:
        upsert(sf, [kr("json/a"), kr("json/b", Score__c="high")])
    assert caught.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_upsert_on_a_field_that_is_not_an_external_id(
    okr: tuple[RunningSalesforceSandbox, Salesforce],
) -> None:
    """Upserting on an ordinary field is refused with INVALID_FIELD."""
    _, sf = okr
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(
            "composite/sobjects/OKR_Key_Result__c/Name",
            method="PATCH",
            json={"allOrNone": False, "records": [kr("name/a")]},
        )
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def failing_indices(results: list[dict[str, Any]]) -> list[int]:
    """Indices of the records that failed to lock."""
    return [
        i
        for i, r in enumerate(results)
        if r["errors"] and r["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    ]


def test_partial_faults_are_reproducible(okr: tuple[RunningSalesforceSandbox, Salesforce]) -> None:
    """A partial-batch fault fails some records with UNABLE_TO_LOCK_ROW; the same seed fails the same ones."""
    box, sf = okr
    records = [kr(f"p-{i:03d}") for i in range(60)]
    spec = FaultSpec(rates={FaultKind.PARTIAL: 1.0}, seed=7)
    box.faults.set_spec(spec)
    first = upsert(sf, records)
    box.faults.set_spec(spec)
    second = upsert(sf, records)
    box.faults.set_spec(FaultSpec())
    faults = box.app.accounting.snapshot()["salesforce"]["faults"]
    retried = upsert(sf, records)
    failed = failing_indices(first)
    assert 1 <= len(failed) <= 20
    assert failing_indices(second) == failed
    assert all(r["success"] for i, r in enumerate(first) if i not in failed)
    assert [i for i, r in enumerate(retried) if r["created"]] == failed
    assert count(sf, "p-") == 60
    assert faults["partial"] >= 2


def test_partial_fault_with_all_or_none_writes_nothing(
    okr: tuple[RunningSalesforceSandbox, Salesforce],
) -> None:
    """Under allOrNone a partial fault rolls the whole batch back."""
    box, sf = okr
    box.faults.set_spec(FaultSpec(rates={FaultKind.PARTIAL: 1.0}, seed=3))
    results = upsert(sf, [kr(f"q-{i}") for i in range(10)], all_or_none=True)
    box.faults.set_spec(FaultSpec())
    codes = {r["errors"][0]["statusCode"] for r in results}
    assert codes == {"UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK"}
    assert count(sf, "q-") == 0


def test_create_update_delete_collections(scratch_sf: Salesforce) -> None:
    """POST, PATCH and DELETE /composite/sobjects act per record, in order."""
    created = scratch_sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "One"},
                {"attributes": {"type": "Lead"}, "LastName": "Two", "Company": "Two Inc"},
                {"attributes": {"type": "Account"}},
                {"Name": "untyped"},
            ],
        },
    )
    assert [r["success"] for r in created] == [True, True, False, False]
    assert created[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert created[3]["errors"][0]["statusCode"] == "INVALID_TYPE"
    updated = scratch_sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Id": created[0]["id"], "Industry": "Energy"}
            ]
        },
    )
    assert updated == [{"id": created[0]["id"], "success": True, "errors": []}]
    missing = make_id("001", 998)
    deleted = scratch_sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{created[0]['id']},{missing}", "allOrNone": "false"},
    )
    assert deleted[0] == {"id": created[0]["id"], "success": True, "errors": []}
    assert deleted[1]["success"] is False
    assert deleted[1]["errors"][0]["statusCode"] == "NOT_FOUND"
