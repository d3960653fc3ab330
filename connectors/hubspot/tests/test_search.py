"""Search through hubspot-api-client: operators, filter groups, sorts, paging and the 10 000 cap."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import hubspot  # type: ignore[import-untyped]
import pytest
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    ApiException,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

ALL = range(1, 101)
"""Company ``i`` of the folder sandbox has id ``500 + i`` (see ``conftest.company``)."""


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def found(
    client: Any, groups: list[list[dict[str, Any]]], object_type: str = "companies", **kw: Any
) -> list[int]:
    """Ids matching ``groups`` (each a list of filters), in the order returned."""
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": g} for g in groups], limit=kw.pop("limit", 200), **kw
    )
    return [
        int(r.id) for r in client.crm.objects.search_api.do_search(object_type, request).results
    ]


def expect(predicate: Any) -> list[int]:
    """Company ids whose index satisfies ``predicate``."""
    return [500 + i for i in ALL if predicate(i)]


def f(name: str, operator: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    """One filter."""
    out: dict[str, Any] = {"propertyName": name, "operator": operator, **kw}
    if value is not None:
        out["value"] = value
    return out


INDUSTRY = ("Software", "Retail", "Energy")
CASES = [
    ("EQ on a string ignores case", [[f("industry", "EQ", "software")]], lambda i: i % 3 == 0),
    ("NEQ", [[f("industry", "NEQ", "Software")]], lambda i: i % 3 != 0),
    ("LT on a number", [[f("numberofemployees", "LT", "10")]], lambda i: i < 10),
    ("LTE", [[f("numberofemployees", "LTE", "10")]], lambda i: i <= 10),
    ("GT", [[f("numberofemployees", "GT", "95")]], lambda i: i > 95),
    ("GTE", [[f("numberofemployees", "GTE", "95")]], lambda i: i >= 95),
    (
        "numbers compare numerically",
        [[f("annualrevenue", "GT", "9000")]],
        lambda i: i * 1000.5 > 9000,
    ),
    (
        "BETWEEN is inclusive",
        [[f("numberofemployees", "BETWEEN", "10", highValue="12")]],
        lambda i: 10 <= i <= 12,
    ),
    ("IN on strings", [[f("industry", "IN", values=["retail", "ENERGY"])]], lambda i: i % 3 != 0),
    ("NOT_IN", [[f("industry", "NOT_IN", values=["Retail", "Energy"])]], lambda i: i % 3 == 0),
    ("IN on numbers", [[f("numberofemployees", "IN", values=["1", "2", "3"])]], lambda i: i <= 3),
    ("HAS_PROPERTY", [[f("domain", "HAS_PROPERTY")]], lambda i: i % 7 != 0),
    ("NOT_HAS_PROPERTY", [[f("domain", "NOT_HAS_PROPERTY")]], lambda i: i % 7 == 0),
    ("CONTAINS_TOKEN", [[f("name", "CONTAINS_TOKEN", "acme")]], lambda i: i % 10 == 0),
    (
        "CONTAINS_TOKEN with a wildcard",
        [[f("name", "CONTAINS_TOKEN", "*holding 01*")]],
        lambda i: i == 10,
    ),
    ("NOT_CONTAINS_TOKEN", [[f("name", "NOT_CONTAINS_TOKEN", "acme")]], lambda i: i % 10 != 0),
    (
        "a date compared with epoch milliseconds",
        [[f("customer_since", "GTE", _ms(datetime(2026, 3, 1, tzinfo=UTC)))]],
        lambda i: i % 2 == 0 and date(2026, 1, 1) + timedelta(days=i) >= date(2026, 3, 1),
    ),
    (
        "a date compared with an ISO date",
        [[f("customer_since", "LT", "2026-01-11")]],
        lambda i: i % 2 == 0 and i < 10,
    ),
    (
        "a datetime compared with an ISO datetime",
        [[f("createdate", "LT", "2026-01-01T05:00:00Z")]],
        lambda i: i < 5,
    ),
    (
        "a datetime compared with epoch milliseconds",
        [[f("createdate", "GTE", _ms(datetime(2026, 1, 5, 3, tzinfo=UTC)))]],
        lambda i: i >= 99,
    ),
    ("an enumeration", [[f("lifecyclestage", "EQ", "customer")]], lambda i: i % 2 == 0),
    (
        "filters of a group are ANDed",
        [[f("industry", "EQ", "Software"), f("numberofemployees", "LT", "30")]],
        lambda i: i % 3 == 0 and i < 30,
    ),
    (
        "groups are ORed",
        [
            [f("industry", "EQ", "Software"), f("numberofemployees", "LT", "30")],
            [f("name", "CONTAINS_TOKEN", "acme")],
        ],
        lambda i: (i % 3 == 0 and i < 30) or i % 10 == 0,
    ),
]


@pytest.mark.parametrize(("title", "groups", "predicate"), CASES, ids=[c[0] for c in CASES])
def test_operator_finds_exactly_the_matching_ids(
    folder_client: Any, title: str, groups: Any, predicate: Any
) -> None:
    """Each operator and filter-group combination returns exactly the expected companies."""
    del title
    assert found(folder_client, groups) == expect(predicate)


def test_boolean_filter(folder_client: Any) -> None:
    """A boolean property matches ``"true"``."""
    ids = found(folder_client, [[f("hs_is_closed_won", "EQ", "true")]], "deals")
    assert ids == [2000 + i for i in range(1, 102) if i % 4 == 0]


def test_sorts_objects_and_strings(folder_client: Any) -> None:
    """Sorts given as objects or as ``-name`` strings order the results."""
    top = found(
        folder_client,
        [],
        sorts=[{"propertyName": "numberofemployees", "direction": "DESCENDING"}],
        limit=3,
    )
    assert top == [600, 599, 598]
    assert found(folder_client, [], sorts=["-annualrevenue"], limit=2) == [600, 599]
    by_name = found(folder_client, [[f("name", "CONTAINS_TOKEN", "acme")]], sorts=["name"])
    assert by_name == expect(lambda i: i % 10 == 0)


def test_total_default_limit_and_offset_paging(folder_client: Any) -> None:
    """``total`` counts every match, the default page is 10, ``after`` is an offset."""
    api = folder_client.crm.objects.search_api
    first = api.do_search(
        "companies",
        PublicObjectSearchRequest(filter_groups=[{"filters": [f("lifecyclestage", "EQ", "lead")]}]),
    )
    assert first.total == 50
    assert len(first.results) == 10
    assert first.paging.next.after == "10"
    last = api.do_search(
        "companies",
        PublicObjectSearchRequest(
            filter_groups=[{"filters": [f("lifecyclestage", "EQ", "lead")]}], after="40", limit=10
        ),
    )
    assert [int(r.id) for r in last.results] == expect(lambda i: i % 2 == 1)[40:]
    assert last.paging is None


def test_query_searches_default_text_properties(folder_client: Any) -> None:
    """A free-text ``query`` matches the searchable properties."""
    assert found(folder_client, [], query="holding") == expect(lambda i: i % 10 == 0)


def test_requested_properties_come_back(folder_client: Any) -> None:
    """Search returns the asked properties plus the object's system ones, as strings."""
    result = folder_client.crm.objects.search_api.do_search(
        "companies",
        PublicObjectSearchRequest(
            filter_groups=[{"filters": [f("hs_object_id", "EQ", "530")]}],
            properties=["numberofemployees"],
        ),
    )
    assert result.results[0].properties == {
        "numberofemployees": "30",
        "createdate": "2026-01-02T06:00:00.000Z",
        "hs_lastmodifieddate": "2026-01-02T06:00:00.000Z",
        "hs_object_id": "530",
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"limit": 201}, "limit"),
        ({"filterGroups": [{"filters": [f("name", "HAS_PROPERTY")]}] * 6}, "filter groups"),
        ({"filterGroups": [{"filters": [f("name", "HAS_PROPERTY")] * 7}]}, "filters"),
        ({"filterGroups": [{"filters": [f("nope", "EQ", "1")]}]}, "nope"),
        ({"filterGroups": [{"filters": [f("numberofemployees", "GT", "many")]}]}, "many"),
        ({"sorts": [{"propertyName": "nope"}]}, "nope"),
    ],
)
def test_invalid_searches_are_400(folder_raw: Any, body: dict[str, Any], fragment: str) -> None:
    """Too large pages, too many groups or filters and unknown properties are refused."""
    response = folder_raw("POST", "/crm/v3/objects/companies/search", body)
    assert response.status == 400
    payload = response.json()
    assert payload["category"] == "VALIDATION_ERROR"
    assert fragment in response.data.decode()


