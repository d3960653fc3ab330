"""Custom object schemas, properties and associations v4 through hubspot-api-client."""

from __future__ import annotations

import re
from typing import Any

import hubspot  # type: ignore[import-untyped]
import pytest
from hubspot.crm.associations.v4 import (  # type: ignore[import-untyped]
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import (  # type: ignore[import-untyped]
    ApiException as PropertyError,
)
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.schemas import ApiException, ObjectSchemaEgg  # type: ignore[import-untyped]


def test_schema_has_hubspot_identifiers(key_results: Any, box: Any) -> None:
    """A created schema gets a ``2-…`` objectTypeId, a ``p<portal>_`` name and its properties."""
    assert re.fullmatch(r"2-\d+", key_results.object_type_id)
    assert key_results.id == key_results.object_type_id.split("-")[1]
    assert key_results.fully_qualified_name == f"p{box.app.settings.portal_id}_okr_key_result"
    props = {p.name: p for p in key_results.properties}
    assert props["okr_key"].has_unique_value is True
    assert props["title"].has_unique_value is False
    assert {"hs_object_id", "hs_createdate", "hs_lastmodifieddate"} <= set(props)
    assert [o.value for o in props["status"].options] == ["on_track", "at_risk"]
    assert key_results.required_properties == ["okr_key"]
    assert {a.to_object_type_id for a in key_results.associations} == {"0-2", "0-3"}


def test_schemas_can_be_listed_and_read_by_any_name(client: Any, key_results: Any) -> None:
    """GET schemas lists the custom object; it is found by id, fully qualified or plain name."""
    listed = client.crm.schemas.core_api.get_all()
    assert key_results.object_type_id in {s.object_type_id for s in listed.results}
    for name in (key_results.object_type_id, key_results.fully_qualified_name, "okr_key_result"):
        assert (
            client.crm.schemas.core_api.get_by_id(name).object_type_id == key_results.object_type_id
        )


def test_duplicate_schema_is_409(client: Any, key_results: Any) -> None:
    """Creating a schema whose name is taken is a 409."""
    with pytest.raises(ApiException) as caught:
        client.crm.schemas.core_api.create(
            ObjectSchemaEgg(
                name=key_results.name,
                labels={"singular": "x", "plural": "xs"},
                required_properties=[],
                properties=[{"name": "a", "label": "A", "type": "string", "fieldType": "text"}],
                associated_objects=[],
            )
        )
    assert caught.value.status == 409


@pytest.mark.parametrize("alias", ["object_type_id", "fully_qualified_name", "name"])
def test_custom_objects_are_usable_under_every_name(
    client: Any, key_results: Any, alias: str
) -> None:
    """Records of the custom object can be written and read through any of its names."""
    object_type = getattr(key_results, alias)
    api = client.crm.objects.basic_api
    made = api.create(
        object_type,
        SimplePublicObjectInputForCreate(
            properties={
                "okr_key": f"alias/{alias}",
                "progress": "0.25",
                "due": "2026-09-30",
                "done": "false",
            }
        ),
    )
    read = api.get_by_id(
        key_results.object_type_id, made.id, properties=["progress", "due", "done", "okr_key"]
    )
    assert read.properties["progress"] == "0.25"
    assert read.properties["due"] == "2026-09-30"
    assert read.properties["done"] == "false"
    by_key = api.get_by_id(key_results.name, f"alias/{alias}", id_property="okr_key")
    assert by_key.id == made.id


def test_properties_api_adds_unique_properties(client: Any, key_results: Any) -> None:
    """A property added with hasUniqueValue can serve as an upsert idProperty; duplicates are 409."""
    props = client.crm.properties.core_api
    created = props.create(
        key_results.object_type_id,
        PropertyCreate(
            name="external_ref",
            label="External ref",
            type="string",
            field_type="text",
            group_name="okr_key_result_information",
            has_unique_value=True,
        ),
    )
    assert created.has_unique_value is True
    names = {p.name for p in props.get_all(key_results.object_type_id).results}
    assert {"external_ref", "okr_key", "title"} <= names
    assert props.get_by_name(key_results.name, "external_ref").label == "External ref"
    upserted = client.crm.objects.batch_api.upsert(
        key_results.object_type_id,
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "ref-1", "idProperty": "external_ref", "properties": {"okr_key": "via-ref"}}
            ]
        ),
    )
    assert upserted.results[0].new is True
    with pytest.raises(PropertyError) as caught:
        props.create(
            key_results.object_type_id,
            PropertyCreate(
                name="external_ref", label="Again", type="string", field_type="text", group_name="g"
            ),
        )
    assert caught.value.status == 409
    standard = props.create(
        "companies",
        PropertyCreate(
            name="okr_score",
            label="OKR score",
            type="number",
            field_type="number",
            group_name="companyinformation",
        ),
    )
    assert standard.type == "number"


