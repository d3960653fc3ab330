"""First pulls through Bulk API 2.0 jobs in the connector's pull path, and the daily deletion listing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from okrsync.connector import Cursor, Predicate
from okrsync_sandbox.faults import FaultSpec

from .test_connector_pull import BIG, big_id, big_org, connector_for, drain

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

FIELDS = ["Name", "Amount", "CloseDate", "CreatedDate", "IsWon", "Owner.Email", "Account.Name"]


def _endpoints(box: RunningSalesforceSandbox) -> dict[str, int]:
    return dict(box.org.accounting.snapshot()["salesforce"]["by_endpoint"])


def test_a_first_pull_above_the_threshold_goes_through_one_job(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """2 500 rows over the threshold: one REST page to learn the size, then one job; the REST pull's records and cursor."""
    box = start(big_org(), bulk_job_seconds=0)
    rest = connector_for(box, page_size=200)
    by_rest = drain(rest.pull("Opportunity", FIELDS, (), Cursor()))
    bulk = connector_for(box, page_size=200, bulk_threshold_rows=1000)
    pull = bulk.pull("Opportunity", FIELDS, (), Cursor())
    box.org.accounting.reset()
    records, deleted, pages = drain(pull)
    assert pull.path == "bulk"
    assert deleted == []
    assert sorted(records, key=lambda r: r["Id"]) == sorted(by_rest[0], key=lambda r: r["Id"])
    assert pages == BIG // 200 + 1  # pages of the connector's page size
    calls = _endpoints(box)
    assert calls == {
        "query": 1,  # its totalSize chose the job; its rows were dropped
        "bulk_create": 1,
        "bulk_info": 1,  # done at once on this sandbox's clock
        "bulk_results": 1,
        "bulk_delete": 1,
    }
    assert bulk.usage().calls - rest.usage().calls == sum(calls.values()) - by_rest[2]
    rest_cursor = rest.pull("Opportunity", FIELDS, (), Cursor())
    drain(rest_cursor)
    assert pull.cursor.stamp == rest_cursor.cursor.stamp
    rest.close()
    bulk.close()


def test_below_the_threshold_or_in_one_page_a_first_pull_stays_on_rest(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """Under the threshold, or when the first page holds every row, no job is made."""
    box = start(big_org(), bulk_job_seconds=0)
    for threshold, filters in (
        (BIG + 1, ()),
        (1, ((Predicate("Amount", "lt", 1100),),)),  # 10 rows: one page
    ):
        connector = connector_for(box, bulk_threshold_rows=threshold)
        pull = connector.pull("Opportunity", ["Amount"], filters, Cursor())
        box.org.accounting.reset()
        drain(pull)
        assert pull.path == "rest"
        assert not any(name.startswith("bulk") for name in _endpoints(box))
        connector.close()


def test_a_failed_job_and_a_broken_result_set_lose_and_repeat_nothing(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """A job that fails is run again and a result set cut mid-stream is read again from its locator: every row once."""
    box = start(big_org(), bulk_job_seconds=0)
    box.app.bulk.fail_next(1)
    box.app.bulk.cut_next(1, after_rows=700)
    connector = connector_for(box, page_size=200, bulk_threshold_rows=1)
    pull = connector.pull("Opportunity", ["Amount"], (), Cursor())
    records, _, _ = drain(pull)
    ids = [r["Id"] for r in records]
    assert len(ids) == len(set(ids)) == BIG
    assert pull.path == "bulk"
    assert _endpoints(box)["bulk_create"] == 2
    connector.close()


def test_a_locator_chain_under_dropped_connections_and_5xx_completes(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """Dropped connections and 5xx on the job's calls are retried; every row arrives once."""
    box = start(big_org(), bulk_job_seconds=0)
    connector = connector_for(box, page_size=200, bulk_threshold_rows=1, max_retries=10)
    pull = connector.pull("Opportunity", ["Amount"], (), Cursor())
    box.faults.set_spec(FaultSpec.parse("drop=0.3,5xx=0.2,seed=5"))
    records, _, _ = drain(pull)
    box.faults.set_spec(FaultSpec())
    ids = [r["Id"] for r in records]
    assert len(ids) == len(set(ids)) == BIG
    assert pull.path == "bulk"
    assert box.org.accounting.snapshot()["salesforce"]["faults"]
    connector.close()


def test_archived_activities_come_through_the_job_too(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Any]
) -> None:
    """A first pull of Task through a job counts archived tasks, as the REST pull's queryAll does; deleted ones not."""
    box = start(bulk_job_seconds=0)
    api = connect(box)
    for n in range(5):
        api.Task.create(
            {"Subject": f"Old call {n}", "Status": "Completed", "ActivityDate": "2025-01-10"}
        )
    victim = api.Task.create({"Subject": "Deleted", "Status": "Completed"})["id"]
    api.Task.delete(victim)
    rest = connector_for(box)
    want = {r["Id"] for r in drain(rest.pull("Task", ["Subject"], (), Cursor()))[0]}
    bulk = connector_for(box, page_size=200, bulk_threshold_rows=1)
    pull = bulk.pull("Task", ["Subject"], (), Cursor())
    got = {r["Id"] for r in drain(pull)[0]}
    assert victim not in want
    assert got == want
    assert len(want) == 9
    rest.close()
    bulk.close()


def test_a_hard_delete_is_seen_on_the_daily_listing(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Any]
) -> None:
    """With the default daily listing, pulls during the day cost one query; the next day's pull reports the hard delete."""
    box = start(big_org())
    connector = connector_for(box, deletion_check_seconds=86_400)
    first = connector.pull("Opportunity", ["Name"], (), Cursor())
    drain(first)
    assert box.hard_delete("Opportunity", big_id(3))
    connect(box).Opportunity.delete(big_id(4))  # a soft delete: with the next query
    box.clock.move_to(box.clock() + timedelta(minutes=15))
    box.org.accounting.reset()
    quarter = connector.pull("Opportunity", ["Name"], (), first.cursor)
    _, deleted, _ = drain(quarter)
    assert deleted == [big_id(4)]
    assert _endpoints(box) == {"query_all": 1}
    box.clock.move_to(box.clock() + timedelta(days=1))
    box.org.accounting.reset()
    daily = connector.pull("Opportunity", ["Name"], (), quarter.cursor)
    _, deleted, _ = drain(daily)
    assert deleted == [big_id(3)]
    assert _endpoints(box) == {"deleted": 1, "query_all": 1}
    connector.close()
