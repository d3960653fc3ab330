"""The HubSpot connector's pulls, against the sandbox over HTTP: cold, filtered, incremental, capped."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import hubspot  # type: ignore[import-untyped]
import pytest
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from pydantic import SecretStr

from okrsync.connector import Cursor, Predicate, now_stamp
from okrsync.errors import FatalConnectorError
from okrsync_hubspot import HubSpotSettings, plugin
from okrsync_hubspot.connector import HubSpotConnector
from okrsync_hubspot_sandbox import start_sandbox
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultKind, FaultSpec
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from okrsync_hubspot_sandbox import RunningHubSpotSandbox

AS_OF = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
UNLIMITED = {"ten_second_limit": 10_000_000, "search_per_second": 10_000_000}
COMPANIES = 450
INDUSTRIES = ("Software", "Retail", "Energy")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
TASKS = 10_001
TASK_BASE = datetime(2026, 3, 1, tzinfo=UTC)


def write_rows(root: Path, object_type: str, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``root/hubspot/<object_type>.jsonl`` for a folder sandbox; return ``root``."""
    folder = root / "hubspot"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{object_type}.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return root


def company(i: int) -> dict[str, Any]:
    """Company ``i`` (id ``500 + i``), every property derived from ``i``."""
    props: dict[str, Any] = {
        "name": f"Company {i:03d}",
        "domain": None if i % 7 == 0 else f"c{i}.example",
        "industry": INDUSTRIES[i % 3],
        "numberofemployees": i,
        "annualrevenue": str(i * 1000.5),
        "lifecyclestage": "customer" if i % 2 == 0 else "lead",
        "customer_since": (date(2026, 1, 1) + timedelta(days=i)).isoformat() if i % 2 == 0 else "",
        "createdate": (CREATED + timedelta(minutes=i)).isoformat(),
    }
    return {"id": str(500 + i), "properties": {k: v for k, v in props.items() if v is not None}}


def connect_to(
    box: RunningHubSpotSandbox, schema_cache: Any = None, **overrides: Any
) -> HubSpotConnector:
    """A connector to ``box`` through the plugin, fast retries, the sandbox's clock."""
    values: dict[str, Any] = {
        "access_token": SecretStr(box.access_token),
        "host": box.url,
        "search_requests_per_second": 10,
        "timeout_seconds": 5,
        "retry_backoff_seconds": 0.01,
        "retry_max_wait_seconds": 0.05,
        "deletion_check_seconds": 0,
        "export_threshold_rows": 0,  # these tests are about search; exports have their own
    }
    values.update(overrides)
    connector = plugin.connect(
        "hubspot", HubSpotSettings(**values), clock=box.app.clock, schema_cache=schema_cache
    )
    assert isinstance(connector, HubSpotConnector)
    return connector


def pulled(pull: Iterable[Any]) -> tuple[list[dict[str, Any]], list[str], int]:
    """Records and deleted ids of a whole pull, and how many pages it had."""
    records: list[dict[str, Any]] = []
    deleted: list[str] = []
    pages = 0
    for page in pull:
        pages += 1
        records.extend(page.records)
        deleted.extend(page.deleted)
    return records, deleted, pages


def calls_of(box: RunningHubSpotSandbox, endpoint: str | None = None) -> int:
    """Calls the sandbox served (to one endpoint)."""
    stats = box.app.accounting.snapshot().get("hubspot", {"calls": 0, "by_endpoint": {}})
    return int(stats["calls"] if endpoint is None else stats["by_endpoint"].get(endpoint, 0))


@pytest.fixture
def companies(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path
) -> RunningHubSpotSandbox:
    """A sandbox holding exactly the 450 companies of :func:`company` (tests may change it)."""
    return start_box(data_dir=write_rows(tmp_path, "companies", map(company, range(1, 451))))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHubSpotSandbox]:
    """The same 450 companies, shared by the tests that only read them."""
    root = write_rows(tmp_path_factory.mktemp("catalog"), "companies", map(company, range(1, 451)))
    running = start_sandbox(
        SandboxOptions(as_of=AS_OF, data_dir=root, extra=UNLIMITED), Accounting()
    )
    yield running
    running.stop()


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


def crm(box: RunningHubSpotSandbox) -> Any:
    """hubspot-api-client against ``box``, to change data behind the connector's back."""
    return hubspot.HubSpot(access_token=box.access_token, host=box.url)