def test_the_10000_result_cap_is_real(
    folder_client: Any, folder_raw: Any, tasks_total: int
) -> None:
    """Pages up to the 10 000th result work; ``after=10000`` fails as on HubSpot."""
    api = folder_client.crm.objects.search_api
    request = {
        "filter_groups": [{"filters": [f("hs_task_subject", "HAS_PROPERTY")]}],
        "limit": 200,
        "properties": ["hs_task_subject"],
    }
    seen: list[str] = []
    after: str | None = None
    while True:
        page = api.do_search("tasks", PublicObjectSearchRequest(after=after, **request))
        assert page.total == tasks_total
        seen.extend(r.id for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
        if after == "10000":
            break
    assert len(seen) == 10_000 == len(set(seen))
    assert after == "10000"
    with pytest.raises(ApiException) as caught:
        api.do_search("tasks", PublicObjectSearchRequest(after="10000", **request))
    assert caught.value.status == 400
    response = folder_raw(
        "POST",
        "/crm/v3/objects/tasks/search",
        {"after": "10000", "limit": 10, "filterGroups": request["filter_groups"]},
    )
    body = response.json()
    assert response.status == 400
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    edge = folder_raw("POST", "/crm/v3/objects/tasks/search", {"after": "9999", "limit": 200})
    assert len(edge.json()["results"]) == 1
    assert edge.json()["paging"]["next"]["after"] == "10000"
    missing = {str(100_000 + i) for i in range(1, tasks_total + 1)} - set(seen)
    assert len(missing) == tasks_total - 10_000


def test_search_leaves_out_archived_objects(client: Any) -> None:
    """An archived object no longer matches a search."""
    api = client.crm.objects
    made = api.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Vanishing Ltd"})
    )
    query = [[f("name", "EQ", "vanishing ltd")]]
    assert found(client, query) == [int(made.id)]
    api.basic_api.archive("companies", made.id)
    assert found(client, query) == []


def test_search_lag_hides_fresh_writes(start_box: Any, tmp_path: Any) -> None:
    """With a search lag, a just-created object shows up in search only after the lag."""
    lagging = start_box(data_dir=tmp_path, extra={"search_lag_seconds": 0.4})
    client = hubspot.HubSpot(access_token=lagging.access_token, host=lagging.url)
    made = client.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "late@x.example"})
    )
    query = [[f("email", "EQ", "late@x.example")]]
    assert found(client, query, "contacts") == []
    assert client.crm.objects.basic_api.get_by_id("contacts", made.id).id == made.id
    time.sleep(0.5)
    assert found(client, query, "contacts") == [int(made.id)]
