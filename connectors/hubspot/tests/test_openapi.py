"""Every request okrsync sends and every answer the emulator gives conform to HubSpot's OpenAPI specs.

The connector provisions, describes, pulls (list, search, deletions), resolves
owners, upserts and links records against the sandbox while each exchange is
recorded; each request body and each JSON answer is then checked against the
model hubspot-api-client generated from HubSpot's specification for that
endpoint (:mod:`openapi`). The known differences between the specification
and the live API are allowed by name, each with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from okrsync.connector import Cursor, Predicate
from okrsync.crm_objects import KEY_RESULT, OBJECTIVE, OKR_OBJECTS
from okrsync_hubspot import HubSpotSettings, plugin
from okrsync_hubspot._okr import property_definition

from .openapi import Allowance, model, problems

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from okrsync_hubspot.connector import HubSpotConnector
    from okrsync_hubspot_sandbox import RunningHubSpotSandbox

OBJECTS = "crm.objects"
SCHEMAS = "crm.schemas"
PROPERTIES = "crm.properties"
ASSOCIATIONS = "crm.associations.v4"
ASSOCIATION_SCHEMA = "crm.associations.v4.schema"
OWNERS = "crm.owners"

NULL_PROPERTIES = Allowance(
    "$.results[*].properties",
    "the live API returns null for a requested property a record has no value for; the "
    "specification types property values as strings",
)
SEARCH_SORTS = Allowance(
    "$.sorts",
    "the live search API takes sorts as objects {propertyName, direction}; the "
    "specification lists them as strings",
)
SEARCH_FILTER_GROUPS = Allowance(
    "$.filterGroups",
    "the live search API accepts a search without filterGroups (every record)",
)
NUMERIC_TO_OBJECT_ID = Allowance(
    "$.results[*].to[*].toObjectId",
    "the live associations v4 API answers toObjectId as a number (HubSpot's own examples "
    "show it so); the specification types it as a string. The connector reads either",
)

DATA_SENSITIVITY = (
    Allowance(
        "$.results[*].dataSensitivity",
        "HubSpot's current Properties v3 specification (and the live API) has "
        "dataSensitivity on every property; hubspot-api-client 12's models predate it",
    ),
    Allowance("$.dataSensitivity", "as above, for one property"),
)
DISPLAY_HINTS = tuple(
    Allowance(
        f"$.properties[*].{name}",
        "hubspot-api-client 12's ObjectTypePropertyCreate marks the display hints required; "
        "HubSpot's current Schemas v3 specification requires only name, label, type and "
        "fieldType, as the live API does",
    )
    for name in ("optionSortStrategy", "textDisplayHint", "numberDisplayHint")
)


@dataclass(frozen=True, slots=True)
class Contract:
    """The specification models of one endpoint's request and answers."""

    module: str
    request: str | None
    answer: str | None
    partial: str | None = None
    """The model of a 207 (batch with some errors)."""
    request_allowances: tuple[Allowance, ...] = ()
    answer_allowances: tuple[Allowance, ...] = ()


