"""The HubSpot connector's write-back, against the sandbox: provisioning, upserts, associations, read-back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import hubspot  # type: ignore[import-untyped]
import pytest
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    BatchInputSimplePublicObjectBatchInput,
)
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from hubspot.crm.schemas import ObjectSchemaEgg  # type: ignore[import-untyped]
from pydantic import SecretStr

from okrsync.connector import Change, SchemaCache, UpsertStatus
from okrsync.crm_objects import CHECK_IN, KEY_RESULT, OBJECTIVE, OKR_OBJECTS
from okrsync.errors import FatalConnectorError
from okrsync.state.db import open_store
from okrsync.state.schema_cache import StoreSchemaCache
from okrsync_hubspot import HubSpotSettings, plugin
from okrsync_hubspot.connector import HubSpotConnector
from okrsync_sandbox.faults import FaultKind, FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from okrsync_hubspot_sandbox import RunningHubSpotSandbox

CREATES = [
    Change("create_object", "okr_objective", "13 properties"),
    Change(
        "create_field",
        "okr_objective.parent_objective",
        "association label Parent objective / Child objective on okr_objective",
    ),
    Change("create_object", "okr_key_result", "21 properties; associated with okr_objective"),
    Change(
        "create_field",
        "okr_key_result.parent_key_result",
        "association label Parent key result / Child key result on okr_key_result",
    ),
    Change("create_object", "okr_check_in", "9 properties; associated with okr_key_result"),
    Change("create_object", "okr_contribution", "11 properties; associated with okr_key_result"),
]
SYNCED = datetime(2026, 9, 15, 6, 30, tzinfo=UTC)


def connect_to(
    box: RunningHubSpotSandbox, schema_cache: SchemaCache | None = None, **overrides: Any
) -> HubSpotConnector:
    """A connector to ``box`` through the plugin, with fast retries."""
    values: dict[str, Any] = {
        "access_token": SecretStr(box.access_token),
        "host": box.url,
        "search_requests_per_second": 10,
        "timeout_seconds": 5,
        "retry_backoff_seconds": 0.01,
        "retry_max_wait_seconds": 0.05,
        "deletion_check_seconds": 0,
    }
    values.update(overrides)
    connector = plugin.connect(
        "hubspot", HubSpotSettings(**values), clock=box.app.clock, schema_cache=schema_cache
    )
    assert isinstance(connector, HubSpotConnector)
    return connector


@pytest.fixture
def connect() -> Iterator[Callable[..., HubSpotConnector]]:
    """Make connectors (closed after the test)."""
    made: list[HubSpotConnector] = []

    def make(box: RunningHubSpotSandbox, **overrides: Any) -> HubSpotConnector:
        connector = connect_to(box, **overrides)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def portal(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path
) -> RunningHubSpotSandbox:
    """An empty portal (no custom objects yet)."""
    return start_box(data_dir=tmp_path)


@pytest.fixture
def okr(portal: RunningHubSpotSandbox, connect: Any) -> HubSpotConnector:
    """A connector to a portal where okrsync's objects are provisioned."""
    connector = connect(portal)
    connector.provision(OKR_OBJECTS)
    return connector


def upserts(box: RunningHubSpotSandbox) -> int:
    """Batch upsert calls the sandbox served."""
    stats = box.app.accounting.snapshot().get("hubspot", {"by_endpoint": {}})
    return int(stats["by_endpoint"].get("batch_upsert", 0))


def objectives(n: int, *, score: float = 0.5) -> list[dict[str, Any]]:
    """``n`` objective records with logical field names."""
    return [
        {
            "key": f"2026-Q3/obj-{i:03d}",
            "title": f"Objective {i}",
            "cycle": "2026-Q3",
            "cycle_start": date(2026, 7, 1),
            "score": score,
            "status": "on_track",
            "last_synced_at": SYNCED,
        }
        for i in range(n)
    ]


def crm(box: RunningHubSpotSandbox) -> Any:
    """hubspot-api-client against ``box``, to look at and change data behind the connector."""
    return hubspot.HubSpot(access_token=box.access_token, host=box.url)


