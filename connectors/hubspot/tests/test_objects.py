"""CRM objects v3 through hubspot-api-client: paging, values as strings, writes, errors, auth."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)


def _walk(client: Any, object_type: str, limit: int) -> list[Any]:
    pages = []
    after = None
    while True:
        page = client.crm.objects.basic_api.get_page(object_type, limit=limit, after=after)
        pages.append(page)
        if page.paging is None:
            return pages
        after = page.paging.next.after


@pytest.mark.parametrize(
    ("object_type", "count", "limit", "sizes"),
    [
        ("contacts", 99, 100, [99]),
        ("companies", 100, 100, [100]),
        ("deals", 101, 100, [100, 1]),
        ("contacts", 99, 99, [99]),
        ("contacts", 99, 98, [98, 1]),
    ],
)
def test_list_pages_stop_exactly_at_the_boundary(
    folder_client: Any, object_type: str, count: int, limit: int, sizes: list[int]
) -> None:
    """99, 100 and 101 objects page into exactly the expected pages, with no empty last page."""
    pages = _walk(folder_client, object_type, limit)
    assert [len(p.results) for p in pages] == sizes
    ids = [int(r.id) for p in pages for r in p.results]
    assert len(ids) == count == len(set(ids))
    assert ids == sorted(ids)
    if len(pages) > 1:
        assert pages[0].paging.next.after == pages[0].results[-1].id


def test_list_limit_above_100_is_refused(folder_raw: Any) -> None:
    """A list page of more than 100 objects is a 400 VALIDATION_ERROR, as on HubSpot."""
    response = folder_raw("GET", "/crm/v3/objects/contacts?limit=101")
    assert response.status == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]


def test_property_values_are_strings_on_the_wire(folder_raw: Any) -> None:
    """Numbers, booleans, dates and datetimes all arrive as HubSpot formats them."""
    response = folder_raw(
        "GET",
        "/crm/v3/objects/companies/520?properties=annualrevenue,numberofemployees,customer_since"
        "&properties=createdate&properties=no_such_property&properties=domain",
    )
    assert response.status == 200
    body = response.json()
    assert body["id"] == "520"
    assert body["properties"] == {
        "annualrevenue": "20010",
        "numberofemployees": "20",
        "customer_since": "2026-01-21",
        "createdate": "2026-01-01T20:00:00.000Z",
        "domain": "c20.example",
        "hs_lastmodifieddate": "2026-01-01T20:00:00.000Z",
        "hs_object_id": "520",
    }
    assert body["createdAt"] == "2026-01-01T20:00:00.000Z"
    assert body["archived"] is False
    deal = folder_raw(
        "GET", "/crm/v3/objects/deals/2004?properties=hs_is_closed_won,amount,closedate"
    )
    assert deal.json()["properties"]["hs_is_closed_won"] == "true"
    assert deal.json()["properties"]["amount"] == "400"
    assert deal.json()["properties"]["closedate"] == "2026-01-05T00:00:00.000Z"
    odd = folder_raw("GET", "/crm/v3/objects/companies/521?properties=annualrevenue,domain")
    assert odd.json()["properties"]["annualrevenue"] == "21010.5"
    assert odd.json()["properties"]["domain"] is None


def test_default_properties_when_none_are_asked(folder_client: Any) -> None:
    """Without ``properties`` a contact carries HubSpot's default set."""
    page = folder_client.crm.objects.basic_api.get_page("contacts", limit=1)
    assert set(page.results[0].properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
        "hs_lastmodifieddate",
    }


def test_create_update_archive_round_trip(client: Any, box: Any) -> None:
    """A created company can be read, updated (hs_lastmodifieddate moves) and archived."""
    api = client.crm.objects.basic_api
    created = api.create(
        "companies",
        SimplePublicObjectInputForCreate(
            properties={
                "name": "Round Trip GmbH",
                "annualrevenue": "1200.5",
                "lifecyclestage": "Lead",
            }
        ),
    )
    assert created.properties["annualrevenue"] == "1200.5"
    assert created.properties["lifecyclestage"] == "lead"
    first = created.properties["hs_lastmodifieddate"]
    updated = api.update(
        "companies", created.id, SimplePublicObjectInput(properties={"numberofemployees": 12})
    )
    assert updated.properties["numberofemployees"] == "12"
    assert updated.properties["hs_lastmodifieddate"] >= first
    fetched = api.get_by_id("companies", created.id, properties=["name", "numberofemployees"])
    assert fetched.properties["name"] == "Round Trip GmbH"
    assert box.app.accounting.snapshot()["hubspot"]["records_written"]["companies"] >= 2
    api.archive("companies", created.id)
    with pytest.raises(ApiException) as missing:
        api.get_by_id("companies", created.id)
    assert missing.value.status == 404
    archived = api.get_by_id("companies", created.id, archived=True)
    assert archived.archived is True
    assert archived.archived_at is not None
    listed = client.crm.objects.basic_api.get_page("companies", archived=True, limit=100)
    assert created.id in {r.id for r in listed.results}