CONTRACTS: dict[str, Contract] = {
    "list": Contract(
        OBJECTS,
        None,
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
        answer_allowances=(NULL_PROPERTIES,),
    ),
    "search": Contract(
        OBJECTS,
        "PublicObjectSearchRequest",
        "CollectionResponseWithTotalSimplePublicObjectForwardPaging",
        request_allowances=(SEARCH_SORTS, SEARCH_FILTER_GROUPS),
        answer_allowances=(NULL_PROPERTIES,),
    ),
    "batch_read": Contract(
        OBJECTS,
        "BatchReadInputSimplePublicObjectId",
        "BatchResponseSimplePublicObject",
        "BatchResponseSimplePublicObjectWithErrors",
        answer_allowances=(NULL_PROPERTIES,),
    ),
    "batch_upsert": Contract(
        OBJECTS,
        "BatchInputSimplePublicObjectBatchInputUpsert",
        "BatchResponseSimplePublicUpsertObject",
        "BatchResponseSimplePublicUpsertObjectWithErrors",
        answer_allowances=(NULL_PROPERTIES,),
    ),
    "schemas": Contract(SCHEMAS, None, "CollectionResponseObjectSchemaNoPaging"),
    "schema": Contract(SCHEMAS, None, "ObjectSchema"),
    "schema_create": Contract(
        SCHEMAS, "ObjectSchemaEgg", "ObjectSchema", request_allowances=DISPLAY_HINTS
    ),
    "properties": Contract(
        PROPERTIES, None, "CollectionResponsePropertyNoPaging", answer_allowances=DATA_SENSITIVITY
    ),
    "property": Contract(PROPERTIES, None, "ModelProperty", answer_allowances=DATA_SENSITIVITY),
    "property_create": Contract(
        PROPERTIES, "PropertyCreate", "ModelProperty", answer_allowances=DATA_SENSITIVITY
    ),
    "owners": Contract(OWNERS, None, "CollectionResponsePublicOwnerForwardPaging"),
    "assoc_create": Contract(
        ASSOCIATIONS,
        "BatchInputPublicAssociationMultiPost",
        "BatchResponseLabelsBetweenObjectPair",
        "BatchResponseLabelsBetweenObjectPairWithErrors",
    ),
    "assoc_read": Contract(
        ASSOCIATIONS,
        "BatchInputPublicFetchAssociationsBatchRequest",
        "BatchResponsePublicAssociationMultiWithLabel",
        "BatchResponsePublicAssociationMultiWithLabelWithErrors",
        answer_allowances=(NUMERIC_TO_OBJECT_ID,),
    ),
    "assoc_archive": Contract(ASSOCIATIONS, "BatchInputPublicAssociationMultiArchive", None),
    "assoc_label_create": Contract(
        ASSOCIATION_SCHEMA,
        "PublicAssociationDefinitionCreateRequest",
        "CollectionResponseAssociationSpecWithLabelNoPaging",
    ),
}


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the sandbox answered."""

    endpoint: str
    method: str
    path: str
    request: Any
    status: int
    answer: Any


def record(box: RunningHubSpotSandbox) -> list[Exchange]:
    """Record every exchange the sandbox serves from now on."""
    seen: list[Exchange] = []
    handle = box.app.handle

    def recording(name: str, request: Request, args: Any) -> Response:
        response = handle(name, request, args)
        body = request.get_data(as_text=True)
        text = response.get_data(as_text=True)
        seen.append(
            Exchange(
                name,
                request.method,
                request.path,
                json.loads(body) if body.strip() else None,
                response.status_code,
                json.loads(text) if text.strip() else None,
            )
        )
        return response

    box.app.handle = recording  # type: ignore[method-assign]
    return seen


def connector_for(box: RunningHubSpotSandbox) -> HubSpotConnector:
    """A connector to ``box`` with fast retries, listing deletions every pull."""
    settings = HubSpotSettings(
        access_token=SecretStr(box.access_token),
        host=box.url,
        search_requests_per_second=10,
        timeout_seconds=5,
        backoff_factor=0.01,
        retry_after_max_seconds=0.05,
        deletion_check_seconds=0,
    )
    return plugin.connect("hubspot", settings, clock=box.app.clock)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def exchanges(tmp_path_factory: pytest.TempPathFactory) -> list[Exchange]:
    """What a provision, pulls, owner look-ups and write-backs exchange with a seeded portal."""
    from .conftest import start  # noqa: PLC0415  (the shared starter)

    box = start(seed=3, size=400)
    del tmp_path_factory
    seen = record(box)
    connector = connector_for(box)
    try:
        connector.provision(OKR_OBJECTS)
        won = ((Predicate("hs_is_closed_won", "eq", value=True),),)
        for obj, fields, filters in (
            ("deals", ["amount", "closedate", "hs_is_closed_won"], won),
            ("companies", ["name", "customer_since"], ()),
            ("feedback_submissions", ["hs_response_value", "hs_survey_type"], ()),
        ):
            first = connector.pull(obj, fields, filters, Cursor())
            list(first)
            list(connector.pull(obj, fields, filters, first.cursor))
        connector.resolve_owner("nobody@acme.example")
        stamp = datetime(2026, 9, 15, 6, 30, tzinfo=UTC)
        connector.write(
            OBJECTIVE,
            [
                {
                    "key": f"2026-Q3/obj-{i}",
                    "title": f"Objective {i}",
                    "cycle": "2026-Q3",
                    "cycle_start": date(2026, 7, 1),
                    "score": 0.5,
                    "status": "on_track",
                    "last_synced_at": stamp,
                }
                for i in range(2)
            ],
        )
        connector.write(
            KEY_RESULT,
            [
                {"key": "2026-Q3/obj-0/kr-1", "title": "KR 1", "objective": "2026-Q3/obj-0"},
                {"key": "2026-Q3/obj-1/kr-1", "title": "KR 2", "objective": "2026-Q3/obj-1"},
            ],
        )
        connector.write(
            KEY_RESULT,
            [{"key": "2026-Q3/obj-0/kr-1", "title": "KR 1", "objective": "2026-Q3/obj-1"}],
        )
    finally:
        connector.close()
        box.stop()
    return seen


def check(exchange: Exchange) -> list[str]:
    """The request's and the answer's differences from the endpoint's specification."""
    contract = CONTRACTS[exchange.endpoint]
    found: list[str] = []
    if contract.request is not None and exchange.request is not None:
        klass = model(contract.module, contract.request)
        found += [
            f"request {p}" for p in problems(exchange.request, klass, contract.request_allowances)
        ]
    if exchange.status >= 400:
        klass = model(contract.module, "Error")
        found += [f"error {p}" for p in problems(exchange.answer, klass)]
        return found
    name = contract.partial if exchange.status == 207 and contract.partial else contract.answer
    if name is not None and exchange.answer is not None:
        klass = model(contract.module, name)
        found += [
            f"answer {p}" for p in problems(exchange.answer, klass, contract.answer_allowances)
        ]
    return found