# -- describe and cold pulls -----------------------------------------------------


def test_describe_normalises_the_property_types(catalog: Any, connect: Any) -> None:
    """Describe maps number→double, date, datetime, enumeration→picklist (with options), string."""
    info = connect(catalog).describe("companies")
    types = {n: info.fields[n].type for n in ("annualrevenue", "customer_since", "createdate")}
    assert types == {"annualrevenue": "double", "customer_since": "date", "createdate": "datetime"}
    assert info.field("lifecyclestage").type == "picklist"
    assert "customer" in info.field("lifecyclestage").picklist
    assert info.field("name").type == "string"
    assert info.field("hs_object_id").writable is False
    assert info.field("Id").type == "id"


def test_full_cold_pull_pages_typed_values_and_only_the_fields_asked(
    catalog: Any, connect: Any
) -> None:
    """Every company once, over several pages, with typed values and only ``Id`` plus the fields asked."""
    served = calls_of(catalog)
    connector = connect(catalog)
    fields = [
        "name",
        "annualrevenue",
        "numberofemployees",
        "customer_since",
        "createdate",
        "domain",
    ]
    pull = connector.pull("companies", fields, (), Cursor())
    records, deleted, pages = pulled(pull)
    assert pages == 3  # 200 + 200 + 50, keyset-paged search
    assert deleted == []
    ids = [r["Id"] for r in records]
    assert sorted(ids, key=int) == [str(500 + i) for i in range(1, COMPANIES + 1)]
    assert len(set(ids)) == len(ids)
    by_id = {r["Id"]: r for r in records}
    assert by_id["514"] == {
        "Id": "514",
        "name": "Company 014",
        "annualrevenue": 14007.0,
        "numberofemployees": 14.0,
        "customer_since": date(2026, 1, 15),
        "createdate": CREATED + timedelta(minutes=14),
        "domain": None,
    }
    assert by_id["513"]["customer_since"] is None
    assert by_id["513"]["domain"] == "c13.example"
    # describe and three search pages: no newest-stamp probe
    assert connector.usage().calls == calls_of(catalog) - served == 4
    assert pull.cursor.stamp == now_stamp(CREATED + timedelta(minutes=COMPANIES))
    assert pull.skipped == []


def test_a_cursor_is_final_only_once_the_pull_is_exhausted(catalog: Any, connect: Any) -> None:
    """Before the last page the cursor is the one the pull started from; a pull iterates once."""
    pull = connect(catalog).pull("companies", ["name"], (), Cursor())
    pages = iter(pull)
    next(pages)
    assert pull.cursor == Cursor()
    list(pages)
    assert pull.cursor.stamp is not None
    with pytest.raises(RuntimeError):
        iter(pull)


FILTERS = (
    (
        Predicate("industry", "eq", "software"),  # case-insensitive, as HubSpot and the replica
        Predicate("numberofemployees", "gte", 300),
    ),
    (
        Predicate("lifecyclestage", "in", ("customer",)),
        Predicate("domain", "is_null", True),
        Predicate("customer_since", "lte", date(2026, 3, 1)),
    ),
    (Predicate("name", "ne", "Company 001"), Predicate("numberofemployees", "lt", 3)),
)


def _expected(i: int) -> bool:
    first = i % 3 == 0 and i >= 300
    second = i % 2 == 0 and i % 7 == 0 and date(2026, 1, 1) + timedelta(days=i) <= date(2026, 3, 1)
    third = i != 1 and i < 3
    return first or second or third


def test_filtered_cold_pull_returns_exactly_the_matching_ids(catalog: Any, connect: Any) -> None:
    """A pushed-down filter (eq, gte, in, is_null, a date lte, ne) gives exactly the matching companies.

    The cursor is the portal's clock (its answers' ``Date``) when the pull began,
    less the lookback: no search is spent on the newest stamp.
    """
    connector = connect(catalog)
    connector.describe("companies")
    before = connector.usage().calls
    began = catalog.clock()
    pull = connector.pull("companies", ["name"], FILTERS, Cursor())
    records, _, _ = pulled(pull)
    ended = catalog.clock()
    expected = [str(500 + i) for i in range(1, COMPANIES + 1) if _expected(i)]
    assert sorted((r["Id"] for r in records), key=int) == expected
    assert connector.usage().calls - before == 1  # one search page, no newest-stamp probe
    assert pull.cursor.stamp is not None
    stamp = datetime.fromisoformat(pull.cursor.stamp)
    lookback = timedelta(seconds=connector._settings.lookback_seconds)
    assert began - lookback - timedelta(seconds=2) <= stamp <= ended - lookback


