"""The CRM exports API in the sandbox, through hubspot-api-client, and first pulls read through it."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import hubspot  # type: ignore[import-untyped]
import pytest
import urllib3
from hubspot.crm.exports import (  # type: ignore[import-untyped]
    Filter,
    PublicCrmSearchRequest,
    PublicExportViewRequest,
)
from hubspot.crm.exports.exceptions import ApiException  # type: ignore[import-untyped]

from okrsync.connector import Cursor, Predicate
from okrsync.state.db import open_store
from okrsync.state.schema_cache import StoreSchemaCache

from .conftest import start
from .test_connector_pull import calls_of, connect_to, pulled

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from okrsync_hubspot_sandbox import RunningHubSpotSandbox

FIELDS = ["amount", "closedate", "dealstage", "hs_is_closed_won"]
SIZE = 20_000
"""Sandbox size: about 2 300 deals, twelve search pages."""
FAST = {"export_seconds": 0, "export_rows_per_second": 1e12}
"""Exports complete at once on the sandbox's clock."""


def request(**overrides: Any) -> PublicExportViewRequest:
    """An export of deals with internal names and values."""
    values: dict[str, Any] = {
        "export_type": "VIEW",
        "format": "CSV",
        "export_name": "deals",
        "object_type": "deals",
        "object_properties": ["amount", "closedate", "hs_is_closed_won"],
        "language": "EN",
        "export_internal_values_options": ["NAMES", "VALUES"],
    }
    values.update(overrides)
    return PublicExportViewRequest(**values)


def rows_of(link: str) -> list[dict[str, str]]:
    """The rows of the CSV files inside the ZIP behind ``link``."""
    pool = urllib3.PoolManager()
    reply = pool.request("GET", link)
    assert reply.status == 200, reply.data[:200]
    archive = zipfile.ZipFile(io.BytesIO(reply.data))
    out: list[dict[str, str]] = []
    for name in archive.namelist():
        out += list(csv.DictReader(io.StringIO(archive.read(name).decode())))
    return out


@pytest.fixture
def exporting(start_box: Callable[..., RunningHubSpotSandbox]) -> RunningHubSpotSandbox:
    """A seeded portal whose exports complete two seconds after they start."""
    return start_box(seed=3, size="small")


@pytest.fixture(scope="module")
def portal() -> Iterator[RunningHubSpotSandbox]:
    """A seeded portal whose exports complete at once, shared by the pull tests."""
    box = start(seed=3, size=SIZE, extra=FAST)
    yield box
    box.stop()


def test_an_export_moves_through_its_states_and_its_file_holds_internal_values(
    exporting: RunningHubSpotSandbox,
) -> None:
    """PENDING, PROCESSING, COMPLETE on the portal's clock; a ZIP of CSV with names, values and epoch milliseconds."""
    api = hubspot.HubSpot(access_token=exporting.access_token, host=exporting.url)
    exports = api.crm.exports.public_exports_api
    first = exports.start(public_export_request=request())
    second = exports.start(public_export_request=request(export_name="again"))
    assert exports.get_status(task_id=int(first.id)).status == "PROCESSING"
    assert exports.get_status(task_id=int(second.id)).status == "PENDING"  # one at a time
    exporting.clock.move_to(exporting.clock() + timedelta(seconds=10))
    done = exports.get_status(task_id=int(first.id))
    assert done.status == "COMPLETE"
    assert done.completed_at is not None
    rows = rows_of(done.result)
    assert list(rows[0]) == ["hs_object_id", "amount", "closedate", "hs_is_closed_won"]
    search = api.crm.deals.search_api.do_search(
        public_object_search_request={"limit": 1, "properties": ["closedate"]}
    )
    assert len(rows) == search.total
    by_id = {r["hs_object_id"]: r for r in rows}
    one = search.results[0]
    millis = int(by_id[one.id]["closedate"])
    assert datetime.fromtimestamp(millis / 1000, UTC) == datetime.fromisoformat(
        one.properties["closedate"]
    )
    assert {r["hs_is_closed_won"] for r in rows} <= {"true", "false"}


def test_a_link_expires_after_five_minutes_and_the_status_signs_a_new_one(
    exporting: RunningHubSpotSandbox,
) -> None:
    """The download needs no token, answers 403 once its five minutes are over; a new status call gives a working link."""
    api = hubspot.HubSpot(access_token=exporting.access_token, host=exporting.url)
    exports = api.crm.exports.public_exports_api
    filtered = request(
        public_crm_search_request=PublicCrmSearchRequest(
            filters=[Filter(property_name="hs_is_closed_won", operator="EQ", value="true")]
        )
    )
    task = exports.start(public_export_request=filtered)
    exporting.clock.move_to(exporting.clock() + timedelta(seconds=10))
    link = exports.get_status(task_id=int(task.id)).result
    exporting.clock.move_to(exporting.clock() + timedelta(minutes=5, seconds=1))
    expired = urllib3.PoolManager().request("GET", link)
    assert expired.status == 403
    assert b"<Code>AccessDenied</Code>" in expired.data
    assert b"Request has expired" in expired.data
    fresh = exports.get_status(task_id=int(task.id)).result
    rows = rows_of(fresh)
    assert rows
    assert {r["hs_is_closed_won"] for r in rows} == {"true"}