def test_the_flow_uses_every_endpoint_okrsync_needs(exchanges: list[Exchange]) -> None:
    """The recorded flow covers objects, search, batch, schemas, properties, associations, owners."""
    used = {e.endpoint for e in exchanges}
    assert {
        "list",
        "search",
        "batch_upsert",
        "schemas",
        "schema_create",
        "properties",
        "owners",
        "assoc_create",
    } <= used, sorted(used)
    assert any("feedback_submissions" in e.path for e in exchanges)


def test_every_exchange_conforms_to_the_specification(exchanges: list[Exchange]) -> None:
    """No request okrsync sent and no answer the emulator gave differs from HubSpot's spec."""
    unchecked = sorted({e.endpoint for e in exchanges} - set(CONTRACTS))
    assert unchecked == []
    found = {f"{e.method} {e.path} ({e.status}): {p}" for e in exchanges for p in check(e)}
    assert sorted(found) == []


def test_enumeration_options_carry_hidden_and_display_order() -> None:
    """Each option of a picklist property okrsync defines has ``hidden`` and ``displayOrder``."""
    klass = model(PROPERTIES, "PropertyCreate")
    for obj in OKR_OBJECTS:
        for field in obj.fields:
            if field.type == "lookup":
                continue  # an association, not a property
            body = property_definition(obj, field)
            assert problems(body, klass) == [], (obj.name, field.name)
            for i, option in enumerate(body.get("options", [])):
                assert option["hidden"] is False
                assert option["displayOrder"] == i


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"name": "x", "label": "X", "type": "enumeration", "fieldType": "select",
             "groupName": "g", "options": [{"label": "A", "value": "a"}]},
            ["$.options[0].hidden: required by OptionInput, missing or null"],
        ),
        (
            {"name": "x", "label": "X", "type": "text", "fieldType": "text", "groupName": "g",
             "colour": "red"},
            ["$.colour: not in PropertyCreate", "$.type: 'text' is not one of the values PropertyCreate allows"],
        ),
        (
            {"label": "X", "type": "string", "fieldType": "text", "groupName": "g", "hidden": "no"},
            ["$.name: required by PropertyCreate, missing or null", "$.hidden: expected bool, got str"],
        ),
    ],
)  # fmt: skip
def test_the_checker_finds_what_breaks_the_specification(
    body: dict[str, Any], expected: list[str]
) -> None:
    """Missing required properties, unknown ones, wrong types and enumeration values are found."""
    assert sorted(problems(body, model(PROPERTIES, "PropertyCreate"))) == sorted(expected)


def test_allowances_cover_only_their_place() -> None:
    """A known live-API difference is allowed where named, and nowhere else."""
    search = model(OBJECTS, "PublicObjectSearchRequest")
    body = {"sorts": [{"propertyName": "a", "direction": "ASCENDING"}], "limit": "ten"}
    assert problems(body, search, (SEARCH_SORTS,)) == ["$.limit: expected int, got str"]
    assert len(problems(body, search)) == 2