# -- provisioning ----------------------------------------------------------------


def test_provision_dry_run_changes_nothing_then_creates_once(portal: Any, connect: Any) -> None:
    """A dry run lists the creations and changes nothing; the real run makes them; a second run makes none."""
    connector = connect(portal)
    assert connector.provision(OKR_OBJECTS, dry_run=True) == CREATES
    assert crm(portal).crm.schemas.core_api.get_all().results == []
    assert connector.provision(OKR_OBJECTS) == CREATES
    assert connector.provision(OKR_OBJECTS) == []
    assert connect(portal).provision(OKR_OBJECTS, dry_run=True) == []
    schemas = {s.name: s for s in crm(portal).crm.schemas.core_api.get_all().results}
    assert sorted(schemas) == [
        "okr_check_in",
        "okr_contribution",
        "okr_key_result",
        "okr_objective",
    ]
    kr = schemas["okr_key_result"]
    assert kr.primary_display_property == "title"
    assert kr.secondary_display_properties == ["score", "status"]
    assert kr.searchable_properties == ["title", "okr_key", "owner_name"]
    assert kr.required_properties == ["okr_key"]
    check_in = schemas["okr_check_in"]
    assert check_in.primary_display_property == "okr_key"
    assert check_in.secondary_display_properties == ["check_in_date", "score", "status"]
    objective_type = schemas["okr_objective"].object_type_id
    labels = crm(portal).crm.associations.v4.schema.definitions_api.get_all(
        objective_type, objective_type
    )
    assert sorted(t.label for t in labels.results) == ["Child objective", "Parent objective"]
    props = {p.name: p for p in kr.properties}
    assert props["okr_key"].has_unique_value is True
    assert props["progress"].type == "number"
    assert props["status"].type == "enumeration"
    assert [o.value for o in props["status"].options][:3] == ["done", "on_track", "at_risk"]
    assert "objective" not in props  # a lookup is an association
    assert "hubspot_owner_id" in props
    assert {a.to_object_type_id for a in kr.associations} >= {
        schemas["okr_objective"].object_type_id
    }
    assert connector.physical_name("key_result") == "okr_key_result"
    assert connector.physical_name("key_result", "key") == "okr_key"
    assert connector.physical_name("key_result", "owner") == "hubspot_owner_id"
    assert connector.physical_name("key_result", "objective") == "okr_key_result_to_okr_objective"
    assert connector.physical_name("objective", "parent_objective") == "okr_parent_objective"
    assert connector.physical_name("deals", "amount") == "amount"


def test_provision_completes_an_object_that_lacks_properties(portal: Any, connect: Any) -> None:
    """An existing okr_objective gets only the properties it lacks; the other objects are created."""
    crm(portal).crm.schemas.core_api.create(
        ObjectSchemaEgg(
            name="okr_objective",
            labels={"singular": "Objective", "plural": "Objectives"},
            primary_display_property="title",
            required_properties=["okr_key"],
            properties=[
                {
                    "name": "okr_key",
                    "label": "Key",
                    "type": "string",
                    "fieldType": "text",
                    "hasUniqueValue": True,
                },
                {"name": "title", "label": "Title", "type": "string", "fieldType": "text"},
            ],
        )
    )
    connector = connect(portal)
    changes = connector.provision(OKR_OBJECTS)
    added = [c.target for c in changes if c.action == "create_field"]
    assert "okr_objective.score" in added
    assert "okr_objective.hubspot_owner_id" in added
    assert "okr_objective.title" not in added
    assert [c.target for c in changes if c.action == "create_object"] == [
        "okr_key_result",
        "okr_check_in",
        "okr_contribution",
    ]
    assert [c.target for c in changes if c.action == "update_object"] == ["okr_objective"]
    assert connector.provision(OKR_OBJECTS) == []
    objective = crm(portal).crm.schemas.core_api.get_by_id("okr_objective")
    assert objective.secondary_display_properties == ["score", "status"]
    assert objective.searchable_properties == ["title", "okr_key", "owner_name", "cycle"]


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        ({"label": "On track", "value": "on_track"}, "options[0] is missing hidden"),
        ({"value": "on_track", "hidden": False}, "options[0] is missing label"),
        ({"label": "On track", "value": "on_track", "hidden": "no"}, "hidden must be a boolean"),
        ({"label": "On track", "value": "on_track", "hidden": False, "displayOrder": "1"}, "displayOrder must be an integer"),
    ],
)  # fmt: skip
def test_enumeration_options_must_be_complete(
    portal: Any, option: dict[str, Any], problem: str
) -> None:
    """The portal refuses an enumeration option without what HubSpot's OptionInput requires."""
    client = crm(portal)
    body = {
        "name": "okr_stage",
        "label": "Stage",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [option],
    }
    with pytest.raises(PropertiesApiException) as caught:
        client.crm.properties.core_api.create("contacts", body)
    assert caught.value.status == 400
    assert problem in caught.value.body