def test_thirty_exports_a_day_and_the_export_scope(
    start_box: Callable[..., RunningHubSpotSandbox], body_of: Callable[[Any], dict[str, Any]]
) -> None:
    """The 31st export in 24 hours is refused with 429; without crm.export every call is a 403 MISSING_SCOPES."""
    box = start_box(seed=3, size="small", extra={"export_seconds": 0})
    exports = hubspot.HubSpot(access_token=box.access_token, host=box.url)
    exports = exports.crm.exports.public_exports_api
    for _ in range(30):
        exports.start(public_export_request=request())
    with pytest.raises(ApiException) as refused:
        exports.start(public_export_request=request())
    assert refused.value.status == 429
    box.clock.move_to(box.clock() + timedelta(hours=24, seconds=1))
    exports.start(public_export_request=request())
    scoped = start_box(seed=3, size="small", extra={"missing_scopes": ["crm.export"]})
    api = hubspot.HubSpot(access_token=scoped.access_token, host=scoped.url)
    with pytest.raises(ApiException) as denied:
        api.crm.exports.public_exports_api.start(public_export_request=request())
    assert denied.value.status == 403
    assert body_of(denied.value)["category"] == "MISSING_SCOPES"


# -- first pulls through exports -------------------------------------------------------------------


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [str(r["Id"]) for r in records]


def test_a_big_first_pull_reads_one_export_instead_of_search_pages(
    portal: RunningHubSpotSandbox,
) -> None:
    """Over the threshold: one search page, then start, poll, download; search's records and cursor, each record once."""
    by_search = connect_to(portal)
    searched = by_search.pull("deals", FIELDS, (), Cursor())
    wanted, _, pages = pulled(searched)
    assert len(wanted) > 2_000
    connector = connect_to(portal, export_threshold_rows=2_000)
    pull = connector.pull("deals", FIELDS, (), Cursor())
    portal.app.accounting.reset()
    records, deleted, _ = pulled(pull)
    assert deleted == []
    assert len(_ids(records)) == len(set(_ids(records)))
    assert sorted(records, key=lambda r: int(r["Id"])) == sorted(wanted, key=lambda r: int(r["Id"]))
    stats = portal.app.accounting.snapshot()["hubspot"]["by_endpoint"]
    assert stats == {"search": 1, "export_start": 1, "export_status": 1, "export_download": 1}
    assert pages == 12  # search: 12 calls; the export: 4
    assert pull.cursor.stamp == searched.cursor.stamp


def test_a_filtered_first_pull_through_an_export_matches_search(
    portal: RunningHubSpotSandbox,
) -> None:
    """One any-of group goes into the export's filters; two are checked record by record: both give search's records."""
    box = portal
    by_search = connect_to(box)
    connector = connect_to(box, export_threshold_rows=1_000)
    for filters in (
        ((Predicate("amount", "gt", 20_000),),),
        ((Predicate("amount", "gt", 20_000),), (Predicate("hs_is_closed_won", "eq", value=True),)),
    ):
        want = sorted(_ids(pulled(by_search.pull("deals", FIELDS, filters, Cursor()))[0]))
        box.app.accounting.reset()
        got = _ids(pulled(connector.pull("deals", FIELDS, filters, Cursor()))[0])
        assert sorted(got) == want
        assert len(got) == len(set(got))
        assert calls_of(box, "export_start") == 1


def test_an_expired_link_is_signed_again_and_a_lost_export_falls_back_to_search(
    portal: RunningHubSpotSandbox,
) -> None:
    """A link that expired before the download is asked for again; links that keep expiring, or a canceled export, leave the pull to search, nothing lost."""
    box = portal
    want = sorted(_ids(pulled(connect_to(box).pull("deals", FIELDS, (), Cursor()))[0]))
    connector = connect_to(box, export_threshold_rows=1_000)
    for drill, downloads, searched in (
        (lambda: box.app.exports.expire_next(1), 2, False),
        (lambda: box.app.exports.expire_next(2), 2, True),
        (lambda: box.app.exports.cancel_next(1), 0, True),
    ):
        drill()
        box.app.accounting.reset()
        got = _ids(pulled(connector.pull("deals", FIELDS, (), Cursor()))[0])
        assert sorted(set(got)) == want
        assert calls_of(box, "export_download") == downloads
        assert (calls_of(box, "search") > 1) is searched


def test_exports_keep_to_their_daily_budget_across_processes_and_a_refusal_is_remembered(
    portal: RunningHubSpotSandbox,
    start_box: Callable[..., RunningHubSpotSandbox],
    tmp_path: Path,
) -> None:
    """With one export a day, a second connector on the same store reads search; a missing scope is tried once a day."""
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    portal.app.accounting.reset()
    for _ in range(2):
        cache = StoreSchemaCache(db, "w", "hubspot")  # as the app gives it
        connector = connect_to(portal, cache, export_threshold_rows=1_000, exports_per_day=1)
        pulled(connector.pull("deals", FIELDS, (), Cursor()))
    assert calls_of(portal, "export_start") == 1
    scoped = start_box(seed=3, size="small", extra={"missing_scopes": ["crm.export"]})
    for n in range(2):
        cache = StoreSchemaCache(db, "scoped", "hubspot")
        connector = connect_to(scoped, cache, export_threshold_rows=100)
        got = _ids(pulled(connector.pull("deals", FIELDS, (), Cursor()))[0])
        assert len(got) == len(set(got)) > 200
        assert calls_of(scoped, "export_start") == 1, n
