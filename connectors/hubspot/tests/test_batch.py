"""Batch upsert of the write-back objects: limits, unique idProperty, partial failures."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)

from okrsync_sandbox.faults import FaultInjector, FaultKind, FaultSpec


def _inputs(n: int, prefix: str, progress: float = 10.0, id_property: str = "okr_key") -> Any:
    return BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            {
                "id": f"{prefix}/{i:03d}",
                "idProperty": id_property,
                "properties": {
                    "title": f"KR {i}",
                    "progress": str(progress + i),
                    "status": "on_track",
                },
            }
            for i in range(n)
        ]
    )


def test_upsert_of_100_creates_then_updates(client: Any, key_results: Any) -> None:
    """100 inputs upsert in one call: created the first time, updated (new=false) the second."""
    api = client.crm.objects.batch_api
    data, status, _ = api.upsert_with_http_info(
        key_results.object_type_id, _inputs(100, "2026-Q3/a")
    )
    assert status == 200
    assert data.status == "COMPLETE"
    assert len(data.results) == 100
    assert all(r.new for r in data.results)
    first = {r.properties["okr_key"]: r.id for r in data.results}
    assert data.results[5].properties["progress"] == "15"
    again, status, _ = api.upsert_with_http_info(
        key_results.name, _inputs(100, "2026-Q3/a", progress=50.5)
    )
    assert status == 200
    assert not any(r.new for r in again.results)
    assert {r.properties["okr_key"]: r.id for r in again.results} == first
    assert again.results[0].properties["progress"] == "50.5"
    assert again.started_at is not None
    assert again.completed_at is not None


def test_upsert_of_101_is_refused(client: Any, key_results: Any, body_of: Any) -> None:
    """More than 100 inputs is a 400 and nothing is written."""
    with pytest.raises(ApiException) as caught:
        client.crm.objects.batch_api.upsert(
            key_results.object_type_id, _inputs(101, "2026-Q3/too-many")
        )
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert "maximum number of inputs supported in a batch request is 100" in body["message"]
    read = client.crm.objects.batch_api.read(
        key_results.object_type_id,
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "2026-Q3/too-many/000"}],
            id_property="okr_key",
            properties=[],
            properties_with_history=[],
        ),
    )
    assert read.results == []


def test_upsert_by_a_property_without_unique_values_is_refused(
    client: Any, box: Any, key_results: Any, body_of: Any
) -> None:
    """The idProperty must have hasUniqueValue; HubSpot's message names the type, property and portal."""
    with pytest.raises(ApiException) as caught:
        client.crm.objects.batch_api.upsert(
            key_results.object_type_id, _inputs(2, "x", id_property="title")
        )
    assert caught.value.status == 400
    assert body_of(caught.value)["message"] == (
        f"Unable to perform update/upsert by non-unique {key_results.object_type_id} "
        f"property title in portal ID {box.app.settings.portal_id}"
    )


def test_duplicate_ids_in_one_batch_are_refused(
    client: Any, key_results: Any, body_of: Any
) -> None:
    """Two inputs with the same id in one upsert are a 400."""
    inputs = _inputs(2, "dup")
    inputs.inputs[1]["id"] = inputs.inputs[0]["id"]
    with pytest.raises(ApiException) as caught:
        client.crm.objects.batch_api.upsert(key_results.object_type_id, inputs)
    assert "Duplicate IDs" in body_of(caught.value)["message"]


def test_unique_values_conflict_on_create(client: Any, key_results: Any) -> None:
    """Creating a second record with a taken unique value is a 409 CONFLICT."""
    api = client.crm.objects.basic_api
    api.create(
        key_results.object_type_id, SimplePublicObjectInputForCreate(properties={"okr_key": "solo"})
    )
    with pytest.raises(ApiException) as caught:
        api.create(
            key_results.object_type_id,
            SimplePublicObjectInputForCreate(properties={"okr_key": "solo"}),
        )
    assert caught.value.status == 409


def test_required_properties_are_enforced_on_create(
    client: Any, key_results: Any, body_of: Any
) -> None:
    """A custom object's requiredProperties must be given when creating."""
    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.create(
            key_results.object_type_id,
            SimplePublicObjectInputForCreate(properties={"title": "no key"}),
        )
    assert body_of(caught.value)["errors"][0]["code"] == "REQUIRED_PROPERTY"


def test_contacts_upsert_by_email(client: Any) -> None:
    """Contacts upsert by email, HubSpot's special unique key."""
    data = client.crm.objects.batch_api.upsert(
        "contacts",
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {
                    "id": "upsert.me@x.example",
                    "idProperty": "email",
                    "properties": {"firstname": "Up"},
                }
            ]
        ),
    )
    assert data.results[0].new is True
    assert data.results[0].properties["email"] == "upsert.me@x.example"


def _partial(client: Any, key_results: Any, prefix: str) -> tuple[int, Any]:
    data, status, _ = client.crm.objects.batch_api.upsert_with_http_info(
        key_results.object_type_id, _inputs(100, prefix)
    )
    return status, data


def test_partial_failures_are_207_with_the_drawn_indices(
    client: Any, key_results: Any, faults: Any
) -> None:
    """A partial fault fails exactly the inputs ``Fault.failing`` picks, the same way for the same seed."""
    spec = FaultSpec(rates={FaultKind.PARTIAL: 1.0}, seed=11)
    reference = FaultInjector(spec, "hubspot").draw(batch=True)
    assert reference is not None
    expected = reference.failing(100)
    assert 1 <= len(expected) < 100
    keys = [f"2026-Q3/partial/{i:03d}" for i in range(100)]
    outcomes = []
    for run in range(2):
        faults(spec)
        status, data = _partial(client, key_results, "2026-Q3/partial")
        assert status == 207
        assert data.num_errors == len(expected)
        failed = {keys.index(e.context["ids"][0]) for e in data.errors}
        assert failed == expected
        assert all(e.category == "VALIDATION_ERROR" and e.status == "error" for e in data.errors)
        written = {keys.index(r.properties["okr_key"]) for r in data.results}
        assert written == set(range(100)) - expected
        assert all(r.new is (run == 0) for r in data.results)
        outcomes.append(failed)
    assert outcomes[0] == outcomes[1]
    faults(FaultSpec())
    read = client.crm.objects.batch_api.read(
        key_results.object_type_id,
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": keys[i]} for i in sorted(expected)],
            id_property="okr_key",
            properties=[],
            properties_with_history=[],
        ),
    )
    assert read.results == []