def test_ne_also_matches_empty_values(catalog: Any, connect: Any) -> None:
    """``domain ne x`` keeps companies without a domain, as the replica's evaluation does."""
    connector = connect(catalog)
    pull = connector.pull(
        "companies", ["domain"], ((Predicate("domain", "ne", "c1.example"),),), Cursor()
    )
    records, _, _ = pulled(pull)
    assert len(records) == COMPANIES - 1
    assert sum(1 for r in records if r["domain"] is None) == COMPANIES // 7


def test_datetimes_compare_by_day_as_the_replica_does(catalog: Any, connect: Any) -> None:
    """A datetime compared with a day covers that whole UTC day: eq and lte match, gt and lt do not."""
    connector = connect(catalog)

    def count(op: Any) -> int:
        groups = ((Predicate("createdate", op, date(2026, 1, 1)),),)
        return len(pulled(connector.pull("companies", ["createdate"], groups, Cursor()))[0])

    assert [count(op) for op in ("eq", "lte", "gte", "gt", "lt")] == [COMPANIES] * 3 + [0, 0]


def test_more_groups_than_search_takes_are_widened_and_checked_client_side(
    catalog: Any, connect: Any
) -> None:
    """Six groups exceed search's five: they are merged into five (wider), still one search page.

    The records come out exactly as the six groups say (checked client-side),
    and the list endpoint (100 a page, unfiltered) is not used.
    """
    connector = connect(catalog)
    connector.describe("companies")
    groups = tuple((Predicate("numberofemployees", "eq", n),) for n in (1, 2, 3, 100, 200, 449))
    before, lists = connector.usage().calls, calls_of(catalog, "list")
    records, _, _ = pulled(connector.pull("companies", ["name"], groups, Cursor()))
    assert sorted(r["Id"] for r in records) == ["501", "502", "503", "600", "700", "949"]
    assert calls_of(catalog, "list") == lists
    assert connector.usage().calls - before == 1  # one search page, no newest-stamp probe
    dated = tuple(
        (
            Predicate("createdate", "gte", date(2025, month, 1)),
            Predicate("createdate", "lte", date(2025, month, 28)),
        )
        for month in range(1, 8)
    )  # seven windows, none holding a company: widened, still nothing comes back
    records, _, _ = pulled(connector.pull("companies", ["name"], dated, Cursor()))
    assert records == []


def test_unknown_fields_are_fatal_and_named(catalog: Any, connect: Any) -> None:
    """A field or filter naming no property fails before any record is read."""
    with pytest.raises(FatalConnectorError) as caught:
        connect(catalog).pull(
            "companies", ["name", "nope"], ((Predicate("nada", "eq", 1),),), Cursor()
        )
    assert "`nope`" in str(caught.value)
    assert "`nada`" in str(caught.value)
    assert caught.value.crm == "hubspot"
    assert caught.value.object_name == "companies"


def test_a_record_with_a_value_of_the_wrong_type_is_skipped(companies: Any, connect: Any) -> None:
    """A value the connector cannot convert puts the record in ``skipped`` with a reason; the others come."""
    companies.store.update("companies", "520", {"annualrevenue": float("inf")})
    pull = connect(companies).pull("companies", ["annualrevenue"], (), Cursor())
    records, _, _ = pulled(pull)
    assert len(records) == COMPANIES - 1
    assert "520" not in {r["Id"] for r in records}
    assert len(pull.skipped) == 1
    ident, reason = pull.skipped[0]
    assert ident == "520"
    assert "annualrevenue" in reason
    assert "finite" in reason


# -- incremental pulls -----------------------------------------------------------