def test_associations_create_read_and_default(client: Any, key_results: Any) -> None:
    """Key results associate with companies (labelled types) and deals (default), and read back."""
    objects = client.crm.objects.basic_api
    kr = objects.create(
        key_results.object_type_id,
        SimplePublicObjectInputForCreate(properties={"okr_key": "assoc/1"}),
    )
    companies = client.crm.objects.basic_api.get_page("companies", limit=2).results
    deal = client.crm.objects.basic_api.get_page("deals", limit=1).results[0]
    v4 = client.crm.associations.v4
    labels = v4.schema.definitions_api.get_all(key_results.object_type_id, "companies").results
    assert len(labels) == 1
    spec = labels[0]
    created = v4.batch_api.create(
        key_results.object_type_id,
        "companies",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                {
                    "from": {"id": kr.id},
                    "to": {"id": c.id},
                    "types": [
                        {"associationCategory": spec.category, "associationTypeId": spec.type_id}
                    ],
                }
                for c in companies
            ]
        ),
    )
    assert created.status == "COMPLETE"
    assert sorted(r.to_object_id for r in created.results) == sorted(c.id for c in companies)
    v4.batch_api.create_default(
        key_results.name,
        "deals",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[{"from": {"id": kr.id}, "to": {"id": deal.id}}]
        ),
    )
    read = v4.batch_api.get_page(
        key_results.fully_qualified_name,
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": kr.id}]),
    )
    assert [r._from.id for r in read.results] == [kr.id]
    assert sorted(t.to_object_id for t in read.results[0].to) == sorted(c.id for c in companies)
    assert read.results[0].to[0].association_types[0].type_id == spec.type_id
    back = v4.basic_api.get_page("companies", companies[0].id, key_results.object_type_id)
    assert [t.to_object_id for t in back.results] == [kr.id]
    to_deal = v4.basic_api.get_page(key_results.object_type_id, kr.id, "deals")
    assert [t.to_object_id for t in to_deal.results] == [deal.id]


def test_association_read_of_unassociated_ids_is_207(client: Any, key_results: Any) -> None:
    """Reading associations of an object that has none reports it as an error entry."""
    kr = client.crm.objects.basic_api.create(
        key_results.object_type_id,
        SimplePublicObjectInputForCreate(properties={"okr_key": "lonely"}),
    )
    data, status, _ = client.crm.associations.v4.batch_api.get_page_with_http_info(
        key_results.object_type_id,
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": kr.id}]),
    )
    assert status == 207
    assert data.results == []
    assert data.errors[0].category == "OBJECT_NOT_FOUND"


def test_standard_association_labels(client: Any) -> None:
    """Contacts and companies have HubSpot's unlabeled (279) and primary (1) types."""
    labels = client.crm.associations.v4.schema.definitions_api.get_all(
        "contacts", "companies"
    ).results
    assert {(spec.type_id, spec.label) for spec in labels} == {(279, None), (1, "Primary")}


def test_missing_scopes_is_hubspots_403(start_box: Any, tmp_path: Any, body_of: Any) -> None:
    """Without crm.schemas.custom.write, creating a schema answers HubSpot's MISSING_SCOPES body."""
    limited = start_box(data_dir=tmp_path, extra={"missing_scopes": ["crm.schemas.custom.write"]})
    client = hubspot.HubSpot(access_token=limited.access_token, host=limited.url)
    with pytest.raises(ApiException) as caught:
        client.crm.schemas.core_api.create(
            ObjectSchemaEgg(
                name="okr_objective",
                labels={"singular": "Objective", "plural": "Objectives"},
                required_properties=[],
                properties=[
                    {"name": "okr_key", "label": "Key", "type": "string", "fieldType": "text"}
                ],
                associated_objects=[],
            )
        )
    assert caught.value.status == 403
    body = body_of(caught.value)
    assert body.pop("correlationId")
    assert body == {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more "
        "about required scopes here: https://developers.hubspot.com/scopes.",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["crm.schemas.custom.write"]},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }
    assert client.crm.schemas.core_api.get_all().results == []