def test_unknown_property_in_a_write_is_a_validation_error(client: Any, body_of: Any) -> None:
    """Writing a property the object lacks answers HubSpot's 400 naming it."""
    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.create(
            "deals", SimplePublicObjectInputForCreate(properties={"dealname": "x", "x": "1"})
        )
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert 'Property \\"x\\" does not exist' in body["message"]
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_invalid_values_are_refused(client: Any, body_of: Any) -> None:
    """A number, an enumeration option and a date that do not fit are all reported."""
    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.create(
            "companies",
            SimplePublicObjectInputForCreate(
                properties={
                    "annualrevenue": "lots",
                    "lifecyclestage": "vip",
                    "customer_since": "2026-07-01T10:00:00Z",
                }
            ),
        )
    body = body_of(caught.value)
    assert sorted(e["code"] for e in body["errors"]) == [
        "INVALID_DATE",
        "INVALID_FLOAT",
        "INVALID_OPTION",
    ]


def test_deal_stage_derives_closed_flags(client: Any) -> None:
    """Moving a deal to closedwon sets hs_is_closed and hs_is_closed_won as HubSpot does."""
    api = client.crm.objects.basic_api
    deal = api.create(
        "deals",
        SimplePublicObjectInputForCreate(
            properties={"dealname": "Flags", "dealstage": "contractsent"}
        ),
    )
    won = api.update(
        "deals", deal.id, SimplePublicObjectInput(properties={"dealstage": "closedwon"})
    )
    read = api.get_by_id(
        "deals", won.id, properties=["hs_is_closed", "hs_is_closed_won", "pipeline"]
    )
    assert read.properties["hs_is_closed"] == "true"
    assert read.properties["hs_is_closed_won"] == "true"
    assert read.properties["pipeline"] == "default"


def test_batch_read_reports_missing_ids(folder_client: Any) -> None:
    """batch/read returns the objects found and a 207 error listing the ids not found."""
    data, status, _ = folder_client.crm.objects.batch_api.read_with_http_info(
        "contacts",
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "1"}, {"id": "2"}, {"id": "999999"}],
            properties=["email"],
            properties_with_history=[],
        ),
    )
    assert status == 207
    assert sorted(r.id for r in data.results) == ["1", "2"]
    assert data.num_errors == 1
    assert data.errors[0].category == "OBJECT_NOT_FOUND"
    assert data.errors[0].context == {"ids": ["999999"]}


def test_batch_read_by_unique_property(folder_client: Any) -> None:
    """batch/read by idProperty email finds contacts by their email."""
    data = folder_client.crm.objects.batch_api.read(
        "contacts",
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "p5@x.example"}],
            id_property="email",
            properties=["email"],
            properties_with_history=[],
        ),
    )
    assert [r.id for r in data.results] == ["5"]


def test_batch_update_and_archive(client: Any) -> None:
    """batch/update changes several objects; batch/archive hides them from the list."""
    api = client.crm.objects
    ids = [
        api.basic_api.create(
            "tasks", SimplePublicObjectInputForCreate(properties={"hs_task_subject": f"B{i}"})
        ).id
        for i in range(3)
    ]
    result = api.batch_api.update(
        "tasks",
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": i, "properties": {"hs_task_status": "COMPLETED"}} for i in ids]
        ),
    )
    assert {r.properties["hs_task_status"] for r in result.results} == {"COMPLETED"}
    api.batch_api.archive("tasks", BatchInputSimplePublicObjectId(inputs=[{"id": i} for i in ids]))
    gone = api.batch_api.read(
        "tasks",
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids], properties=[], properties_with_history=[]
        ),
    )
    assert gone.results == []


def test_feedback_submissions_are_read_only(client: Any, raw: Any, body_of: Any) -> None:
    """Feedback submissions can be read and searched but not written through the API."""
    page = client.crm.objects.feedback_submissions.basic_api.get_page(
        limit=5, properties=["hs_survey_type", "hs_response_value", "hs_submission_timestamp"]
    )
    assert page.results
    assert page.results[0].properties["hs_survey_type"] in {"NPS", "CSAT", "CES"}
    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.create(
            "feedback_submissions",
            SimplePublicObjectInputForCreate(properties={"hs_response_value": "9"}),
        )
    assert caught.value.status == 403
    assert body_of(caught.value)["status"] == "error"
    some = page.results[0].id
    assert (
        raw("PATCH", f"/crm/v3/objects/feedback_submissions/{some}", {"properties": {}}).status
        == 403
    )
    assert raw("DELETE", f"/crm/v3/objects/feedback_submissions/{some}").status == 403


def test_unknown_object_type(raw: Any) -> None:
    """An object type the portal lacks is a 400."""
    response = raw("GET", "/crm/v3/objects/spaceships")
    assert response.status == 400
    assert "spaceships" in response.json()["message"]


@pytest.mark.parametrize("token", [None, "pat-na1-wrong"])
def test_bad_or_missing_token_is_401(raw: Any, token: str | None) -> None:
    """Without the private app's token the answer is HubSpot's INVALID_AUTHENTICATION."""
    response = raw("GET", "/crm/v3/objects/contacts", token=token)
    assert response.status == 401
    body = response.json()
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert body["status"] == "error"
    assert body["correlationId"]