def test_incremental_pull_reports_changes_and_archives_exactly_once(
    companies: Any, connect: Any
) -> None:
    """After inserts, updates and archives the next pull yields exactly those, and the one after nothing."""
    connector = connect(companies)
    cold = connector.pull("companies", ["name", "industry"], (), Cursor())
    pulled(cold)
    api = crm(companies).crm.objects.basic_api
    created = [
        api.create(
            "companies", SimplePublicObjectInputForCreate(properties={"name": f"New {n}"})
        ).id
        for n in range(3)
    ]
    for ident in ("505", "777"):
        api.update("companies", ident, SimplePublicObjectInput(properties={"industry": "Energy"}))
    for ident in ("600", "601"):
        api.archive("companies", ident)
    warm = connector.pull("companies", ["name", "industry"], (), cold.cursor)
    records, deleted, _ = pulled(warm)
    assert sorted(r["Id"] for r in records) == sorted([*created, "505", "777"])
    assert {r["Id"]: r["industry"] for r in records}["505"] == "Energy"
    assert sorted(deleted) == ["600", "601"]
    assert warm.cursor.stamp is not None
    assert warm.cursor.stamp > (cold.cursor.stamp or "")
    records, deleted, _ = pulled(connector.pull("companies", ["name"], (), warm.cursor))
    assert records == []
    assert deleted == []


def test_a_warm_pull_without_changes_costs_two_calls(catalog: Any, connect: Any) -> None:
    """No change: one search (the lookback window) and one page of archived records."""
    connector = connect(catalog)
    cold = connector.pull("companies", ["name"], (), Cursor())
    pulled(cold)
    before = connector.usage().calls
    records, deleted, _ = pulled(connector.pull("companies", ["name"], (), cold.cursor))
    assert (records, deleted) == ([], [])
    assert connector.usage().calls - before == 2


def test_deletion_checks_can_be_spaced_out(companies: Any, connect: Any) -> None:
    """With ``deletion_check_seconds`` the archived list is read at most that often, and nothing is lost."""
    connector = connect(companies, deletion_check_seconds=3600)
    cold = connector.pull("companies", ["name"], (), Cursor())
    pulled(cold)
    crm(companies).crm.objects.basic_api.archive("companies", "510")
    warm = connector.pull("companies", ["name"], (), cold.cursor)
    assert pulled(warm)[1] == []
    assert calls_of(companies, "list") == 0
    assert warm.cursor.deleted_since == cold.cursor.deleted_since
    later = connect(companies).pull("companies", ["name"], (), warm.cursor)
    assert pulled(later)[1] == ["510"]


def test_an_archived_record_is_seen_on_the_daily_listing(companies: Any, connect: Any) -> None:
    """With the default daily listing, a pull a quarter-hour on costs one search; the next day's lists the archive."""
    box = companies
    connector = connect(box, deletion_check_seconds=86_400)
    cold = connector.pull("companies", ["name"], (), Cursor())
    pulled(cold)
    crm(box).crm.objects.basic_api.archive("companies", "510")
    box.clock.move_to(box.clock() + timedelta(minutes=15))
    box.app.accounting.reset()
    quarter = connector.pull("companies", ["name"], (), cold.cursor)
    assert pulled(quarter)[:2] == ([], [])
    assert box.app.accounting.snapshot()["hubspot"]["by_endpoint"] == {"search": 1}
    box.clock.move_to(box.clock() + timedelta(days=1))
    box.app.accounting.reset()
    daily = connector.pull("companies", ["name"], (), quarter.cursor)
    assert pulled(daily)[:2] == ([], ["510"])
    assert box.app.accounting.snapshot()["hubspot"]["by_endpoint"] == {"search": 1, "list": 1}


def test_changes_pulled_incrementally_ignore_the_cold_filter(companies: Any, connect: Any) -> None:
    """A record that stopped matching is still reported by the next pull (the replica re-applies filters)."""
    connector = connect(companies)
    only_software = ((Predicate("industry", "eq", "Software"),),)
    cold = connector.pull("companies", ["industry"], only_software, Cursor())
    assert all(r["industry"] == "Software" for r in pulled(cold)[0])
    crm(companies).crm.objects.basic_api.update(
        "companies", "503", SimplePublicObjectInput(properties={"industry": "Retail"})
    )
    records, _, _ = pulled(connector.pull("companies", ["industry"], only_software, cold.cursor))
    assert records == [{"Id": "503", "industry": "Retail"}]