def test_okrsync_enumeration_options_carry_every_field(portal: Any, okr: Any) -> None:
    """Okrsync's status options arrive with label, value, displayOrder and hidden, in order."""
    del okr
    status = crm(portal).crm.properties.core_api.get_by_name("okr_key_result", "status")
    assert [(o.value, o.display_order, o.hidden) for o in status.options][:3] == [
        ("done", 0, False),
        ("on_track", 1, False),
        ("at_risk", 2, False),
    ]
    assert status.options[1].label == "On track"


def test_missing_schema_write_scope_is_reported_as_such(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """A 403 MISSING_SCOPES names the scope to add to the private app, not a generic error."""
    box = start_box(data_dir=tmp_path, extra={"missing_scopes": ["crm.schemas.custom.write"]})
    connector = connect(box)
    assert connector.provision(OKR_OBJECTS, dry_run=True) == CREATES
    with pytest.raises(FatalConnectorError) as caught:
        connector.provision(OKR_OBJECTS)
    error = caught.value
    assert error.code == "MISSING_SCOPES"
    assert error.crm == "hubspot"
    assert error.object_name == "okr_objective"
    assert "missing the scope `crm.schemas.custom.write`" in str(error)
    assert "Private Apps" in str(error)


def test_writing_before_provisioning_says_to_provision(portal: Any, connect: Any) -> None:
    """Writing to an object that does not exist is fatal and says to run provision."""
    with pytest.raises(FatalConnectorError, match="okrsync provision"):
        connect(portal).write(OBJECTIVE, objectives(1))


# -- upserts -----------------------------------------------------------------------


def test_100_records_go_in_one_batch_created_then_updated(portal: Any, okr: Any) -> None:
    """100 records are one upsert call: created the first time, updated (same ids) the second."""
    records = objectives(100)
    before = upserts(portal)
    first = okr.write(OBJECTIVE, records)
    assert upserts(portal) - before == 1
    assert [o.key for o in first] == [r["key"] for r in records]
    assert {o.status for o in first} == {UpsertStatus.CREATED}
    again = okr.write(OBJECTIVE, objectives(100, score=0.9))
    assert upserts(portal) - before == 2
    assert {o.status for o in again} == {UpsertStatus.UPDATED}
    assert [o.id for o in again] == [o.id for o in first]
    back = okr.read_back(OBJECTIVE, [records[7]["key"]])[records[7]["key"]]
    assert back["score"] == 0.9
    assert back["cycle_start"] == date(2026, 7, 1)
    assert back["last_synced_at"] == SYNCED
    assert back["status"] == "on_track"


def test_101_records_go_in_two_batches(portal: Any, okr: Any) -> None:
    """101 records are two upsert calls (100 + 1), all created, then all updated."""
    before = upserts(portal)
    first = okr.write(OBJECTIVE, objectives(101))
    assert upserts(portal) - before == 2
    assert len(first) == 101
    assert {o.status for o in first} == {UpsertStatus.CREATED}
    again = okr.write(OBJECTIVE, objectives(101))
    assert upserts(portal) - before == 4
    assert {o.status for o in again} == {UpsertStatus.UPDATED}


def test_a_207_partial_failure_maps_each_error_to_its_record(portal: Any, okr: Any) -> None:
    """Records a 207 reports failed are FAILED with HubSpot's code; the others are created."""
    okr.write(OBJECTIVE, [{"key": "warm-up"}])  # the schema is known before the fault
    portal.faults.set_spec(FaultSpec(rates={FaultKind.PARTIAL: 1.0}, seed=4))
    records = objectives(30)
    outcomes = okr.write(OBJECTIVE, records)
    portal.faults.set_spec(FaultSpec())
    failed = {o.key for o in outcomes if o.status is UpsertStatus.FAILED}
    assert 1 <= len(failed) < 30
    assert all(o.code == "VALIDATION_ERROR" for o in outcomes if o.status is UpsertStatus.FAILED)
    assert all("partial-batch failure" in o.message for o in outcomes if o.key in failed)
    assert all(o.id for o in outcomes if o.key not in failed)
    stored = okr.read_back(OBJECTIVE, [r["key"] for r in records])
    assert set(stored) == {r["key"] for r in records} - failed
    retried = okr.write(OBJECTIVE, [r for r in records if r["key"] in failed])
    assert {o.status for o in retried} == {UpsertStatus.CREATED}


def test_a_batch_that_keeps_failing_does_not_lose_the_others(portal: Any, connect: Any) -> None:
    """When one of three batches runs out of retries its records are FAILED and retriable; the rest are written."""
    # one batch at a time, so the seeded faults fall on the same batch every run
    connector = connect(portal, batch_size=10, max_retries=1, concurrent_writes=1)
    connector.provision(OKR_OBJECTS)
    connector.read_back(
        OBJECTIVE, []
    )  # reads the schemas: the fault sequence starts at the upserts
    portal.faults.set_spec(FaultSpec(rates={FaultKind.ERROR_5XX: 0.5}, seed=0))
    outcomes = connector.write(OBJECTIVE, objectives(30))
    portal.faults.set_spec(FaultSpec())
    statuses = [o.status for o in outcomes]
    assert (
        statuses
        == [UpsertStatus.CREATED] * 10 + [UpsertStatus.FAILED] * 10 + [UpsertStatus.CREATED] * 10
    )
    assert all(
        o.retriable and o.code in {"BAD_GATEWAY", "SERVICE_UNAVAILABLE"} for o in outcomes[10:20]
    )


def test_invalid_records_fail_alone(portal: Any, connect: Any) -> None:
    """A value the portal refuses (an option it lacks) fails only its record; a bad key or type fails locally."""
    client = crm(portal)
    client.crm.schemas.core_api.create(
        ObjectSchemaEgg(
            name="okr_objective",
            labels={"singular": "Objective", "plural": "Objectives"},
            required_properties=["okr_key"],
            properties=[
                {
                    "name": "okr_key",
                    "label": "Key",
                    "type": "string",
                    "fieldType": "text",
                    "hasUniqueValue": True,
                },
                {
                    "name": "status",
                    "label": "Status",
                    "type": "enumeration",
                    "fieldType": "select",
                    "options": [{"label": "On track", "value": "on_track", "hidden": False}],
                },
            ],
        )
    )
    connector = connect(portal)
    connector.provision(OKR_OBJECTS)
    records = objectives(8)
    records[5]["status"] = "at_risk"  # okrsync knows it, this portal's property does not
    records[2]["score"] = "high"  # not a number
    records.append({"title": "no key"})
    outcomes = connector.write(OBJECTIVE, records)
    failed = {i: o.code for i, o in enumerate(outcomes) if o.status is UpsertStatus.FAILED}
    assert failed == {2: "INVALID_VALUE", 5: "VALIDATION_ERROR", 8: "MISSING_KEY"}
    assert "at_risk" in outcomes[5].message
    assert not outcomes[5].retriable
    assert sum(o.status is UpsertStatus.CREATED for o in outcomes) == 6


# -- lookups, owners, rep-owned fields -----------------------------------------------


def test_lookups_become_associations_with_the_parents(portal: Any, okr: Any) -> None:
    """A key result is associated with its objective and a check-in with its key result; a missing parent fails."""
    okr.write(OBJECTIVE, objectives(2))
    krs = [
        {
            "key": "2026-Q3/obj-000/kr-1",
            "title": "KR 1",
            "objective": "2026-Q3/obj-000",
            "progress": 0.25,
        },
        {
            "key": "2026-Q3/obj-001/kr-1",
            "title": "KR 2",
            "objective": "2026-Q3/obj-001",
            "progress": 1.0,
        },
        {"key": "2026-Q3/obj-404/kr-1", "title": "KR 3", "objective": "2026-Q3/obj-404"},
    ]
    outcomes = okr.write(KEY_RESULT, krs)
    assert [o.status for o in outcomes[:2]] == [UpsertStatus.CREATED] * 2
    assert outcomes[2].status is UpsertStatus.FAILED
    assert outcomes[2].code == "PARENT_NOT_FOUND"
    assert outcomes[2].id  # the record itself was written
    check_ins = okr.write(
        CHECK_IN,
        [
            {
                "key": "2026-Q3/obj-000/kr-1/2026-09-14",
                "key_result": "2026-Q3/obj-000/kr-1",
                "check_in_date": date(2026, 9, 14),
                "progress": 0.2,
            }
        ],
    )
    assert check_ins[0].status is UpsertStatus.CREATED
    back = okr.read_back(KEY_RESULT, [k["key"] for k in krs])
    assert back["2026-Q3/obj-000/kr-1"]["objective"] == "2026-Q3/obj-000"
    assert back["2026-Q3/obj-001/kr-1"]["objective"] == "2026-Q3/obj-001"
    assert back["2026-Q3/obj-001/kr-1"]["progress"] == 1.0
    assert back["2026-Q3/obj-404/kr-1"]["objective"] is None
    checked = okr.read_back(CHECK_IN, ["2026-Q3/obj-000/kr-1/2026-09-14"])
    assert checked["2026-Q3/obj-000/kr-1/2026-09-14"]["key_result"] == "2026-Q3/obj-000/kr-1"
    stored = crm(portal).crm.objects.basic_api.get_by_id(
        "okr_key_result", "2026-Q3/obj-000/kr-1", id_property="okr_key", properties=["progress"]
    )
    assert stored.properties["progress"] == "25"  # percent fields are 0–100 in HubSpot


def served(box: RunningHubSpotSandbox, endpoint: str) -> int:
    """Calls of one sandbox endpoint."""
    stats = box.app.accounting.snapshot().get("hubspot", {"by_endpoint": {}})
    return int(stats["by_endpoint"].get(endpoint, 0))


def test_links_made_are_remembered_so_a_rewrite_costs_its_upserts_only(
    portal: Any, connect: Any, tmp_path: Path
) -> None:
    """Key results written again under the same objectives (in a new process): no lookups, no links.

    A key result moved to another objective is linked again.
    """
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    first = connect(portal, schema_cache=StoreSchemaCache(db, "w", "hubspot"))
    first.provision(OKR_OBJECTS)
    first.write(OBJECTIVE, objectives(2))
    krs = [
        {"key": f"2026-Q3/obj-000/kr-{i}", "title": f"KR {i}", "objective": "2026-Q3/obj-000"}
        for i in range(3)
    ]
    assert {o.status for o in first.write(KEY_RESULT, krs)} == {UpsertStatus.CREATED}
    links, reads = served(portal, "assoc_create"), served(portal, "batch_read")
    assert links == 1
    second = connect(portal, schema_cache=StoreSchemaCache(db, "w", "hubspot"))
    again = [{**kr, "progress": 0.5} for kr in krs]
    assert {o.status for o in second.write(KEY_RESULT, again)} == {UpsertStatus.UPDATED}
    assert (served(portal, "assoc_create"), served(portal, "batch_read")) == (links, reads)
    moved = [{**again[0], "objective": "2026-Q3/obj-001"}]
    assert second.write(KEY_RESULT, moved)[0].status is UpsertStatus.UPDATED
    assert served(portal, "assoc_create") == links + 1
    back = second.read_back(KEY_RESULT, [krs[0]["key"], krs[1]["key"]])
    assert back[krs[1]["key"]]["objective"] == "2026-Q3/obj-000"
    assert back[krs[0]["key"]]["objective"] == "2026-Q3/obj-001"


def objective_links(portal: RunningHubSpotSandbox, kr_key: str) -> list[tuple[str, list[str]]]:
    """The objectives a key result is associated with, as hubspot-api-client reads them."""
    client = crm(portal)
    kr = client.crm.objects.basic_api.get_by_id("okr_key_result", kr_key, id_property="okr_key")
    page = client.crm.associations.v4.basic_api.get_page("okr_key_result", kr.id, "okr_objective")
    found = []
    for link in page.results:
        objective = client.crm.objects.basic_api.get_by_id(
            "okr_objective", str(link.to_object_id), properties=["okr_key"]
        )
        found.append((objective.properties["okr_key"], [t.type_id for t in link.association_types]))
    return found


def test_a_moved_key_result_ends_with_exactly_one_objective(portal: Any, connect: Any) -> None:
    """Moving a key result to another objective removes its old association, whatever the cache knows."""
    writer = connect(portal)  # no schema cache: every write checks what HubSpot holds
    writer.provision(OKR_OBJECTS)
    writer.write(OBJECTIVE, objectives(3))
    kr = {"key": "2026-Q3/obj-000/kr-moving", "title": "Moving KR", "objective": "2026-Q3/obj-000"}
    assert writer.write(KEY_RESULT, [kr])[0].status is UpsertStatus.CREATED
    assert [k for k, _ in objective_links(portal, kr["key"])] == ["2026-Q3/obj-000"]
    for target in ("2026-Q3/obj-001", "2026-Q3/obj-002", "2026-Q3/obj-002"):
        [outcome] = connect(portal).write(KEY_RESULT, [{**kr, "objective": target}])
        assert outcome.status is UpsertStatus.UPDATED, outcome
        links = objective_links(portal, kr["key"])
        assert [k for k, _ in links] == [target]
        assert len(links[0][1]) == 1  # one association type: no duplicate link either
    assert writer.read_back(KEY_RESULT, [kr["key"]])[kr["key"]]["objective"] == "2026-Q3/obj-002"


def test_an_objective_links_to_its_parent_by_the_paired_label(portal: Any, okr: Any) -> None:
    """An objective's parent is a "Parent objective" association; the parent sees a "Child objective"."""
    company, team, other = objectives(3)
    team["parent_objective"] = company["key"]
    outcomes = okr.write(OBJECTIVE, [company, team, other])
    assert {o.status for o in outcomes} == {UpsertStatus.CREATED}
    client = crm(portal)
    ids = {o.key: o.id for o in outcomes}
    up = client.crm.associations.v4.basic_api.get_page(
        "okr_objective", ids[team["key"]], "okr_objective"
    )
    assert [(str(r.to_object_id), [t.label for t in r.association_types]) for r in up.results] == [
        (ids[company["key"]], ["Parent objective"])
    ]
    down = client.crm.associations.v4.basic_api.get_page(
        "okr_objective", ids[company["key"]], "okr_objective"
    )
    assert [
        (str(r.to_object_id), [t.label for t in r.association_types]) for r in down.results
    ] == [(ids[team["key"]], ["Child objective"])]
    back = okr.read_back(OBJECTIVE, [company["key"], team["key"]])
    assert back[team["key"]]["parent_objective"] == company["key"]
    assert back[company["key"]]["parent_objective"] is None  # its child is not its parent
    okr.write(OBJECTIVE, [{**team, "parent_objective": other["key"]}])
    back = okr.read_back(OBJECTIVE, [team["key"]])
    assert back[team["key"]]["parent_objective"] == other["key"]
    still = client.crm.associations.v4.basic_api.get_page(
        "okr_objective", ids[company["key"]], "okr_objective"
    )
    assert still.results == []


def test_read_back_returns_rep_owned_fields_set_in_the_crm_and_never_overwrites_them(
    portal: Any, okr: Any
) -> None:
    """Confidence and comment set by a rep come back; a later write does not send them."""
    okr.write(OBJECTIVE, objectives(1))
    kr = {
        "key": "2026-Q3/obj-000/kr-1",
        "title": "KR",
        "objective": "2026-Q3/obj-000",
        "progress": 0.07,
    }
    okr.write(KEY_RESULT, [kr])
    crm(portal).crm.objects.batch_api.update(
        "okr_key_result",
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {
                    "id": kr["key"],
                    "idProperty": "okr_key",
                    "properties": {"confidence": "7", "comment": "Two deals slipped"},
                }
            ]
        ),
    )
    okr.write(KEY_RESULT, [{**kr, "confidence": 1, "comment": "overwritten?"}])
    back = okr.read_back(KEY_RESULT, [kr["key"], "2026-Q3/nope"])
    assert list(back) == [kr["key"]]
    assert back[kr["key"]]["confidence"] == 7.0
    assert back[kr["key"]]["comment"] == "Two deals slipped"
    assert back[kr["key"]]["progress"] == 0.07
    assert back[kr["key"]]["title"] == "KR"


def test_owners_resolve_by_email_cached_and_unknown_ones_stay_empty(
    start_box: Callable[..., RunningHubSpotSandbox], connect: Any
) -> None:
    """An e-mail resolves to its owner id once (cached, any case); an unknown one is empty, not an error."""
    box = start_box(seed=7, size="small")
    email = crm(box).crm.owners.owners_api.get_page(limit=1).results[0].email
    connector = connect(box)
    owner = connector.resolve_owner(email)
    assert owner is not None
    calls = connector.usage().calls
    assert connector.resolve_owner(email.upper()) == owner
    assert connector.resolve_owner("nobody@nowhere.example") is None
    assert connector.resolve_owner("nobody@nowhere.example") is None
    assert connector.usage().calls == calls + 1
    connector.provision(OKR_OBJECTS)
    records = objectives(2)
    records[0]["owner"] = email
    records[1]["owner"] = "nobody@nowhere.example"
    outcomes = connector.write(OBJECTIVE, records)
    assert {o.status for o in outcomes} == {UpsertStatus.CREATED}
    stored = crm(box).crm.objects.basic_api.get_by_id(
        "okr_objective", records[0]["key"], id_property="okr_key", properties=["hubspot_owner_id"]
    )
    assert stored.properties["hubspot_owner_id"] == owner
    back = connect(box).read_back(OBJECTIVE, [r["key"] for r in records])
    assert back[records[0]["key"]]["owner"] == email
    assert back[records[1]["key"]]["owner"] is None


def test_record_owners_and_teams_come_from_one_owners_listing(
    start_box: Callable[..., RunningHubSpotSandbox], connect: Any
) -> None:
    """Deals are owned through hubspot_owner_id; owner ids and teams resolve from the owners list."""
    box = start_box(seed=7, size="small")
    listed = crm(box).crm.owners.owners_api.get_page(limit=500).results
    connector = connect(box)
    assert connector.owner_field("deals") == "hubspot_owner_id"
    assert connector.owner_field("feedback_submissions") is None
    calls = connector.usage().calls
    first = listed[0]
    emails = connector.owner_emails([str(first.id), "999999999"])
    assert emails == {str(first.id): first.email.lower()}
    team = next(o.teams[0].name for o in listed if o.teams)
    members = connector.team_members(team.upper())
    assert members == sorted(
        o.email.lower() for o in listed if any(t.name == team for t in o.teams or [])
    )
    assert connector.team_members("No Such Team") is None
    assert connector.resolve_owner(first.email) == str(first.id)
    assert connector.usage().calls == calls + 2  # one page of active owners, one of archived