def test_a_record_indexed_late_is_still_pulled_once(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """Search lag hides an older change while a newer one shows: the lookback finds it later, once."""
    lag = 0.6
    box = start_box(
        data_dir=write_rows(tmp_path, "companies", map(company, range(1, 6))),
        extra={"search_lag_seconds": lag},
    )
    connector = connect(box)
    cold = connector.pull("companies", ["name"], (), Cursor())
    pulled(cold)
    api = crm(box).crm.objects.basic_api
    began = time.monotonic()
    early = api.update("companies", "502", SimplePublicObjectInput(properties={"name": "B"}))
    late = api.update("companies", "503", SimplePublicObjectInput(properties={"name": "A"}))
    assert early.updated_at < late.updated_at
    time.sleep(0.25)
    # HubSpot indexes at uneven speeds: the earlier change stays hidden longer than the later one.
    box.app.records._remember(box.app.portal.resolve("companies"), [502])
    time.sleep(max(0.0, began + lag + 0.1 - time.monotonic()))
    first = connector.pull("companies", ["name"], (), cold.cursor)
    assert [r["Id"] for r in pulled(first)[0]] == ["503"]
    blind = connect(box, lookback_seconds=0)
    time.sleep(max(0.0, began + 0.25 + lag + 0.1 - time.monotonic()))
    assert pulled(blind.pull("companies", ["name"], (), first.cursor))[0] == []  # no lookback: lost
    second = connector.pull("companies", ["name"], (), first.cursor)
    assert pulled(second)[0] == [{"Id": "502", "name": "B"}]
    assert pulled(connector.pull("companies", ["name"], (), second.cursor))[0] == []


# -- the 10 000-result cap -------------------------------------------------------


def task(i: int, stamp: datetime) -> dict[str, Any]:
    """Task ``i`` (id ``100000 + i``) last modified at ``stamp``."""
    return {
        "id": str(100_000 + i),
        "properties": {
            "hs_task_subject": f"Task {i}",
            "hs_createdate": (TASK_BASE - timedelta(days=1)).isoformat(),
            "hs_lastmodifieddate": now_stamp(stamp),
        },
    }


@pytest.fixture(scope="module")
def many_tasks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHubSpotSandbox]:
    """10 001 tasks modified one second apart, and 10 050 meetings modified at one instant."""
    root = tmp_path_factory.mktemp("many")
    write_rows(
        root, "tasks", (task(i, TASK_BASE + timedelta(seconds=i)) for i in range(1, TASKS + 1))
    )
    write_rows(
        root,
        "meetings",
        (
            {
                "id": str(500_000 + i),
                "properties": {
                    "hs_meeting_title": f"M{i}",
                    "hs_lastmodifieddate": now_stamp(TASK_BASE),
                },
            }
            for i in range(1, 10_051)
        ),
    )
    running = start_sandbox(
        SandboxOptions(as_of=AS_OF, data_dir=root, extra=UNLIMITED), Accounting()
    )
    yield running
    running.stop()


def test_exactly_10001_changes_are_all_pulled_once(many_tasks: Any, connect: Any) -> None:
    """10 001 changed records (one past the search cap) come exactly once each, none dropped."""
    connector = connect(many_tasks)
    pull = connector.pull("tasks", ["hs_task_subject"], (), Cursor(now_stamp(TASK_BASE)))
    records, _, _ = pulled(pull)
    ids = [r["Id"] for r in records]
    assert len(ids) == len(set(ids)) == TASKS
    assert set(ids) == {str(100_000 + i) for i in range(1, TASKS + 1)}
    newest = TASK_BASE + timedelta(seconds=TASKS)
    assert pull.cursor.stamp == now_stamp(newest)
    # months before the pull: nothing can still be hidden from search, so nothing to remember
    assert [e for e in pull.cursor.seen if not e.startswith("@")] == []


def test_exactly_10000_changes_are_all_pulled_once(many_tasks: Any, connect: Any) -> None:
    """With the first task already seen at its stamp, the other 10 000 come exactly once each."""
    first = TASK_BASE + timedelta(seconds=1)
    cursor = Cursor(now_stamp(first), (f"100001@{now_stamp(first)}",))
    connector = connect(many_tasks)
    records, _, _ = pulled(connector.pull("tasks", ["hs_task_subject"], (), cursor))
    ids = [r["Id"] for r in records]
    assert len(ids) == len(set(ids)) == 10_000
    assert "100001" not in ids


def test_more_changes_at_one_stamp_than_the_cap_are_paged_by_id(
    many_tasks: Any, connect: Any
) -> None:
    """10 050 records sharing one modification stamp are all pulled once (that stamp is paged by id)."""
    connector = connect(many_tasks)
    pull = connector.pull(
        "meetings", ["hs_meeting_title"], (), Cursor(now_stamp(TASK_BASE - timedelta(hours=1)))
    )
    records, _, _ = pulled(pull)
    ids = [r["Id"] for r in records]
    assert len(ids) == len(set(ids)) == 10_050
    assert pull.cursor.stamp == now_stamp(TASK_BASE)
    again, _, _ = pulled(connector.pull("meetings", ["hs_meeting_title"], (), pull.cursor))
    assert again == []


# -- session expiry ------------------------------------------------------------------


def test_session_expiry_mid_pull_is_retried_once_and_the_pull_completes(
    companies: Any, connect: Any
) -> None:
    """An EXPIRED_AUTHENTICATION between pages is retried once; every record still comes, once."""
    connector = connect(companies)
    pages = iter(connector.pull("companies", ["name"], (), Cursor()))
    records = list(next(pages).records)
    companies.faults.set_spec(FaultSpec(rates={FaultKind.EXPIRED: 0.5}, seed=27))
    for page in pages:
        records.extend(page.records)
    assert len({r["Id"] for r in records}) == len(records) == COMPANIES
    assert companies.app.accounting.snapshot()["hubspot"]["faults"]["expired"] >= 1
    assert connector.usage().calls == calls_of(companies)


def test_a_token_that_stays_expired_is_fatal_after_one_retry(companies: Any, connect: Any) -> None:
    """A second EXPIRED_AUTHENTICATION in a row is fatal, saying the token is invalid or expired."""
    connector = connect(companies)
    connector.describe("companies")
    companies.faults.set_spec(FaultSpec(rates={FaultKind.EXPIRED: 1.0}))
    before = connector.usage().calls
    with pytest.raises(FatalConnectorError) as caught:
        pulled(connector.pull("companies", ["name"], (), Cursor()))
    assert "token invalid or expired" in str(caught.value)
    assert caught.value.code == "EXPIRED_AUTHENTICATION"
    assert connector.usage().calls - before == 2


def test_records_loaded_from_files_carry_the_system_properties(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """Loaded records get HubSpot's stamps and derived flags; pulls see no null stamp."""
    created = datetime(2026, 6, 1, 9, tzinfo=UTC)
    contacts = [
        {
            "id": str(700 + i),
            "createdAt": (created + timedelta(hours=i)).isoformat(),
            "properties": {"email": f"c{i}@x.example", "lifecyclestage": "lead"},
        }
        for i in range(3)
    ]
    root = write_rows(tmp_path, "contacts", contacts)
    write_rows(root, "deals", [{"id": "900", "properties": {"dealstage": "closedwon"}}])
    box = start_box(data_dir=root)
    client = hubspot.HubSpot(access_token=box.access_token, host=box.url)
    system = ["createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_object_id"]
    contact = client.crm.contacts.basic_api.get_by_id(
        "701", properties=[*system, "hs_lifecyclestage_lead_date"]
    )
    assert all(contact.properties[name] for name in system), contact.properties
    assert contact.properties["hs_object_id"] == "701"
    assert contact.properties["createdate"].startswith("2026-06-01T10:00:00")
    assert contact.properties["lastmodifieddate"] == contact.properties["hs_lastmodifieddate"]
    assert contact.properties["hs_lifecyclestage_lead_date"] == contact.properties["createdate"]
    deal = client.crm.deals.basic_api.get_by_id(
        "900", properties=["hs_is_closed", "hs_is_closed_won", "pipeline", "hs_lastmodifieddate"]
    )
    assert deal.properties["hs_is_closed"] == deal.properties["hs_is_closed_won"] == "true"
    assert deal.properties["pipeline"] == "default"
    assert deal.properties["hs_lastmodifieddate"]
    pull = connect(box).pull("contacts", ["email"], (), Cursor())
    records, _, _ = pulled(pull)
    assert sorted(r["Id"] for r in records) == ["700", "701", "702"]
    assert pull.cursor.stamp == now_stamp(created + timedelta(hours=2))
